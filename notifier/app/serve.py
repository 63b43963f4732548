"""Running the service: the web server, the worker, or both in one process, until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web
from redis.exceptions import RedisError

from notifier.app import heap
from notifier.app.config import Settings
from notifier.web.application import create_app
from notifier.app.worker import make_worker, stop_gracefully
from notifier.web.route_log import RouteAccessLogger

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
    from notifier.staff.list_headers import unsubscribe_url_problem

    if problem := unsubscribe_url_problem(settings):
        log.warning("%s", problem, extra={"event": "config.unsubscribe-not-https"})
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    runner: web.AppRunner | None = None
    worker_task: asyncio.Task[None] | None = None
    try:
        if with_web:
            runner = web.AppRunner(create_app(settings), access_log=logging.getLogger("notifier.access"),
                                   access_log_class=RouteAccessLogger, shutdown_timeout=10)
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            heap.settle()  # the application is loaded: freeze it, collect less often (heap.py)
            log.info("web listening on http://%s:%d", host, port)
        if with_worker:
            worker_task = asyncio.create_task(supervise_worker(settings, stop))
        if started is not None:
            started.set()
        waiter = asyncio.create_task(stop.wait())
        watch = [waiter] + ([worker_task] if worker_task else [])
        done, _ = await asyncio.wait(watch, return_when=asyncio.FIRST_COMPLETED)
        if worker_task in done and worker_task is not None:
            worker_task.result()  # a worker that died of something other than Redis: raise it
        waiter.cancel()
    finally:
        log.info("stopping")
        stop.set()
        if runner is not None:
            await runner.cleanup()
        if worker_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker_task
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def supervise_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run an arq worker until `stop`; when it dies because Redis went away, start a new one.

    arq's worker ends on a lost Redis connection. Redis restarts (failover, maintenance) must
    not need an operator, so the worker is recreated with backoff until Redis answers again.
    """
    delay = 0.5
    while not stop.is_set():
        worker = make_worker(settings, handle_signals=False)
        started_at = loop_time()
        task = asyncio.create_task(worker.async_run())
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            await stop_gracefully(worker, timeout=settings.send_timeout_seconds)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
        stopper.cancel()
        exc = task.exception()
        if exc is None:
            return
        if not isinstance(exc, (RedisError, OSError)):
            raise exc
        # arq's close() gathers the jobs it just cancelled, which raises CancelledError.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await worker.close()
        if loop_time() - started_at > 30:
            delay = 0.5
        log.warning("worker lost Redis (%s); starting again in %.1fs", type(exc).__name__, delay)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 10.0)


def loop_time() -> float:
    return asyncio.get_running_loop().time()
