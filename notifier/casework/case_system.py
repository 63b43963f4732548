"""A case system's side of the webhook contract: sign and post events.

Used by `notifier demo`, the benchmark and the tests, and a reference for integrators.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook


def signed_headers(secret: str, body: str, webhook_id: str | None = None, timestamp: datetime | None = None) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or datetime.now(timezone.utc)
    signature = Webhook(secret).sign(webhook_id, timestamp, body)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


class CaseSystem:
    def __init__(self, base_url: str, secret: str, session: aiohttp.ClientSession) -> None:
        self.url = base_url.rstrip("/") + "/webhooks/case-events"
        self.secret = secret
        self.session = session

    async def send(self, event_type: str, data: dict[str, Any], webhook_id: str | None = None) -> tuple[int, Any]:
        body = json.dumps({"type": event_type, "data": data}, ensure_ascii=False)
        async with self.session.post(self.url, data=body.encode(), headers=signed_headers(self.secret, body, webhook_id)) as resp:
            payload = await resp.json(content_type=None)
            return resp.status, payload
