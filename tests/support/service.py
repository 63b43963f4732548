"""Helpers shared by the tests: waiting for a condition, the SMTP sink, the running service, sample events.

The fixtures that start these real parts are in `fixtures.py` (loaded by tests/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp
from aiosmtpd.smtp import SMTP as SMTPServer

from notifier.casework.case_system import CaseSystem
from notifier.casework.names import Bilingual, Party
from notifier.app.config import Settings
from notifier.app.runtime import Runtime

#: The configured authority of the test service: an employment area, by name in both languages.
OFFICE = Party(Bilingual("Turun seudun työllisyysalue", "Åbonejdens sysselsättningsområde"), "02 262 3000")
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


@dataclass
class SmtpSink:
    """An aiosmtpd handler that records messages and can be told to refuse them."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    refuse_with: str | None = None  # e.g. "451 4.3.0 try later" or "550 5.1.1 no such user"
    refuse_times: int = 0
    sessions: set[int] = field(default_factory=set)
    arrived_at: list[float] = field(default_factory=list)  # time.monotonic() of each accepted message
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> reply to its RCPT
    # Concurrent transactions: how many are in DATA now, the most at once, and (if set) how many
    # must be in DATA before any is answered (waited for up to 5 s, then answered anyway).
    in_data: int = 0
    most_in_data: int = 0
    hold_data_until: int = 0

    async def handle_MAIL(self, server: SMTPServer, session: Any, envelope: Any, address: str, mail_options: list[str]) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)  # with SIZE=, which aiosmtpd keeps only here
        return "250 OK"

    async def handle_RCPT(self, server: SMTPServer, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Any, envelope: Any) -> str:
        self.in_data += 1
        self.most_in_data = max(self.most_in_data, self.in_data)
        try:
            if self.hold_data_until:
                with contextlib.suppress(AssertionError):  # answered anyway: the test's assertion says what was wrong
                    await wait_for(lambda: self.in_data >= self.hold_data_until, timeout=5, interval=0.002)
            return self._data(session, envelope)
        finally:
            self.in_data -= 1

    def _data(self, session: Any, envelope: Any) -> str:
        self.sessions.add(id(session))
        if self.refuse_with and self.refuse_times != 0:
            self.refuse_times -= 1
            return self.refuse_with
        self.envelopes.append(envelope)
        self.arrived_at.append(time.monotonic())
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


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


