"""The worker: sends and digests from the work stream, scheduled work with arq's cron.

`make_worker` builds an arq `Worker` for a settings object; `notifier worker` runs one and
`notifier run` runs one beside the web server in the same process. arq is used through its
public API only (`Worker`, `cron`), for the cron jobs. Sends and digests are read from the work
stream by a `WorkConsumer` (`notifier/messages/consumer.py`, why: `notifier/messages/queue.py`)
that the worker starts with itself and stops with itself; a job is never pickled (arq's own
cron jobs are serialised as JSON).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import contextlib
from typing import Awaitable, Callable

from arq import Worker, cron
from redis.exceptions import RedisError

from notifier.messages.callbacks import CallbackDispatcher
from notifier.messages.consumer import Handler, WorkConsumer
from notifier.app.config import Settings
from notifier.messages.delivery import Deliverer
from notifier.staff.digest import digest_cron_jobs, digest_many
from notifier.staff.links import Links
from notifier.kickoff.unreachable import unreachable_cron_jobs
from notifier.coaching.weekly import weekly_cron_jobs, weekly_for
from notifier.messages.letters import poll_suomifi_events
from notifier.messages.model import EMAIL, SMS
from notifier.messages.queue import job_deserializer, job_serializer
from notifier.app.connection import arq_pool, arq_redis_settings
from notifier.messages.rate_limit import RateLimiter
from notifier.messages.housekeeping import erase_expired, prune_outbox, sweep
from notifier.app.runtime import Runtime, build_channels
from notifier.console.auth import send_sign_in_link
from notifier.app import heap, key_canary

log = logging.getLogger("notifier.worker")

#: Longest a send waits in-process for its channel's rate slot before it is deferred instead.
MAX_RATE_WAIT = 5.0
#: arq's own queue holds only cron jobs, so its worker need not poll it often.
CRON_POLL_SECONDS = 0.5


def work_handlers(ctx: dict[str, Any]) -> dict[str, Handler]:
    """The functions the work stream carries, each run on a batch of items.

    Per item: True (done), False (someone else holds the message: leave it pending, it comes
    back after the lease) or None (Redis failed under it: tried again as soon as Redis answers).
    """

    async def deliver(items: list[list[Any]]) -> list[bool | None]:
        ids = [str(item[0]) for item in items]
        try:
            results = await ctx["deliverer"].deliver_many(ids)
        except (RedisError, OSError) as exc:
            # Redis restarting (connection closed, still loading its AOF): the entries stay
            # pending and are read again as soon as Redis answers.
            log.warning("%d send(s): Redis unavailable (%s); tried again", len(ids), type(exc).__name__)
            return [None] * len(ids)
        out: list[bool | None] = []
        for message_id, result in zip(ids, results):
            if isinstance(result, BaseException):
                if not isinstance(result, (RedisError, OSError)):
                    log.error("message %s: send failed unexpectedly (%s)", message_id, type(result).__name__)
                out.append(None)
            else:
                out.append(result != "skipped:sending")
        return out

    async def digest(items: list[list[Any]]) -> list[bool | None]:
        rt: Runtime = ctx["runtime"]
        links = Links.from_settings(rt.settings)
        try:
            results = await digest_many(rt, links, [(str(run), str(staff)) for run, staff in items])
        except (RedisError, OSError):
            return [None] * len(items)
        out: list[bool | None] = []
        for result in results:
            if isinstance(result, (RedisError, OSError)):
                out.append(None)  # its claim decides: tried again, created at most once
            elif isinstance(result, BaseException):
                log.error("digest job failed (%s)", type(result).__name__)
                out.append(True)  # counted as failed by `digest_for`; a rerun of the week picks it up
            else:
                out.append(True)
        return out

    def one_by_one(run: Callable[..., Awaitable[Any]], what: str) -> Handler:
        """A handler for work that is done item by item (each item is the function's arguments)."""

        async def handle(items: list[list[Any]]) -> list[bool | None]:
            out: list[bool | None] = []
            for args in items:
                try:
                    await run(ctx["runtime"], *args)
                    out.append(True)
                except (RedisError, OSError):
                    out.append(None)  # tried again as soon as Redis answers
                except Exception as exc:  # noqa: BLE001 - logged, never retried forever
                    log.error("%s failed (%s)", what, type(exc).__name__)
                    out.append(True)
            return out

        return handle

    return {
        "deliver": deliver,
        "digest_for": digest,
        # A console sign-in request (`console.auth.request_sign_in`): the link goes out if it is a
        # coordinator's; the web side did the same work for any address.
        "send_sign_in_link": one_by_one(send_sign_in_link, "console sign-in link"),
        # One coach's weekly "your clients" e-mail; exactly once per coach and week by its own claim.
        "coaching_weekly_for": one_by_one(weekly_for, "coaching weekly e-mail"),
    }


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
        # The service's own client (hiredis packing, keepalive, health checks: `redis_client`);
        # arq's pool (`ctx["redis"]`) serves arq's cron machinery only.
        runtime = ctx["runtime"] = Runtime.create(settings)
        # A worker whose key cannot open the stored data would fail every send: refuse to start.
        await key_canary.ensure(runtime.redis, runtime.store.sealer)
        channels = build_channels(settings)
        for channel in channels.values():
            await channel.start()
        ctx["channels"] = channels
        limiter = RateLimiter(runtime.redis, {EMAIL: settings.email_rate, SMS: settings.sms_rate}, max_wait=MAX_RATE_WAIT)
        ctx["deliverer"] = Deliverer(
            settings, runtime.redis, runtime.store, runtime.composer, channels, limiter
        )
        if settings.status_callback_url:  # posts status callbacks to the case system (callbacks.py)
            ctx["callbacks"] = CallbackDispatcher(settings, runtime.redis)
            await ctx["callbacks"].start()
        consumer = WorkConsumer(
            runtime.redis, work_handlers(ctx), max_jobs=settings.worker_max_jobs,
            block_seconds=settings.worker_poll_delay, burst=burst,
            # Taken over 1 s after the lease could have run out: the claim comes just after the read.
            reclaim_after_seconds=settings.lease_seconds + 1,
        )
        ctx["consumer"] = consumer
        # The letter renderer (fpdf2, Pillow, fontTools: ≈ 30 MB) is imported only where letters
        # are made (`channels/letter/__init__.py`); a worker makes them, so it loads it now,
        # before the freeze below, rather than with its first letter.
        import channels.letter.pdf  # noqa: F401
        # Everything loaded so far (modules, templates, fonts) lives as long as the process: out
        # of the collector's sight, and collections less often (`notifier/app/heap.py`).
        heap.settle()
        log.info("worker started (email=%s)", settings.email_backend)
        if burst:
            await consumer.run()  # everything due now, then arq's burst run of its cron queue
        else:
            ctx["consumer_task"] = asyncio.create_task(consumer.run())

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "consumer" in ctx:
            await ctx["consumer"].stop(timeout=settings.send_timeout_seconds)
        task = ctx.pop("consumer_task", None)
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await task
        if "callbacks" in ctx:
            await ctx["callbacks"].stop()
        for channel in ctx.get("channels", {}).values():
            await channel.close()
        if "runtime" in ctx:
            await ctx.pop("runtime").redis.aclose()

    redis_settings = arq_redis_settings(settings)
    return Worker(
        functions=[],
        cron_jobs=[
            # arq's cron is not unique across workers; every job here is safe to run twice.
            cron(sweep_stuck, second={0}, run_at_startup=True, unique=True, timeout=10),
            cron(erase_expired_personal_data, minute={15}, second={0}, unique=True, timeout=10),
            *([cron(poll_suomifi, second={30}, unique=True, timeout=25)]
              if settings.letter_backend == "suomifi" and settings.suomifi_poll_events else []),
            *digest_cron_jobs(settings),  # the weekly digest; exactly once per person by its own claims
            *unreachable_cron_jobs(settings),  # the authority's daily e-mail of unreachable clients
            *weekly_cron_jobs(settings),  # coaches' "your clients" e-mail; exactly once per coach and week
        ],
        redis_settings=redis_settings,
        redis_pool=arq_pool(settings),  # Sentinel with passwords/TLS: a pool of ours (connection.py)
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=handle_signals,
        burst=burst,
        poll_delay=max(settings.worker_poll_delay, CRON_POLL_SECONDS),
        keep_result=0,
        timezone=settings.timezone,  # type: ignore[arg-type]
        log_results=False,
        job_serializer=job_serializer,  # JSON: a pickle planted in arq's queue is refused, never run
        job_deserializer=job_deserializer,
    )


async def stop_gracefully(worker: Worker, timeout: float) -> None:
    """Stop reading work and picking jobs, let running ones finish (up to `timeout`), then close."""
    worker.allow_pick_jobs = False
    consumer = worker.ctx.get("consumer")
    if consumer is not None:
        await consumer.stop(timeout)
    running = [t for t in worker.tasks.values() if not t.done()]
    if running:
        await asyncio.wait(running, timeout=timeout)
    await worker.close()
