"""JSON shapes of stored things for API answers. Times are shown in the service's time zone.

Recipients are masked: the API is for following a message's fate, not for reading addresses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from notifier.messages.model import Message


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


def mask_address(address: dict[str, str] | None) -> str | None:
    """`20*** FI`: that there is an address, and roughly where; not whose."""
    if not address:
        return None
    code = str(address.get("postal_code") or "")
    return f"{code[:2]}{'*' * max(len(code) - 2, 0)} {address.get('country') or 'FI'}".strip()


def mask_personal_id(personal_id: str | None) -> str | None:
    """`**********T`: only that a personal identity code is on record."""
    if not personal_id:
        return None
    return "*" * (len(personal_id) - 1) + personal_id[-1:]


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
        "name_fallback": list(m.name_fallback),
        **{f"{ref}_id": value for ref, value in m.refs.items()},
        "recipient": {"email": mask_email(m.recipient.email), "phone": mask_phone(m.recipient.phone),
                      "address": mask_address(m.recipient.address),
                      "personal_id": mask_personal_id(m.recipient.personal_id)},
        "history": [{"status": h.status, "at": local(h.at, tz), "reason": h.reason or None} for h in m.history],
    }
