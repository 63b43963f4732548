"""The demo's case system on the other side: it receives the signed status callbacks, and the
scene at the end shows them with the metrics, the contact log and the API documentation.

`with_case_system(settings)` points the demo's callbacks at a receiver on a free loopback port;
the first scene starts that receiver (before any message exists), the last one reports and stops it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.messages import callbacks as cb
from notifier.app.config import Settings
from notifier.app.embedded_redis import free_port

from notifier.demo.context import Demo, wait_dispatched

PATH = "/case-system/status-callbacks"


def with_case_system(settings: Settings) -> Settings:
    port = free_port()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return settings.with_(status_callback_url=f"http://127.0.0.1:{port}{PATH}", status_callback_secret=secret)


@dataclass
class CaseSystemReceiver:
    """What a case system does with our callbacks: verify the signature, keep the event, answer 204."""

    secret: str
    events: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused += 1
            return web.Response(status=401)
        self.events.append(event)
        return web.Response(status=204)

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_post(PATH, self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def case_system_listens(demo: "Demo") -> None:
    """Start the case system's callback receiver before anything is sent."""
    url = demo.settings.status_callback_url
    if not url or not demo.settings.status_callback_secret:
        return
    receiver = CaseSystemReceiver(demo.settings.status_callback_secret)
    await receiver.start(int(url.split(":")[2].split("/")[0]))
    demo.case_system = receiver  # type: ignore[attr-defined]  # this run's, for the last scene


async def ecosystem(demo: "Demo") -> None:
    """Once everything due has gone out: the callbacks the case system got, a few metrics, the
    contact log of one client and everyone's as CSV, and where the API documentation is."""

    receiver: CaseSystemReceiver | None = getattr(demo, "case_system", None)
    await wait_dispatched(demo, timeout=30)
    if receiver is not None:
        deadline = time.monotonic() + 15
        while await demo.runtime.redis.zcard(cb.DUE) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await receiver.stop()
        kinds = Counter(e["type"] if e["type"] != cb.MESSAGE_STATUS else f"{e['type']} {e['data']['status']}"
                        for e in receiver.events)
        demo.notes.append(
            f"Case system received {len(receiver.events)} signed status callbacks (all verified with standardwebhooks): "
            + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
        sample = next((e for e in receiver.events if e["type"] == cb.MESSAGE_STATUS), None)
        if sample is not None:
            demo.notes.append("  for example: " + json.dumps(sample, ensure_ascii=False))
    async with demo.http.get(demo.url + "/metrics") as resp:
        text = await resp.text()
    shown = [line for line in text.splitlines()
             if (line.startswith("notifier_messages_total") and 'status="sent"' in line)
             or line.startswith(("notifier_webhooks_total", "notifier_send_duration_seconds_count", "notifier_queue_jobs"))]
    demo.notes.append("Metrics (GET /metrics, Prometheus):\n    " + "\n    ".join(shown))
    log = await demo.api("GET", "/api/clients/C-1001/contacts")
    rows = [f"{c['at'][:16]} {c['template']} by {c['channel']}: {c['status']}" if c["kind"] == "message"
            else f"{c['at'][:16]} call by {c['staff_id']}: {c['outcome']}" for c in log["contacts"]]
    demo.notes.append("Contact log of C-1001 (GET /api/clients/C-1001/contacts):\n    " + "\n    ".join(rows))
    today = datetime.now(demo.settings.timezone).date()
    days = {"from": (today - timedelta(days=30)).isoformat(), "to": (today + timedelta(days=30)).isoformat()}
    headers = {"Authorization": f"Bearer {demo.settings.api_token}"}
    async with demo.http.get(demo.url + "/api/contacts.csv", params=days, headers=headers) as resp:
        csv_text = await resp.text()
    path = demo.settings.data_dir / "contacts.csv"
    path.write_text(csv_text)
    demo.notes.append(f"Contact log of everyone as CSV ({len(csv_text.splitlines()) - 1} rows): {path}")
    demo.notes.append("API documentation: GET /api/docs (OpenAPI 3.1 at /api/openapi.json); "
                      "configuration check: notifier check")
