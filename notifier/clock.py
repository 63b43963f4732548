"""The clock and ids: aware UTC datetimes inside the service, random ids for everything stored."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


def from_ms(ms: int | float) -> datetime:
    """A Redis-side millisecond timestamp (e.g. a practice change's posting time) as UTC."""
    return datetime.fromtimestamp(int(ms) / 1000, timezone.utc)


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)
