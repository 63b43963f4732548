"""Planning for the coordinators' console: sign-in links, acknowledgement reminders, previews.

Pure functions over plain dataclasses, like `planning_staff.py`: nothing here touches Redis, the
network or the clock. Previews are made by the same planners that make the real messages, with a
stand-in reader, so that what a coordinator sees is what staff will get.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Mapping

from notifier.messages.model import EMAIL, SMS, PlannedMessage, Recipient
from notifier.staff.planning import (
    AckGroup,
    DigestLinks,
    DigestSelection,
    change_context,
    plan_announcement,
    plan_digest,
)
from notifier.staff.model import Announcement, PracticeChange, StaffMember

SIGN_IN = "console-sign-in"
REMINDER = "practice-change-reminder"

#: Links in previews go nowhere: a preview must not be usable to acknowledge or unsubscribe.
PREVIEW_LINK = "#"


def plan_sign_in(email: str, language: str, sign_in_url: str) -> PlannedMessage:
    """The e-mail with a coordinator's one-time sign-in link (no refs: a coordinator is not staff)."""
    recipient = Recipient(name="", language=language, email=email)
    return PlannedMessage(SIGN_IN, EMAIL, recipient, {"sign_in_url": sign_in_url})


def plan_reminders(change: PracticeChange, members: Iterable[StaffMember], ack_urls: Mapping[str, str],
                   reminder_id: str) -> list[PlannedMessage]:
    """One e-mail per person who has not acknowledged `change`, in their language, with their own
    "I have read this" link. A reminder is a coordinator's deliberate request, like an
    announcement: it reaches people who turned the weekly digest off as well."""
    out = []
    for member in sorted(members, key=lambda m: m.id):
        context = {"name": member.name, **change_context(change, member.language, ack_urls[member.id])}
        recipient = Recipient(name=member.name, language=member.language, email=member.email)
        refs = {"staff": member.id, "change": change.id, "reminder": reminder_id}
        out.append(PlannedMessage(REMINDER, EMAIL, recipient, context, refs))
    return out


def not_acknowledged(groups: Iterable[AckGroup]) -> list[StaffMember]:
    return [m for g in groups for m in g.not_acknowledged]


@dataclass(frozen=True)
class AckProgress:
    """How many of the people a change concerns have acknowledged it ("12 / 18")."""

    acknowledged: int
    concerned: int

    @property
    def percent(self) -> int:
        return round(100 * self.acknowledged / self.concerned) if self.concerned else 0


def progress(groups: Iterable[AckGroup]) -> AckProgress:
    groups = list(groups)
    done = sum(len(g.acknowledged) for g in groups)
    return AckProgress(done, done + sum(len(g.not_acknowledged) for g in groups))


# -- previews -------------------------------------------------------------------------------------


def preview_reader(name: str, language: str, sites: tuple[str, ...] = (), organisations: tuple[str, ...] = (),
                   phone: str | None = "+358401234567") -> StaffMember:
    """A stand-in staff member whom the previewed thing concerns."""
    return StaffMember(
        id="preview", name=name, email="preview@example.invalid", language=language,
        organisation=organisations[0] if organisations else "preview",
        site=sites[0] if sites else "preview", phone=phone,
    )


def preview_change(title: Mapping[str, str], body: Mapping[str, str], effective_from: date, posted_at: datetime,
                   sites: tuple[str, ...] = (), organisations: tuple[str, ...] = ()) -> PracticeChange:
    """A change as it would be stored, for previewing before it is posted."""
    return PracticeChange(id="preview", title=dict(title), body=dict(body), effective_from=effective_from,
                          posted_at=posted_at, sites=sites, organisations=organisations)


def digest_preview(change: PracticeChange, language: str, reader_name: str, week: str) -> PlannedMessage:
    """The weekly digest a reader concerned by `change` would get with only this change in it."""
    reader = preview_reader(reader_name, language, change.sites, change.organisations)
    links = DigestLinks(preferences=PREVIEW_LINK, unsubscribe=PREVIEW_LINK, acknowledge={change.id: PREVIEW_LINK})
    planned = plan_digest(reader, DigestSelection(new=(change,)), week, links)
    assert planned is not None  # one new change for a reader who wants the digest
    return planned


def announcement_preview(announcement: Announcement, language: str, reader_name: str) -> dict[str, PlannedMessage]:
    """The announcement's message on each of its channels, for a reader in `language`."""
    reader = preview_reader(reader_name, language)
    planned = plan_announcement(announcement, [reader], {reader.id: reader.phone})
    return {p.channel: p for p in planned}


@dataclass(frozen=True)
class Reach:
    """Who an announcement reaches, shown before it is sent."""

    recipients: int
    emails: int
    sms: int
    without_mobile: int


def reach(announcement: Announcement, recipients: list[StaffMember], mobile: Mapping[str, str | None]) -> Reach:
    with_mobile = sum(1 for m in recipients if mobile.get(m.id))
    sms = SMS in announcement.channels
    return Reach(
        recipients=len(recipients),
        emails=len(recipients) if EMAIL in announcement.channels else 0,
        sms=with_mobile if sms else 0,
        without_mobile=len(recipients) - with_mobile if sms else 0,
    )
