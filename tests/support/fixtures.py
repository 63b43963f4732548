"""Real parts for the tests: an embedded Redis, an aiosmtpd SMTP server, the real aiohttp app and
an in-process arq worker, all on loopback, on free ports, in temp dirs (a pytest plugin)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import aiohttp
import pytest
import redis as redis_sync
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from notifier.app.config import Settings
from notifier.app.connection import redis_client
from notifier.app.embedded_redis import EmbeddedRedis, free_port
from notifier.app.runtime import Runtime
from notifier.app.worker import make_worker, stop_gracefully
from notifier.casework.case_system import CaseSystem
from notifier.sealing import generate_key
from notifier.web.application import create_app
from tests.support.service import API_TOKEN, OFFICE, SECRET, Service, ServiceFactory, SmtpSink


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    client = redis_sync.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    port = free_port()  # aiosmtpd's Controller cannot take port 0
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        webhook_secret=SECRET,
        api_token=API_TOKEN,
        data_keys=(generate_key(),),
        public_url="http://notifier.test",
        retry_base_seconds=0.05,
        retry_max_seconds=0.2,
        retry_window_seconds=30,
        worker_poll_delay=0.01,
        office=OFFICE,
    )


@pytest.fixture
async def start_service(settings: Settings) -> AsyncIterator[ServiceFactory]:
    """Start the real app on a loopback port and an arq worker in this event loop."""
    stack = contextlib.AsyncExitStack()

    async def start(worker: bool = True, **changes: Any) -> Service:
        s = settings.with_(**changes)
        redis = redis_client(s)
        runtime = Runtime.create(s, redis=redis)
        server = TestServer(create_app(s, runtime), host="127.0.0.1", port=free_port())
        await server.start_server()
        stack.push_async_callback(redis.aclose)
        stack.push_async_callback(server.close)
        if worker:
            w = make_worker(s, handle_signals=False)
            task = asyncio.create_task(w.async_run())

            async def stop_worker() -> None:
                await stop_gracefully(w, timeout=5)
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            stack.push_async_callback(stop_worker)
        http = aiohttp.ClientSession()
        stack.push_async_callback(http.close)
        url = str(server.make_url("")).rstrip("/")
        return Service(s, url, http, CaseSystem(url, s.webhook_secret or "", http), runtime)

    yield start
    await stack.aclose()


@pytest.fixture
async def start_service_once(start_service: ServiceFactory) -> AsyncIterator[ServiceFactory]:
    """For property-based tests: one service (no worker) shared by every generated example."""
    holder: dict[str, Service] = {}

    async def get() -> Service:
        if "svc" not in holder:
            holder["svc"] = await start_service(worker=False, signing_secrets=("fuzz-signing-secret",),
                                                staff_email_domains=("tyollisyysalue.example",))
        return holder["svc"]

    yield get
