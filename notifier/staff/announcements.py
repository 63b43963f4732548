"""Announcements from coordinators: choosing the recipients, posting, and following delivery.

One code path for both ways coordinators send them: `POST /api/announcements`
(`web/staff_api.py`) and the coordinators' console (`console/announcements.py`). The body is the
model `AnnouncementInput` (`contract.py`), who gets what is in `planning.py`; this module reads the
directory, calls those, and stores the result through `intake.commit` (the messages, their send
jobs and the announcement in one transaction).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.messages import status as st
from notifier.messages.intake import Outcome, commit
from notifier.messages.keys import idempotency_key
from notifier.messages.model import Message
from notifier.phones import mobile_e164
from notifier.staff.model import Announcement, StaffMember
from notifier.staff.planning import plan_announcement, select_audience
from notifier.app.runtime import Runtime
from notifier.staff.directory import StaffDirectory
from notifier.clock import to_ms, utcnow
from notifier.validation import FieldError, Invalid, validate
from notifier.staff.keys import ANNOUNCEMENTS, announcement_key
from notifier.staff.model import Audience
from notifier.staff.contract import AnnouncementInput


#: Statuses of a message that still has to go out (or be retried).
UNSETTLED = frozenset({st.CREATED, st.SENDING, st.TEMPORARY_FAILURE})


def choose_recipients(staff: list[StaffMember], announcement: Announcement) -> list[StaffMember]:
    """Who gets the announcement; Invalid naming the field for unknown ids or nobody selected."""
    known = {m.id for m in staff}
    unknown = [FieldError(f"audience.staff_ids[{i}]", "no such staff member")
               for i, sid in enumerate(announcement.audience.staff_ids) if sid not in known]
    if unknown:
        raise Invalid(unknown)
    recipients = select_audience(staff, announcement.audience)
    if not recipients:
        raise Invalid([FieldError("audience", "selects nobody in the staff directory")])
    return recipients


def mobile_numbers(recipients: list[StaffMember]) -> dict[str, str | None]:
    return {m.id: mobile_e164(m.phone) for m in recipients}


async def post_announcement(rt: Runtime, announcement: Announcement, idempotency: str | None = None) -> dict[str, Any]:
    """Store the announcement and one message per recipient and channel, atomically.

    Answers `{"id", "recipients", "messages"}`. `idempotency` (the API's Idempotency-Key, or the
    console form's request id) makes a repeat return the first answer and send nothing more.
    Raises Invalid (bad audience) or intake.Conflict.
    """
    staff_dir = StaffDirectory.of(rt)

    async def decide() -> Outcome:
        recipients = choose_recipients(await staff_dir.all(), announcement)
        planned = plan_announcement(announcement, recipients, mobile_numbers(recipients))
        doc = announcement_doc(announcement, len(recipients), utcnow())
        return Outcome(
            messages=planned,
            stage=lambda pipe, ids: stage_announcement(pipe, doc),
            answer={"id": announcement.id, "recipients": len(recipients)},
        )

    key = idempotency_key("announcement", idempotency) if idempotency else None
    return await commit(rt.store, decide, idem_key=key)


@dataclass(frozen=True)
class Delivery:
    """An announcement and where each of its messages stands."""

    doc: dict[str, Any]
    messages: list[Message]

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.messages:
            counts[m.status] = counts.get(m.status, 0) + 1
        return counts

    @property
    def unsettled(self) -> list[Message]:
        return [m for m in self.messages if m.status in UNSETTLED]


async def delivery(rt: Runtime, announcement_id: str) -> Delivery | None:
    doc = await get_announcement(rt.redis, announcement_id)
    if doc is None:
        return None
    messages = await rt.store.find("announcement", doc["id"], limit=1_000_000)
    return Delivery(doc, sorted(messages, key=lambda m: (m.refs.get("staff", ""), m.channel)))


def parse_announcement(document: Any, now: datetime) -> Announcement:
    """An announcement body (`AnnouncementInput`); `send_at` in the past means now. The id is made here."""
    data: AnnouncementInput = validate(document, AnnouncementInput)
    send_at = data.send_at if data.send_at is not None and data.send_at > now else None
    audience = data.audience
    return Announcement(
        id=str(uuid.uuid4()), subject=data.subject.as_dict(), body=data.body.as_dict(),
        audience=Audience(audience.sites, audience.organisations, audience.staff_ids),
        channels=data.channels, send_at=send_at.astimezone(timezone.utc) if send_at else None,
    )


def announcement_doc(a: Announcement, recipients: int, created_at: datetime) -> dict[str, Any]:
    return {
        "id": a.id, "subject": dict(a.subject), "body": dict(a.body),
        "audience": {"sites": list(a.audience.sites), "organisations": list(a.audience.organisations),
                     "staff_ids": list(a.audience.staff_ids)},
        "channels": list(a.channels),
        "send_at": a.send_at.isoformat() if a.send_at else None,
        "created_at": created_at.astimezone(timezone.utc).isoformat(),
        "recipients": recipients,
    }


def stage_announcement(pipe: Pipeline, doc: dict[str, Any]) -> None:
    pipe.set(announcement_key(doc["id"]), json.dumps(doc, ensure_ascii=False))
    created = datetime.fromisoformat(doc["created_at"])
    pipe.zadd(ANNOUNCEMENTS, {doc["id"]: to_ms(created)})


async def recent_announcements(redis: Redis, limit: int = 50) -> list[dict[str, Any]]:
    """The latest announcements, newest first (the coordinators' console lists them)."""
    ids = [i.decode() for i in await redis.zrevrange(ANNOUNCEMENTS, 0, limit - 1)]
    if not ids:
        return []
    raw = await redis.mget([announcement_key(i) for i in ids])
    return [json.loads(r) for r in raw if r]


async def get_announcement(redis: Redis, announcement_id: str) -> dict[str, Any] | None:
    raw = await redis.get(announcement_key(announcement_id))
    return json.loads(raw) if raw else None
