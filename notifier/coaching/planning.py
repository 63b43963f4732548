"""The coaching rhythm decided by pure functions over plain data; the clock is an argument.

Each event gives a new `CoachingState`; `plan_reminders` compares the deadlines of the old and the
new state and says which reminders to plan (each deadline once, ever) and which planned ones to
cancel (a deadline that went away because a contact or a plan was recorded before it was due, or
because the service ended). Handlers store what this decides; nothing here reads Redis or the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

from notifier.casework.events import ClientContacted, ClientReferred, Coach, CoachAssigned, Party, PlanMade, ServiceEnded
from notifier.casework.names import Bilingual, Localizer
from notifier.casework.referral import letter_recipient, party_dict, referral_letter_channel
from notifier.coaching.model import (
    FIRST_CONTACT,
    MONTHLY_CONTACT,
    PLAN_RENEWAL,
    CoachingState,
    Deadline,
    Rules,
)
from notifier.messages.model import EMAIL, NO_CHANNEL, PlannedMessage, Recipient
from notifier.validation import FieldError, Invalid

REMINDER = "coaching-reminder"
WEEKLY = "coaching-weekly"
SERVICE_ENDED = "service-ended"
#: Reasons after which the client's own job-search duties go on (the letter reminds them).
DUTIES_CONTINUE = ("term-ended", "moved", "other")
#: How far ahead of our clock an event's `at` may be (clock skew between systems).
FUTURE_TOLERANCE = timedelta(minutes=5)


# -- working days -----------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _finnish_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FI", years=year)


def warm_holidays(today: date) -> None:
    """Load this year's and next year's calendars now. The first look-up imports `holidays`'
    country modules (≈ 0.2 s of CPU): the web does it at start, not in its first referral."""
    for year in (today.year, today.year + 1):
        _finnish_holidays(year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Finnish public holiday (the `holidays` package: Midsummer Eve,
    Christmas Eve and Independence Day included)."""
    return day.weekday() < 5 and day not in _finnish_holidays(day.year)


def working_day_on_or_before(day: date) -> date:
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


# -- deadlines --------------------------------------------------------------------------------------


def deadlines(state: CoachingState, rules: Rules, tz: ZoneInfo) -> list[Deadline]:
    """The promises still open for an active client, soonest first.

    First contact until any contact is recorded, then monthly contact from the latest one; plan
    renewal from the latest plan (none before the first plan is made). A reminder day that falls on
    a weekend or a Finnish public holiday moves to the working day before.
    """
    if not state.active:
        return []
    return open_deadlines(state.referred_at, state.last_contact_at, state.last_plan_at, rules, tz)


def open_deadlines(referred_at: datetime, last_contact_at: datetime | None, last_plan_at: datetime | None,
                   rules: Rules, tz: ZoneInfo) -> list[Deadline]:
    """`deadlines` from the three times alone (the figures read them without opening sealed data)."""
    out: list[Deadline] = []

    def add(kind: str, due: datetime, remind: datetime) -> None:
        out.append(Deadline(kind, due, working_day_on_or_before(remind.astimezone(tz).date())))

    if last_contact_at is None:
        start = referred_at
        add(FIRST_CONTACT, start + timedelta(days=rules.first_contact_days),
            start + timedelta(days=rules.first_contact_remind_day))
    else:
        start = last_contact_at
        add(MONTHLY_CONTACT, start + timedelta(days=rules.contact_days),
            start + timedelta(days=rules.contact_remind_day))
    if last_plan_at is not None:
        start = last_plan_at.astimezone(tz)
        due = start + relativedelta(months=rules.plan_months)
        add(PLAN_RENEWAL, due, due - timedelta(days=rules.plan_remind_days_before))
    return sorted(out, key=lambda d: d.due)


def remind_at(deadline: Deadline, rules: Rules, tz: ZoneInfo) -> datetime:
    """When the reminder goes: its (working) day at `remind_hour`, local time, as UTC."""
    local = datetime.combine(deadline.remind_on, time(rules.remind_hour), tzinfo=tz)
    return local.astimezone(timezone.utc)


def next_deadline(state: CoachingState, rules: Rules, tz: ZoneInfo) -> Deadline | None:
    found = deadlines(state, rules, tz)
    return found[0] if found else None


def escalated(state: CoachingState, rules: Rules, now: datetime) -> bool:
    """First contact still missing on day `first_contact_escalate_day`: the coordinators' work queue shows it."""
    return (state.active and state.coach is not None and state.last_contact_at is None
            and now >= state.referred_at + timedelta(days=rules.first_contact_escalate_day))


# -- events -> new state ----------------------------------------------------------------------------


def check_not_future(at: datetime, now: datetime, field_name: str = "data.at") -> None:
    if at > now + FUTURE_TOLERANCE:
        raise Invalid([FieldError(field_name, "must not be in the future")])


def _later(current: datetime | None, at: datetime) -> datetime:
    """Out-of-order events are recorded, but never move a deadline back."""
    return at if current is None or at > current else current


def after_referral(event: ClientReferred, existing: CoachingState | None) -> CoachingState:
    """A new referral starts a client's coaching; a repeat of an active client's referral updates the
    contact details and the coach but keeps the deadlines; one after the service ended starts afresh."""
    if existing is None or not existing.active:
        return CoachingState(client=event.client, referred_at=event.referred_at, coach=event.coach,
                             office=event.office, provider=event.provider)
    return replace(existing, client=event.client, coach=event.coach or existing.coach,
                   office=event.office or existing.office, provider=event.provider or existing.provider)


def after_event(event: Any, state: CoachingState, now: datetime) -> CoachingState:
    """The state after a coaching event (`at` checked against `now` first)."""
    check_not_future(event.at, now)
    if isinstance(event, CoachAssigned):
        return replace(state, coach=event.coach)
    if isinstance(event, ClientContacted):
        return contacted(state, event.at)
    if isinstance(event, PlanMade):
        return replace(state, last_plan_at=_later(state.last_plan_at, event.at))
    if isinstance(event, ServiceEnded):
        if not state.active:
            return state  # ended once; a repeat changes nothing
        return replace(state, ended_at=event.at, end_reason=event.reason)
    raise TypeError(type(event).__name__)


def contacted(state: CoachingState, at: datetime) -> CoachingState:
    """A contact (an event, or a `reached` call outcome)."""
    return replace(state, last_contact_at=_later(state.last_contact_at, at), contacts=state.contacts + 1)


# -- reminders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderPlan:
    messages: list[PlannedMessage] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)      # deadline key of each message, in order
    cancel: dict[str, str] = field(default_factory=dict)  # message id -> reason
    forget: list[str] = field(default_factory=list)    # deadline keys whose reminder was cancelled and is planned again


def plan_reminders(old: CoachingState | None, new: CoachingState, rules: Rules, tz: ZoneInfo, now: datetime,
                   public_url: str, sender: Bilingual, unsent: frozenset[str] = frozenset()) -> ReminderPlan:
    """Reminders to plan and to cancel for the move from `old` to `new`.

    - each open deadline of `new` with a coach gets one reminder, ever (its key is kept); one whose
      reminder time has passed goes at once;
    - a planned reminder whose deadline is no longer open is cancelled (a contact or plan recorded
      before it was due, or the service ended); one already sent stays as it is (the store refuses);
    - after a change of coach, reminders not yet sent (`unsent`: their message ids) go to the new
      coach instead.
    """
    open_now = {d.key: d for d in deadlines(new, rules, tz)}
    cancel: dict[str, str] = {}
    forget: list[str] = []
    for key, message_id in new.reminders.items():
        if key not in open_now:
            if message_id in unsent:
                cancel[message_id] = "service-ended" if not new.active else "deadline-met"
        elif old is not None and old.coach != new.coach and message_id in unsent:
            cancel[message_id] = "coach-changed"
            forget.append(key)
    if new.coach is None:
        return ReminderPlan(cancel=cancel, forget=forget)
    messages, keys = [], []
    for key, deadline in open_now.items():
        if key in new.reminders and key not in forget:
            continue
        send_at = remind_at(deadline, rules, tz)
        messages.append(reminder_message(new, deadline, None if send_at <= now else send_at, public_url, sender))
        keys.append(key)
    return ReminderPlan(messages, keys, cancel, forget)


def contact_log_url(public_url: str, client_id: str) -> str:
    """The client's messages and calls (the console's message log, for staff)."""
    from urllib.parse import quote

    return f"{public_url}/console/messages?kind=client&id={quote(client_id, safe='')}"


def reminder_message(state: CoachingState, deadline: Deadline, send_at: datetime | None,
                     public_url: str, sender: Bilingual) -> PlannedMessage:
    """E-mail to the coach, in the coach's language, naming the client and the deadline."""
    coach = state.coach
    assert coach is not None
    client = state.client
    context = {
        "first_name": coach.name.split()[0],
        "kind": deadline.kind,
        "client_name": client.name,
        "client_id": client.id,
        "due": deadline.due.isoformat(),
        "referred_at": state.referred_at.isoformat(),
        "contact_log_url": contact_log_url(public_url, client.id),
        "office": {"name": (state.provider.name if state.provider else sender).text(coach.language)},
    }
    recipient = Recipient(name=coach.name, language=coach.language, email=coach.email)
    refs = {"staff": coach.id, "coached_client": client.id}
    return PlannedMessage(REMINDER, EMAIL, recipient, context, refs, send_at=send_at)


# -- the weekly "your clients" e-mail ---------------------------------------------------------------


@dataclass(frozen=True)
class ClientRow:
    client_id: str
    name: str
    kind: str
    due: datetime
    overdue: bool


def coach_rows(states: list[CoachingState], rules: Rules, tz: ZoneInfo, now: datetime) -> list[ClientRow]:
    """Each active client with their next deadline, overdue first, then soonest first."""
    rows = []
    for s in states:
        d = next_deadline(s, rules, tz)
        if d is not None:
            rows.append(ClientRow(s.client.id, s.client.name, d.kind, d.due, d.due < now))
    return sorted(rows, key=lambda r: (not r.overdue, r.due, r.client_id))


def plan_weekly(coach: Coach, states: list[CoachingState], rules: Rules, tz: ZoneInfo, now: datetime,
                week: str, public_url: str, sender: Bilingual) -> PlannedMessage | None:
    """The Monday e-mail to one coach; none when they have no active clients."""
    rows = coach_rows([s for s in states if s.active and s.coach and s.coach.id == coach.id], rules, tz, now)
    if not rows:
        return None
    context = {
        "first_name": coach.name.split()[0],
        "week": week,
        "overdue": sum(1 for r in rows if r.overdue),
        "clients": [{"id": r.client_id, "name": r.name, "kind": r.kind, "due": r.due.isoformat(),
                     "overdue": r.overdue, "contact_log_url": contact_log_url(public_url, r.client_id)}
                    for r in rows],
        "office": {"name": sender.text(coach.language)},
    }
    recipient = Recipient(name=coach.name, language=coach.language, email=coach.email)
    return PlannedMessage(WEEKLY, EMAIL, recipient, context, {"staff": coach.id})


# -- the end-of-service letter ----------------------------------------------------------------------


def plan_service_ended(state: CoachingState, event: ServiceEnded, office: Party, provider: Party, suomifi: bool,
                       rules: Rules) -> list[PlannedMessage]:
    """The end-of-service letter, on the referral letter's channel rules, in the client's language:
    the service ended and why, the customership returns to the employment authority, whom to contact,
    and (unless the client is employed or in education) that their job-search duties go on."""
    client = state.client
    channel = referral_letter_channel(client, suomifi)
    recipient = letter_recipient(client, channel)
    localize = Localizer(client.language)
    context = {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "ended_at": event.at.isoformat(),
        "reason": event.reason,
        "duties_continue": event.reason in DUTIES_CONTINUE,
        "feedback_url": event.feedback_url or rules.feedback_url or "",
        "office": party_dict(state.office, office, localize, "office"),
        "provider": party_dict(state.provider, provider, localize, "provider"),
    }
    refs = {"client": client.id}
    fallback = tuple(localize.fallbacks)
    if channel == NO_CHANNEL:
        return [PlannedMessage(SERVICE_ENDED, NO_CHANNEL, recipient, context, refs, failure="no-channel",
                               name_fallback=fallback)]
    return [PlannedMessage(SERVICE_ENDED, channel, recipient, context, refs, name_fallback=fallback)]


# -- the coordinators' overview ---------------------------------------------------------------------


@dataclass(frozen=True)
class CoachOverview:
    coach_id: str | None  # None: clients without a coach
    coach_name: str
    rows: list[ClientRow]

    @property
    def overdue(self) -> int:
        return sum(1 for r in self.rows if r.overdue)


def overview(states: list[CoachingState], rules: Rules, tz: ZoneInfo, now: datetime) -> list[CoachOverview]:
    """Per coach, the active clients and their next deadline, overdue first; coaches with the most
    overdue clients first, clients without a coach last."""
    groups: dict[str | None, list[CoachingState]] = {}
    names: dict[str | None, str] = {None: ""}
    for s in states:
        if not s.active:
            continue
        cid = s.coach.id if s.coach else None
        groups.setdefault(cid, []).append(s)
        if s.coach:
            names[cid] = s.coach.name
    out = [CoachOverview(cid, names[cid], coach_rows(group, rules, tz, now)) for cid, group in groups.items()]
    return sorted(out, key=lambda o: (o.coach_id is None, -o.overdue, o.coach_name, o.coach_id or ""))


def work_queue(states: list[CoachingState], rules: Rules, now: datetime) -> list[CoachingState]:
    """Clients still without a first contact on day `first_contact_escalate_day` (oldest first)."""
    return sorted((s for s in states if escalated(s, rules, now)), key=lambda s: s.referred_at)
