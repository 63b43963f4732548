"""The arq worker: job functions are thin wrappers that hand over to `delivery.py`.

`make_worker` builds an arq `Worker` for a settings object; `notifier worker` runs one and
`notifier run` runs one beside the web server in the same process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq import Worker
from arq.connections import RedisSettings

from .compose import Composer
from .config import Settings
from .delivery import Deliverer
from .queue import QUEUE_NAME
from .runtime import Runtime, build_channels

log = logging.getLogger("notifier.worker")


async def deliver(ctx: dict[str, Any], message_id: str) -> str:
    return await ctx["deliverer"].deliver(message_id)


def make_worker(settings: Settings, *, handle_signals: bool = True, burst: bool = False) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        runtime = Runtime.create(settings, redis=ctx["redis"])
        channels = build_channels(settings)
        for channel in channels.values():
            await channel.start()
        ctx["runtime"] = runtime
        ctx["channels"] = channels
        ctx["deliverer"] = Deliverer(settings, runtime.redis, runtime.store, Composer(settings, runtime.renderer), channels)
        log.info("worker started (email=%s)", settings.email_backend)

    async def shutdown(ctx: dict[str, Any]) -> None:
        for channel in ctx.get("channels", {}).values():
            await channel.close()

    assert settings.redis_url
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    redis_settings.conn_retries = 30
    redis_settings.conn_retry_delay = 1
    return Worker(
        functions=[deliver],
        queue_name=QUEUE_NAME,
        redis_settings=redis_settings,
        on_startup=startup,
        on_shutdown=shutdown,
        handle_signals=handle_signals,
        burst=burst,
        max_jobs=settings.worker_max_jobs,
        poll_delay=settings.worker_poll_delay,
        job_timeout=settings.send_timeout_seconds + 10,
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
