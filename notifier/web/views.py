"""JSON shapes of stored things for API answers. Times are shown in the service's time zone.

Recipients are masked: the API is for following a message's fate, not for reading addresses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..messages import Message


def local(dt: datetime | None, tz: ZoneInfo) -> str | None:
    return dt.astimezone(tz).isoformat() if dt else None


def mask_email(address: str | None) -> str | None:
    if not address:
        return None
    local_part, _, domain = address.partition("@")
    return f"{local_part[:1]}***@{domain}"


def mask_phone(number: str | None) -> str | None:
    if not number:
        return None
    return number[:4] + "*" * max(len(number) - 6, 0) + number[-2:]


def message_view(m: Message, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": m.id,
        "template": m.template,
        "channel": m.channel,
        "language": m.language,
        "status": m.status,
        "reason": m.reason or None,
        "created_at": local(m.created_at, tz),
        "send_at": local(m.send_at, tz),
        "attempts": m.attempts,
        **{f"{ref}_id": value for ref, value in m.refs.items()},
        "recipient": {"email": mask_email(m.recipient.email), "phone": mask_phone(m.recipient.phone)},
        "history": [{"status": h.status, "at": local(h.at, tz), "reason": h.reason or None} for h in m.history],
    }
