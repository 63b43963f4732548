"""The physical ceiling: the same rendered messages pushed straight to the same sink.

No web, queue or worker in between: the messages the service created in a scenario are read
back from Redis, rendered and composed exactly as a worker would (`Composer`), serialised
*before* the clock starts, and then pushed from this one process over one reused connection and
over K connections. What is left is the transport and the sink: the most the service could
reach on this machine with that sink.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Iterable

import aiohttp
import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from redis.asyncio import Redis

from channels.sms import GatewayApiSms, OutgoingSms
from notifier.app.config import Settings
from notifier.app.runtime import Runtime
from notifier.messages.store import MessageStore


@dataclass(frozen=True)
class Push:
    """One push of all messages: when each arrived, relative to the push's start."""

    connections: int
    seconds: float
    count: int
    arrivals: list[float]  # seconds from the start, in completion order

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        from bench.stats import percentiles

        return {"connections": self.connections, "seconds": round(self.seconds, 3), "messages": self.count,
                "per_second": round(self.rate, 1), **{f"arrival_{k}_s": v for k, v in percentiles(self.arrivals).items()}}


@dataclass(frozen=True)
class RawEmail:
    sender: str
    recipients: list[str]
    data: bytes


async def render_stored(settings: Settings, ids: Iterable[str], batch: int = 500) -> list[Any]:
    """Read the messages back from Redis and compose each as the worker does (not timed)."""
    redis = Redis.from_url(settings.redis_url or "")
    try:
        runtime = Runtime.create(settings, redis=redis)
        store: MessageStore = runtime.store
        composer = runtime.composer
        ids = list(ids)
        out: list[Any] = []
        for start in range(0, len(ids), batch):
            for message in await store.get_many(ids[start:start + batch]):
                out.append((message, composer.compose(message)))
        return out
    finally:
        await redis.aclose()


def raw_emails(composed: list[Any]) -> list[RawEmail]:
    """Serialised the way aiosmtplib's `send_message` does it (8BITMIME: the sink offers it)."""
    out = []
    for _message, email in composed:
        out.append(RawEmail(extract_sender(email) or "", extract_recipients(email),
                            flatten_message(email, utf8=False, cte_type="8bit")))
    return out


async def push_smtp(host: str, port: int, mails: list[RawEmail], connections: int) -> Push:
    """Send `mails` over `connections` connections, each reused for its share, in parallel."""
    clients = []
    for _ in range(connections):
        smtp = aiosmtplib.SMTP(hostname=host, port=port, timeout=60)
        await smtp.connect()
        await smtp.ehlo()
        clients.append(smtp)
    arrivals: list[float] = []
    shares = [mails[i::connections] for i in range(connections)]
    start = time.perf_counter()

    async def run(smtp: aiosmtplib.SMTP, share: list[RawEmail]) -> None:
        for m in share:
            await smtp.sendmail(m.sender, m.recipients, m.data, mail_options=["BODY=8BITMIME"])
            arrivals.append(time.perf_counter() - start)

    await asyncio.gather(*(run(c, s) for c, s in zip(clients, shares)))
    seconds = time.perf_counter() - start
    for smtp in clients:
        await smtp.quit()
    return Push(connections, seconds, len(mails), arrivals)


def sms_bodies(settings: Settings, composed: list[Any]) -> list[bytes]:
    """The JSON bodies our GatewayAPI backend posts for these messages."""
    backend = GatewayApiSms(settings.sms_url, settings.sms_token or "", callback_url=None)
    from notifier.app.runtime import sms_callback_url

    backend.callback_url = sms_callback_url(settings)
    out = []
    for message, sms in composed:
        assert isinstance(sms, OutgoingSms)
        out.append(json.dumps(backend.request_body(message.id, sms)).encode())
    return out


async def push_http(url: str, token: str, bodies: list[bytes], connections: int) -> Push:
    """POST each body to the gateway over at most `connections` kept-alive connections."""
    connector = aiohttp.TCPConnector(limit=connections)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json", "Content-Type": "application/json"}
    arrivals: list[float] = []
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        # Open the connections before the clock starts, as the service's session has them open.
        await asyncio.gather(*(_get(http, url) for _ in range(connections)))
        queue = list(reversed(bodies))
        start = time.perf_counter()

        async def run() -> None:
            while queue:
                body = queue.pop()
                async with http.post(url + "/rest/mtsms", data=body) as r:
                    await r.read()
                    if r.status >= 300:
                        raise RuntimeError(f"gateway answered {r.status}")
                arrivals.append(time.perf_counter() - start)

        await asyncio.gather(*(run() for _ in range(connections)))
        seconds = time.perf_counter() - start
    return Push(connections, seconds, len(bodies), arrivals)


async def _get(http: aiohttp.ClientSession, url: str) -> None:
    async with http.get(url + "/_bench/count") as r:
        await r.read()
