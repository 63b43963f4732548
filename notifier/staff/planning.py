"""Planning for staff communication: who gets which practice change, digest and announcement.

Pure functions over plain dataclasses, like `planning.py`: nothing here touches Redis, the
network or the clock. The digest job (`digest.py`) and the API handlers (`web/staff_api.py`)
read the state, call these, and store what they return through `intake.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Collection, Iterable, Mapping

from notifier.messages.model import EMAIL, SMS, PlannedMessage, Recipient
from notifier.staff.model import StaffMember, PracticeChange, Audience, Announcement

DIGEST = "digest"
ANNOUNCEMENT = "announcement"
ANNOUNCEMENT_SMS = "announcement-sms"
SUBSCRIBE_CONFIRM = "subscribe-confirm"

#: A digest reminds of unacknowledged changes posted at most this long before it.
REMIND_FOR = timedelta(weeks=4)
#: Someone who has never had a digest gets the changes of the last week as new
#: (older ones still come as reminders, so a newcomer sees the last four weeks).
FIRST_WINDOW = timedelta(weeks=1)

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


# -- weeks ------------------------------------------------------------------------------------


def week_label(day: date) -> str:
    """ISO week of `day` as `YYYY-Www` (the digest's identity: one per person per label)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def current_week(now: datetime, tz: tzinfo) -> str:
    """The ISO week `now` falls in, in the service's time zone."""
    return week_label(now.astimezone(tz).date())


def parse_week(label: str) -> str | None:
    """`2026-W49` normalised, or None if it is not an existing ISO week."""
    m = _WEEK.match(label.strip())
    if not m:
        return None
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        return None
    return week_label(monday)


def week_number(label: str) -> int:
    return int(label.rsplit("W", 1)[1])


# -- who is concerned -------------------------------------------------------------------------


def matches(site: str, organisation: str, sites: Collection[str], organisations: Collection[str]) -> bool:
    """No sites (organisations) listed means every site (organisation)."""
    return (not sites or site in sites) and (not organisations or organisation in organisations)


def concerns(change: PracticeChange, member: StaffMember) -> bool:
    return matches(member.site, member.organisation, change.sites, change.organisations)


def localized(texts: Mapping[str, str], language: str) -> tuple[str, bool]:
    """The text in `language`, or the Finnish one; the flag says whether it is really translated."""
    text = texts.get(language)
    if text:
        return text, True
    return texts["fi"], language == "fi"


# -- the digest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestSelection:
    """What one person's digest holds: changes new since their previous digest, then reminders."""

    new: tuple[PracticeChange, ...] = ()
    earlier: tuple[PracticeChange, ...] = ()

    @property
    def empty(self) -> bool:
        """Reminders alone do not make a digest: a week with nothing new sends nothing."""
        return not self.new


def select_digest(
    member: StaffMember,
    changes: Iterable[PracticeChange],
    *,
    previous_cutoff: datetime | None,
    cutoff: datetime,
    acknowledged: Collection[str],
) -> DigestSelection:
    """Changes concerning `member` posted in (previous_cutoff, cutoff], and the unacknowledged ones
    posted in the four weeks before that window.

    Each person's windows follow on from each other (the cutoff of one digest is the start of the
    next), so a change is listed as new exactly once, whenever and however often runs happen.
    """
    start = previous_cutoff if previous_cutoff is not None else cutoff - FIRST_WINDOW
    remind_from = cutoff - REMIND_FOR
    mine = sorted((c for c in changes if concerns(c, member)), key=lambda c: (c.posted_at, c.id))
    new = tuple(c for c in mine if start < c.posted_at <= cutoff)
    earlier = tuple(
        c for c in mine if remind_from < c.posted_at <= min(start, cutoff) and c.id not in acknowledged
    )
    return DigestSelection(new, earlier)


@dataclass(frozen=True)
class DigestLinks:
    """Signed personal links for one digest (made by `links.py`; planning only places them)."""

    preferences: str
    unsubscribe: str
    acknowledge: Mapping[str, str] = field(default_factory=dict)  # change id -> URL


def is_targeted(change: PracticeChange) -> bool:
    return bool(change.sites or change.organisations)


def change_context(change: PracticeChange, language: str, ack_url: str) -> dict[str, Any]:
    title, title_ok = localized(change.title, language)
    body, body_ok = localized(change.body, language)
    return {
        "id": change.id,
        "title": title,
        "body": body,
        "translated": title_ok and body_ok,
        "effective_from": change.effective_from.isoformat(),
        "sites": list(change.sites),
        "organisations": list(change.organisations),
        "ack_url": ack_url,
    }


def plan_digest(member: StaffMember, selection: DigestSelection, week: str, links: DigestLinks) -> PlannedMessage | None:
    """The week's digest e-mail for `member`, or None when there is nothing new for them.

    New changes are grouped: those for everyone first, then those only for the reader's site or
    organisation; unacknowledged changes of earlier weeks come last.
    """
    if selection.empty or not member.digest:
        return None
    lang = member.language
    groups = []
    for key, chosen in (("everyone", [c for c in selection.new if not is_targeted(c)]),
                        ("targeted", [c for c in selection.new if is_targeted(c)])):
        if chosen:
            groups.append({"key": key, "changes": [change_context(c, lang, links.acknowledge[c.id]) for c in chosen]})
    context = {
        "name": member.name,
        "week": week,
        "week_number": week_number(week),
        "site": member.site,
        "organisation": member.organisation,
        "groups": groups,
        "earlier": [change_context(c, lang, links.acknowledge[c.id]) for c in selection.earlier],
        "preferences_url": links.preferences,
        "unsubscribe_url": links.unsubscribe,
    }
    recipient = Recipient(name=member.name, language=lang, email=member.email)
    return PlannedMessage(DIGEST, EMAIL, recipient, context, {"staff": member.id, "digest": week})


def next_cutoff(previous_cutoff: datetime | None, cutoff: datetime) -> datetime:
    """A person's windows never move backwards (a late job of an older run changes nothing)."""
    return cutoff if previous_cutoff is None else max(previous_cutoff, cutoff)


# -- acknowledgements -------------------------------------------------------------------------


@dataclass(frozen=True)
class AckGroup:
    organisation: str
    site: str
    acknowledged: tuple[tuple[StaffMember, datetime], ...]
    not_acknowledged: tuple[StaffMember, ...]


def acknowledgement_report(change: PracticeChange, staff: Iterable[StaffMember], acks: Mapping[str, datetime]) -> list[AckGroup]:
    """Everyone the change concerns, per organisation and site: who has and who has not read it.

    People no longer in the directory are left out (their acknowledgements stay stored).
    """
    groups: dict[tuple[str, str], tuple[list[tuple[StaffMember, datetime]], list[StaffMember]]] = {}
    for member in sorted(staff, key=lambda m: m.id):
        if not concerns(change, member):
            continue
        done, todo = groups.setdefault((member.organisation, member.site), ([], []))
        if member.id in acks:
            done.append((member, acks[member.id]))
        else:
            todo.append(member)
    return [AckGroup(org, site, tuple(done), tuple(todo)) for (org, site), (done, todo) in sorted(groups.items())]


# -- announcements ----------------------------------------------------------------------------


def select_audience(staff: Iterable[StaffMember], audience: Audience) -> list[StaffMember]:
    """Staff matching the sites/organisations, plus those named by id; no criteria = everyone.

    Announcements are work instructions: they ignore the digest opt-out.
    """
    named = set(audience.staff_ids)
    filtered = bool(audience.sites or audience.organisations)
    everyone = not filtered and not named
    chosen = [
        m for m in staff
        if everyone or m.id in named or (filtered and matches(m.site, m.organisation, audience.sites, audience.organisations))
    ]
    return sorted(chosen, key=lambda m: m.id)


def plan_announcement(announcement: Announcement, recipients: Iterable[StaffMember], mobile: Mapping[str, str | None]) -> list[PlannedMessage]:
    """One message per recipient and channel, in the recipient's language, at `send_at`.

    `mobile` maps a staff id to their mobile number in E.164 (None when they have no number that
    can take an SMS); such a person's SMS is recorded as a permanent failure, not silently dropped.
    """
    out: list[PlannedMessage] = []
    for member in recipients:
        lang = member.language
        subject, subject_ok = localized(announcement.subject, lang)
        body, body_ok = localized(announcement.body, lang)
        context = {"name": member.name, "subject": subject, "body": body, "translated": subject_ok and body_ok}
        refs = {"staff": member.id, "announcement": announcement.id}
        if EMAIL in announcement.channels:
            recipient = Recipient(name=member.name, language=lang, email=member.email)
            out.append(PlannedMessage(ANNOUNCEMENT, EMAIL, recipient, context, refs, send_at=announcement.send_at))
        if SMS in announcement.channels:
            number = mobile.get(member.id)
            recipient = Recipient(name=member.name, language=lang, phone=number)
            out.append(PlannedMessage(
                ANNOUNCEMENT_SMS, SMS, recipient, context, refs, send_at=announcement.send_at,
                failure=None if number else "no-mobile-number",
            ))
    return out


def plan_subscribe_confirmation(name: str, email: str, language: str, confirm_url: str, staff_id: str | None) -> PlannedMessage:
    """The double opt-in e-mail: a signed link that must be opened to subscribe."""
    recipient = Recipient(name=name, language=language, email=email)
    refs = {"staff": staff_id} if staff_id else {}
    return PlannedMessage(SUBSCRIBE_CONFIRM, EMAIL, recipient, {"name": name, "confirm_url": confirm_url}, refs)
