"""The arq worker: job functions are thin wrappers that hand over to `delivery.py`.

`make_worker` builds an arq `Worker` for a settings object; `notifier worker` runs one and
`notifier run` runs one beside the web server in the same process.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

from arq import Retry, Worker, cron
from redis.exceptions import RedisError

from notifier.messages.callbacks import CallbackDispatcher
from notifier.messages.claiming import BatchClaimWorker
from notifier.app.config import Settings
from notifier.messages.delivery import Deliverer
from notifier.staff.digest import digest_cron_jobs, digest_functions
from notifier.kickoff.unreachable import unreachable_cron_jobs
from notifier.coaching.weekly import weekly_cron_jobs, weekly_functions
from notifier.messages.letters import poll_suomifi_events
from notifier.messages.model import EMAIL, SMS
from notifier.messages.queue import QUEUE_NAME, job_deserializer, job_serializer
from notifier.app.connection import arq_pool, arq_redis_settings
from notifier.messages.rate_limit import RateLimiter
from notifier.messages.housekeeping import erase_expired, prune_outbox, sweep
from notifier.app.runtime import Runtime, build_channels
from notifier.console.auth import send_sign_in_link as console_sign_in_link
from notifier.app import key_canary

log = logging.getLogger("notifier.worker")

#: Longest a send waits in-process for its channel's rate slot before it is deferred instead.
MAX_RATE_WAIT = 5.0
#: How soon a send interrupted by a Redis restart is tried again.
REDIS_RETRY_SECONDS = 1


async def deliver(ctx: dict[str, Any], message_id: str) -> str:
    try:
        return await ctx["deliverer"].deliver(message_id)
    except RedisError as exc:
        # Redis restarting (connection closed, still loading its AOF): run the job again shortly
        # rather than let arq record it as failed and leave the message to the sweeper.
        log.warning("message %s: Redis unavailable (%s); job retried", message_id, type(exc).__name__)
        raise Retry(defer=REDIS_RETRY_SECONDS) from None


async def send_sign_in_link(ctx: dict[str, Any], sealed: str) -> str | None:
    """A console sign-in request (`console.auth.request_sign_in`): the link goes out if it is a coordinator's."""
    return await console_sign_in_link(ctx["runtime"], sealed)


async def sweep_stuck(ctx: dict[str, Any]) -> int:
    return await sweep(ctx["runtime"].redis)


async def erase_expired_personal_data(ctx: dict[str, Any]) -> int:
    runtime = ctx["runtime"]
    erased = await erase_expired(runtime.store, runtime.settings.retention_days)
    # The outbox files of this machine go after the same period (in a thread: it walks folders).
    await asyncio.to_thread(prune_outbox, runtime.settings.outbox_dir, runtime.settings.retention_days)
    return erased


async def poll_suomifi(ctx: dict[str, Any]) -> int:
    """Scheduled: read Suomi.fi Messages' status events and move letters on (`letters.py`)."""
    channel = ctx["channels"].get("suomifi")
    if channel is None:
        return 0
    rt = ctx["runtime"]
    result = await poll_suomifi_events(channel.client, rt.store, rt.redis, service_id=rt.settings.suomifi_service_id)
    return result.moved


def make_worker(settings: Settings, *, handle_signals: bool = True, burst: bool = False) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        runtime = Runtime.create(settings, redis=ctx["redis"])
        # A worker whose key cannot open the stored data would fail every send: refuse to start.
        await key_canary.ensure(runtime.redis, runtime.store.sealer)
        channels = build_channels(settings)
        for channel in channels.values():
            await channel.start()
        ctx["runtime"] = runtime
        ctx["channels"] = channels
        limiter = RateLimiter(runtime.redis, {EMAIL: settings.email_rate, SMS: settings.sms_rate}, max_wait=MAX_RATE_WAIT)
        ctx["deliverer"] = Deliverer(
            settings, runtime.redis, runtime.store, runtime.composer, channels, limiter
        )
        if settings.status_callback_url:  # posts status callbacks to the case system (callbacks.py)
            ctx["callbacks"] = CallbackDispatcher(settings, runtime.redis)
            await ctx["callbacks"].start()
        # Everything loaded so far (modules, templates, fonts) lives as long as the process: move
        # it out of the collector's sight, so that full collections stay short (bench/README.md).
        gc.freeze()
        log.info("worker started (email=%s)", settings.email_backend)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "callbacks" in ctx:
            await ctx["callbacks"].stop()
        for channel in ctx.get("channels", {}).values():
            await channel.close()

    redis_settings = arq_redis_settings(settings)
    return BatchClaimWorker(
        functions=[deliver, send_sign_in_link, *digest_functions(), *weekly_functions()],
        cron_jobs=[
            # arq's cron is not unique across workers; both jobs are safe to run twice.
            # Their timeouts stay below the send job's: arq takes the longest timeout of all
            # functions as the time after which a dead worker's jobs are re-run.
            cron(sweep_stuck, second={0}, run_at_startup=True, unique=True, timeout=10),
            cron(erase_expired_personal_data, minute={15}, second={0}, unique=True, timeout=10),
            *([cron(poll_suomifi, second={30}, unique=True, timeout=25)]
              if settings.letter_backend == "suomifi" and settings.suomifi_poll_events else []),
            *digest_cron_jobs(settings),  # the weekly digest; exactly once per person by its own claims
            *unreachable_cron_jobs(settings),  # the authority's daily e-mail of unreachable clients
            *weekly_cron_jobs(settings),  # coaches' "your clients" e-mail; exactly once per coach and week
        ],
        queue_name=QUEUE_NAME,
        redis_settings=redis_settings,
        redis_pool=arq_pool(settings),  # Sentinel with passwords/TLS: a pool of ours (redis_conn.py)
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=handle_signals,
        burst=burst,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay,
        # A send may wait up to MAX_RATE_WAIT for its rate slot, then take send_timeout.
        job_timeout=settings.send_timeout_seconds + MAX_RATE_WAIT + 5,
        keep_result=0,
        max_tries=1000,  # our own retry policy decides; arq only re-runs jobs of dead workers
        timezone=settings.timezone,  # type: ignore[arg-type]
        log_results=False,
        job_serializer=job_serializer,  # JSON: a pickle planted in Redis is refused, never run
        job_deserializer=job_deserializer,
    )


async def stop_gracefully(worker: Worker, timeout: float) -> None:
    """Stop picking jobs, let running ones finish (up to `timeout`), then close."""
    worker.allow_pick_jobs = False
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        await asyncio.wait(running, timeout=timeout)
    await worker.close()
