"""`notifier demo`: the whole service on embedded defaults, fed with sample case-system events.

It starts embedded Redis, the web server and a worker in a temporary data dir (or --data-dir),
sends signed webhooks through the real HTTP endpoint, waits until every message is dispatched,
prints what went out and where the outputs lie, and stops. Each feature adds a scene to SCENES.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp

from . import status as st
from .casesystem import CaseSystem
from .config import Settings
from .local import local_settings
from .redis_server import EmbeddedRedis, free_port
from .runtime import Runtime
from .server import serve


@dataclass
class Demo:
    settings: Settings
    url: str
    http: aiohttp.ClientSession
    case: CaseSystem
    runtime: Runtime
    message_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    async def event(self, event_type: str, data: dict[str, Any]) -> list[str]:
        status, answer = await self.case.send(event_type, data)
        if status != 202:
            raise RuntimeError(f"{event_type} answered {status}: {answer}")
        self.message_ids += answer["messages"]
        return answer["messages"]

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.settings.api_token}"}
        async with self.http.request(method, self.url + path, json=body, headers=headers) as resp:
            payload = await resp.json(content_type=None)
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path} answered {resp.status}: {payload}")
            return payload


Scene = Callable[[Demo], Awaitable[None]]

OFFICE = {"name": "TE-toimisto, Turku", "phone": "0295 044 000"}
PROVIDER = {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": "info@tyoelamaninfopiste.example"}


async def referrals(demo: Demo) -> None:
    clients = [
        {"id": "C-1001", "first_name": "Matti", "last_name": "Meikäläinen", "language": "fi",
         "email": "matti.meikalainen@example.fi", "phone": "040 1234567"},
        {"id": "C-1002", "first_name": "Anna-Liisa", "last_name": "Virtanen", "language": "fi",
         "email": "anna-liisa.virtanen@example.fi"},
        {"id": "C-2001", "first_name": "Sven", "last_name": "Åström", "language": "sv",
         "email": "sven.astrom@example.fi", "phone": "+358 50 765 4321"},
        {"id": "C-1003", "first_name": "Pekka", "last_name": "Puhelin", "language": "fi", "phone": "050 111 2222"},
    ]
    for client in clients:
        await demo.event("client.referred", {"client": client, "referred_at": "2026-11-30T09:00:00+02:00",
                                             "office": OFFICE, "provider": PROVIDER})


SCENES: list[Scene] = [referrals]


async def _wait_dispatched(demo: Demo, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        messages = await demo.runtime.store.get_many(demo.message_ids)
        pending = [m for m in messages if m.status in (st.CREATED, st.SENDING, st.TEMPORARY_FAILURE) and m.send_at is None]
        if not pending or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(0.05)


def _recipient(m: Any) -> str:
    r = m.recipient
    return f"{r.name} <{r.email or r.phone or '-'}>" if r.email or r.phone else r.name


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def _run(settings: Settings) -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.with_(public_url=url)
    stop, started = asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(serve(settings, port=port, stop=stop, started=started))
    await asyncio.wait([server, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        server.result()
    runtime = Runtime.create(settings)
    try:
        async with aiohttp.ClientSession() as http:
            demo = Demo(settings, url, http, CaseSystem(url, settings.webhook_secret or "", http), runtime)
            for scene in SCENES:
                await scene(demo)
            messages = await _wait_dispatched(demo, timeout=30)
    finally:
        await runtime.redis.aclose()
        stop.set()
        await server

    rows = [("message", "recipient", "lang", "channel", "status")]
    for m in messages:
        status = m.status + (f" ({m.reason})" if m.reason else "")
        if m.send_at is not None and m.status == st.CREATED:
            status += f" (scheduled {m.send_at.astimezone(settings.timezone):%Y-%m-%d %H:%M})"
        rows.append((m.template, _recipient(m), m.language, m.channel, status))
    print()
    print(_table(rows))
    print()
    for note in demo.notes:
        print(note)
    print(f"Outputs: {settings.outbox_dir.resolve()}")
    stuck = [m for m in messages if m.status in (st.SENDING, st.TEMPORARY_FAILURE) or (m.status == st.CREATED and m.send_at is None)]
    if stuck:
        print(f"{len(stuck)} message(s) were not dispatched in time")
        return 1
    return 0


def run_demo(data_dir: Path | None) -> int:
    from .logs import configure

    configure("WARNING")
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="notifier-demo-"))
    settings = Settings.from_env({"NOTIFIER_DATA_DIR": str(data_dir)})
    settings, _notes = local_settings(settings)
    embedded = EmbeddedRedis(settings.data_dir)
    settings = settings.with_(redis_url=embedded.start(), worker_poll_delay=0.05)
    try:
        return asyncio.run(_run(settings))
    finally:
        embedded.stop()
