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
from notifier.coaching.weekly import weekly_cron_jobs, weekly_functions
from notifier.messages.letters import poll_suomifi_events
from notifier.messages.model import EMAIL, SMS
from notifier.messages.queue import QUEUE_NAME
from notifier.app.connection import arq_redis_settings
from notifier.messages.rate_limit import RateLimiter
from notifier.messages.housekeeping import erase_expired, sweep
from notifier.app.runtime import Runtime, build_channels

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


async def sweep_stuck(ctx: dict[str, Any]) -> int:
    return await sweep(ctx["runtime"].redis)


async def erase_expired_personal_data(ctx: dict[str, Any]) -> int:
    runtime = ctx["runtime"]
    return await erase_expired(runtime.store, runtime.settings.retention_days)


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
        functions=[deliver, *digest_functions(), *weekly_functions()],
        cron_jobs=[
            # arq's cron is not unique across workers; both jobs are safe to run twice.
            # Their timeouts stay below the send job's: arq takes the longest timeout of all
            # functions as the time after which a dead worker's jobs are re-run.
            cron(sweep_stuck, second={0}, run_at_startup=True, unique=True, timeout=10),
            cron(erase_expired_personal_data, minute={15}, second={0}, unique=True, timeout=10),
            *([cron(poll_suomifi, second={30}, unique=True, timeout=25)]
              if settings.letter_backend == "suomifi" and settings.suomifi_poll_events else []),
            *digest_cron_jobs(settings),  # the weekly digest; exactly once per person by its own claims
            *weekly_cron_jobs(settings),  # coaches' "your clients" e-mail; exactly once per coach and week
        ],
        queue_name=QUEUE_NAME,
        redis_settings=redis_settings,
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
    )


async def stop_gracefully(worker: Worker, timeout: float) -> None:
    """Stop picking jobs, let running ones finish (up to `timeout`), then close."""
    worker.allow_pick_jobs = False
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        await asyncio.wait(running, timeout=timeout)
    await worker.close()
