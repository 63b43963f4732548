"""Real parts for the tests: an embedded Redis, an aiosmtpd SMTP server, the real aiohttp app and
an in-process arq worker, all on loopback, on free ports, in temp dirs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

import aiohttp
import pytest
import redis as redis_sync
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from redis.asyncio import Redis

from notifier.casesystem import CaseSystem
from notifier.casework.names import Bilingual, Party
from notifier.config import Settings
from notifier.redis_conn import redis_client
from notifier.redis_server import EmbeddedRedis, free_port
from notifier.runtime import Runtime
from notifier.sealing import generate_key
from notifier.web.app import create_app
from notifier.worker import make_worker, stop_gracefully

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
API_TOKEN = "test-api-token"


async def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


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


@dataclass
class SmtpSink:
    """An aiosmtpd handler that records messages and can be told to refuse them."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    refuse_with: str | None = None  # e.g. "451 4.3.0 try later" or "550 5.1.1 no such user"
    refuse_times: int = 0
    sessions: set[int] = field(default_factory=set)
    arrived_at: list[float] = field(default_factory=list)  # time.monotonic() of each accepted message

    async def handle_DATA(self, server: SMTPServer, session: Any, envelope: Any) -> str:
        self.sessions.add(id(session))
        if self.refuse_with and self.refuse_times != 0:
            self.refuse_times -= 1
            return self.refuse_with
        self.envelopes.append(envelope)
        self.arrived_at.append(time.monotonic())
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    port = free_port()  # aiosmtpd's Controller cannot take port 0
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


#: The configured authority of the test service: an employment area, by name in both languages.
OFFICE = Party(Bilingual("Turun seudun työllisyysalue", "Åbonejdens sysselsättningsområde"), "02 262 3000")


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


@dataclass
class Service:
    settings: Settings
    url: str
    http: aiohttp.ClientSession
    case: CaseSystem
    runtime: Runtime

    @property
    def outbox(self) -> Path:
        return self.settings.outbox_dir

    async def api(self, method: str, path: str, token: str | None = API_TOKEN, headers_extra: dict[str, str] | None = None, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(headers_extra or {})
        async with self.http.request(method, self.url + path, headers=headers, **kw) as resp:
            return resp.status, await resp.json(content_type=None)

    async def final(self, message_id: str, statuses: tuple[str, ...] = ("sent", "delivered", "permanent-failure", "technical-failure", "cancelled"), timeout: float = 10) -> Any:
        async def check() -> Any:
            m = await self.runtime.store.get(message_id)
            return m if m and m.status in statuses else None

        return await wait_for(check, timeout)


ServiceFactory = Callable[..., Awaitable[Service]]


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


def referral(client_id: str = "C-1001", language: str = "fi", **client: Any) -> dict[str, Any]:
    names = {"fi": ("Matti", "Meikäläinen"), "sv": ("Sven", "Ström")}[language]
    c = {"id": client_id, "first_name": names[0], "last_name": names[1], "language": language,
         "email": f"{client_id.lower()}@example.fi", "phone": "040 1234567"}
    c.update(client)
    return {
        "client": {k: v for k, v in c.items() if v is not None},
        "referred_at": "2026-11-30T09:00:00+02:00",
        "office": {"name": {"fi": "Turun seudun työllisyysalue", "sv": "Åbonejdens sysselsättningsområde"},
                   "phone": "02 262 3000"},
        "provider": {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": "info@example.fi"},
    }


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
