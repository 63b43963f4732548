"""What every demo scene gets: the running service, a signed case system, and where notes go."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import aiohttp

from notifier.app.config import Settings
from notifier.app.runtime import Runtime
from notifier.casework.case_system import CaseSystem
from notifier.messages import status as st


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
        headers = {"Authorization": f"Bearer {self.settings.coordinator_token or self.settings.api_token}"}
        async with self.http.request(method, self.url + path, json=body, headers=headers) as resp:
            payload = await resp.json(content_type=None)
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path} answered {resp.status}: {payload}")
            return payload


Scene = Callable[[Demo], Awaitable[None]]


async def wait_dispatched(demo: Demo, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        messages = await demo.runtime.store.get_many(demo.message_ids)
        pending = [m for m in messages if m.status in (st.CREATED, st.SENDING, st.TEMPORARY_FAILURE) and m.send_at is None]
        if not pending or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(0.05)


def recipient_label(m: Any) -> str:
    r = m.recipient
    return f"{r.name} <{r.email or r.phone or '-'}>".strip() if r.email or r.phone else r.name


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
