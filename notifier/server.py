"""Running the service: the web server, the worker, or both in one process, until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from .config import Settings
from .web.app import create_app
from .worker import make_worker, stop_gracefully

log = logging.getLogger("notifier.server")


async def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    with_web: bool = True,
    with_worker: bool = True,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or `stop` is set): then stop taking requests, let running
    jobs finish, and return."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    runner: web.AppRunner | None = None
    worker = None
    worker_task: asyncio.Task[None] | None = None
    try:
        if with_web:
            runner = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=10)
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            log.info("web listening on http://%s:%d", host, port)
        if with_worker:
            worker = make_worker(settings, handle_signals=False)
            worker_task = asyncio.create_task(worker.async_run())
        if started is not None:
            started.set()
        waiter = asyncio.create_task(stop.wait())
        watch = [waiter] + ([worker_task] if worker_task else [])
        done, _ = await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
        if worker_task in done and worker_task is not None:
            worker_task.result()  # a worker that died on its own is an error worth raising
        waiter.cancel()
    finally:
        log.info("stopping")
        if runner is not None:
            await runner.cleanup()
        if worker is not None:
            await stop_gracefully(worker, timeout=settings.send_timeout_seconds)
        if worker_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
