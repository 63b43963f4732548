"""Announcements from coordinators: choosing the recipients, posting, and following delivery.

One code path for both ways coordinators send them: `POST /api/announcements`
(`web/staff_api.py`) and the coordinators' console (`web/console_announcements.py`). Parsing and
storage are in `practice.py`, who gets what in `planning_staff.py`; this module reads the
directory, calls those, and stores the result through `intake.commit` (the messages, their send
jobs and the announcement in one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import status as st
from .intake import Outcome, commit, idempotency_key
from .messages import Message
from .phones import mobile_e164
from .planning_staff import Announcement, StaffMember, plan_announcement, select_audience
from .practice import announcement_doc, get_announcement, stage_announcement
from .runtime import Runtime
from .staff import StaffDirectory
from .store import utcnow
from .validation import FieldError, Invalid

#: Statuses of a message that still has to go out (or be retried).
UNSETTLED = frozenset({st.CREATED, st.SENDING, st.TEMPORARY_FAILURE})


def directory(rt: Runtime) -> StaffDirectory:
    return StaffDirectory(rt.redis, rt.store.sealer, rt.settings.signing_secrets)


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
    staff_dir = directory(rt)

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
