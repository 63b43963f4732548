"""Planning for kickoff info sessions (alkuinfo): invitations, reminders, no-shows, call prompts.

Pure functions over plain dataclasses, like `planning.py`: they take the event, what is stored
about the session (`KickoffState`), the clock reading and the zone, and return what to send and
the session's next state. The handlers (`handlers_kickoff.py`) load and store; nothing here
touches Redis, the network or the clock.

Who gets what:
- invitation: by e-mail (with an iCalendar attachment) when the client has an address, else by
  SMS when they have a phone, else as a letter (PDF in the outbox) when they have a postal
  address, else recorded as `no-channel`;
- reminder SMS the day before at 16:00 local time to every invitee with a phone, unless that
  time has already passed;
- on attendance, every absent invitee not yet told gets the no-show SMS (by e-mail when they have
  no phone) and a call prompt for the session's staff member, who gets one e-mail listing the
  session's prompts. A correction only reaches the newly absent;
- on cancellation, every invitee is told on the channel their invitation used.
An SMS to a number that is not a valid mobile number is recorded as `invalid-phone`.
Names and places reach each recipient in their language (`casework/names.py`); the number to call
is the session's staff member's, else the provider's, else the authority's (`contact_for`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from notifier.casework.events import (
    Client,
    KickoffAttendance,
    KickoffCancelled,
    KickoffScheduled,
    KickoffSession,
    Party,
)
from notifier.casework.names import Localizer
from notifier.messages.model import EMAIL, LETTER, NO_CHANNEL, SMS, PlannedMessage, Recipient
from notifier.phones import callable_e164, mobile_e164
from notifier.validation import FieldError, Invalid
from notifier.kickoff.model import KickoffState, PlannedPrompt
from notifier.kickoff.model import CANCELLED

INVITATION = "kickoff-invitation"
INVITATION_SMS = "kickoff-invitation-sms"
REMINDER = "kickoff-reminder"
NO_SHOW = "kickoff-no-show"
NO_SHOW_EMAIL = "kickoff-no-show-email"
CANCELLATION = "kickoff-cancelled"
CANCELLATION_SMS = "kickoff-cancelled-sms"
CALL_PROMPTS = "kickoff-call-prompts"
CALL_SCRIPT = "kickoff-call-script"

#: Reminders go out the day before the session at this local hour.
REMINDER_HOUR = 16



@dataclass(frozen=True)
class KickoffPlan:
    messages: list[PlannedMessage]
    state: KickoffState
    prompts: list[PlannedPrompt] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)  # reminder message ids to move to cancelled


# -- small helpers --------------------------------------------------------------------------------


def contact_for(session: KickoffSession, office: Party, provider: Party | None = None,
                localize: Localizer | None = None) -> dict[str, str]:
    """Whom a client calls when prevented or to agree another time, always with a number when
    there is one: the session's staff member when the event gives their phone, else the provider
    (the session's, else the configured one) when it has a phone, else the authority."""
    localize = localize or Localizer("fi")
    if session.staff.phone:
        return {"name": session.staff.name, "phone": session.staff.phone}
    provider = session.provider or provider
    if provider is not None and provider.phone:
        return {"name": localize(provider.name, "provider.name"), "phone": provider.phone}
    return {"name": localize(office.name, "office.name"), "phone": office.phone or ""}


def session_context(session: KickoffSession, office: Party, language: str = "fi",
                    provider: Party | None = None) -> dict[str, Any]:
    """What the session's templates read, with names and places in `language`. The fields given
    only in the other language are listed under `name_fallback` (taken out into the message)."""
    loc = session.location
    localize = Localizer(language)
    host = session.provider or provider
    context = {
        "session_id": session.id,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "location": {"name": localize(loc.name, "location.name"), "street": localize(loc.street, "location.street"),
                     "postal_code": loc.postal_code or "", "city": localize(loc.city, "location.city"),
                     "address": loc.address_in(language)},
        "contact": contact_for(session, office, provider, localize),
        "office": {"name": localize(office.name, "office.name"), "phone": office.phone or "",
                   "email": office.email or ""},
        # Who calls an absent client: the session's staff member, for the provider holding it.
        "calling": {"name": session.staff.name,
                    "organisation": localize(host.name, "provider.name") if host else ""},
    }
    context["name_fallback"] = tuple(localize.fallbacks)
    return context


class _Contexts:
    """`session_context` once per language, for the messages of one plan."""

    def __init__(self, session: KickoffSession, office: Party, provider: Party | None,
                 extra: dict[str, Any] | None = None) -> None:
        self._args = (session, office, provider)
        self._extra = extra or {}
        self._cache: dict[str, dict[str, Any]] = {}

    def __getitem__(self, language: str) -> dict[str, Any]:
        if language not in self._cache:
            session, office, provider = self._args
            self._cache[language] = {**session_context(session, office, language, provider), **self._extra}
        return self._cache[language]


def reminder_at(starts_at: datetime, tz: ZoneInfo) -> datetime:
    """16:00 local time on the day before the session, in UTC."""
    day = starts_at.astimezone(tz).date() - timedelta(days=1)
    return datetime.combine(day, time(REMINDER_HOUR), tzinfo=tz).astimezone(timezone.utc)


def _refs(client: Client, session: KickoffSession) -> dict[str, str]:
    return {"client": client.id, "session": session.id}


def _client_context(client: Client, bases: "_Contexts") -> dict[str, Any]:
    return {**bases[client.language], "first_name": client.first_name, "last_name": client.last_name}


def _planned(template: str, channel: str, recipient: Recipient, context: dict[str, Any], refs: dict[str, str],
             **kwargs: Any) -> PlannedMessage:
    """A PlannedMessage; the context's `name_fallback` becomes the message's (not the template's)."""
    context = dict(context)
    fallback = tuple(context.pop("name_fallback", ()))
    return PlannedMessage(template, channel, recipient, context, refs, name_fallback=fallback, **kwargs)


def sms_message(template: str, client: Client, context: dict[str, Any], refs: dict[str, str],
                send_at: datetime | None = None) -> PlannedMessage:
    """An SMS to the client's phone, or a record of why it cannot go (`invalid-phone`)."""
    to = mobile_e164(client.phone)
    recipient = Recipient(name=client.name, language=client.language, phone=to)
    return _planned(template, SMS, recipient, context, refs, send_at=send_at,
                    failure=None if to else "invalid-phone")


def email_message(template: str, client: Client, context: dict[str, Any], refs: dict[str, str]) -> PlannedMessage:
    recipient = Recipient(name=client.name, language=client.language, email=client.email)
    return _planned(template, EMAIL, recipient, context, refs)


def no_channel(template: str, client: Client, context: dict[str, Any], refs: dict[str, str]) -> PlannedMessage:
    recipient = Recipient(name=client.name, language=client.language)
    return _planned(template, NO_CHANNEL, recipient, context, refs, failure="no-channel")


def _by_email_or_sms(email_template: str, sms_template: str, client: Client, context: dict[str, Any],
                     refs: dict[str, str]) -> PlannedMessage:
    if client.email:
        return email_message(email_template, client, context, refs)
    if client.phone:
        return sms_message(sms_template, client, context, refs)
    return no_channel(email_template, client, context, refs)


def _by_email_sms_or_letter(email_template: str, sms_template: str, client: Client, context: dict[str, Any],
                            refs: dict[str, str]) -> PlannedMessage:
    """As `_by_email_or_sms`, but a client with neither e-mail nor phone and a postal address gets
    the e-mail template as a letter: a PDF in the outbox for manual posting (issue 6)."""
    if not client.email and not client.phone and client.address is not None:
        recipient = Recipient(name=client.name, language=client.language, address=client.address.to_dict())
        return _planned(email_template, LETTER, recipient, context, refs)
    return _by_email_or_sms(email_template, sms_template, client, context, refs)


# -- kickoff.scheduled ------------------------------------------------------------------------------


def plan_invitations(session: KickoffSession, invitees: tuple[Client, ...], office: Party, tz: ZoneInfo,
                     now: datetime, provider: Party | None = None) -> list[PlannedMessage]:
    """Invitation per invitee, and the reminder SMS the day before when it is still ahead."""
    base = _Contexts(session, office, provider)
    remind_at = reminder_at(session.starts_at, tz)
    messages: list[PlannedMessage] = []
    for client in invitees:
        context, refs = _client_context(client, base), _refs(client, session)
        messages.append(_by_email_sms_or_letter(INVITATION, INVITATION_SMS, client, context, refs))
        if client.phone and remind_at > now:
            messages.append(sms_message(REMINDER, client, context, refs, send_at=remind_at))
    return messages


def plan_scheduled(event: KickoffScheduled, existing: KickoffState | None, office: Party, tz: ZoneInfo,
                   now: datetime, provider: Party | None = None) -> KickoffPlan:
    """A new session invites everyone; the same session again invites only invitees it did not
    have (and keeps the latest contact details of the others). A changed time or place is not an
    update: the case system cancels the session and schedules a new one."""
    session = event.session
    if session.starts_at <= now:
        raise Invalid([FieldError("data.session.starts_at", "is in the past; invitations would be late")])
    if existing is None:
        state = KickoffState(session, event.invitees)
        return KickoffPlan(plan_invitations(session, event.invitees, office, tz, now, provider), state)
    if existing.status == CANCELLED:
        raise Invalid([FieldError("data.session.id", "this session was cancelled; schedule a new session with a new id")])
    old = existing.session
    for name, before, after in (("starts_at", old.starts_at, session.starts_at), ("ends_at", old.ends_at, session.ends_at),
                                ("location", old.location, session.location)):
        if before != after:
            raise Invalid([FieldError(f"data.session.{name}", "differs from the session already scheduled with this id; "
                                                              "cancel it and schedule a new one")])
    known = {c.id for c in existing.invitees}
    added = tuple(c for c in event.invitees if c.id not in known)
    latest = {c.id: c for c in event.invitees}
    invitees = tuple(latest.get(c.id, c) for c in existing.invitees) + added
    state = replace(existing, session=session, invitees=invitees)
    return KickoffPlan(plan_invitations(session, added, office, tz, now, provider), state)


# -- kickoff.attendance -----------------------------------------------------------------------------


def plan_attendance(event: KickoffAttendance, state: KickoffState, office: Party,
                    provider: Party | None = None) -> KickoffPlan:
    """No-show message and call prompt for every absent invitee not yet told; one e-mail to the
    staff member listing the session's open prompts when there are new ones."""
    if state.status == CANCELLED:
        raise Invalid([FieldError("data.session_id", "this session was cancelled")])
    session = state.session
    attended = set(event.attended)
    absent = [c for c in state.invitees if c.id not in attended]
    base = _Contexts(session, office, provider, {
        "next_session_starts_at": event.next_session_starts_at.isoformat() if event.next_session_starts_at else None})

    messages: list[PlannedMessage] = []
    newly_told: set[str] = set()
    for client in absent:
        if client.id in state.notified:
            continue
        newly_told.add(client.id)
        context, refs = _client_context(client, base), _refs(client, session)
        if client.phone:
            sms = sms_message(NO_SHOW, client, context, refs)
            messages.append(sms)
            if sms.failure and client.email:
                # The number cannot take an SMS: the message matters enough to go by e-mail too.
                messages.append(email_message(NO_SHOW_EMAIL, client, context, refs))
        elif client.email:
            messages.append(email_message(NO_SHOW_EMAIL, client, context, refs))
        else:
            messages.append(no_channel(NO_SHOW, client, context, refs))

    prompts = [
        PlannedPrompt(c.id, c.name, c.first_name, c.language, callable_e164(c.phone) or c.phone,
                      {k: base[c.language][k] for k in ("session_id", "starts_at", "next_session_starts_at", "contact",
                                                         "calling")})
        for c in absent if c.id not in state.prompts
    ]
    if prompts:
        messages.append(call_prompts_email(state, absent, {p.client_id for p in prompts}, base, office))

    next_state = replace(
        state,
        notified=state.notified | newly_told,
        absent=tuple(c.id for c in absent),
        attendance_count=state.attendance_count + 1,
    )
    return KickoffPlan(messages, next_state, prompts)


def call_prompts_email(state: KickoffState, absent: list[Client], new: set[str], bases: "_Contexts",
                       office: Party) -> PlannedMessage:
    """One e-mail to the session's staff member, in *their* language, listing every absent client."""
    staff = state.session.staff
    rows = [{"name": c.name, "phone": callable_e164(c.phone) or c.phone or "", "language": c.language,
             "new": c.id in new} for c in absent]
    context = {**bases[staff.language], "first_name": staff.name.split()[0], "prompts": rows,
               "correction": state.attendance_count > 0, "new_count": len(new)}
    recipient = Recipient(name=staff.name, language=staff.language, email=staff.email)
    return _planned(CALL_PROMPTS, EMAIL, recipient, context, {"staff": staff.id, "session": state.session.id})


# -- kickoff.cancelled ------------------------------------------------------------------------------


def plan_cancellation(event: KickoffCancelled, state: KickoffState, office: Party, now: datetime,
                      provider: Party | None = None) -> KickoffPlan:
    """Tell every invitee on their invitation's channel and drop the pending reminders.
    A second cancellation does nothing; a session that has taken place cannot be cancelled."""
    if state.status == CANCELLED:
        return KickoffPlan([], state)
    if state.attendance_count or state.session.starts_at <= now:
        raise Invalid([FieldError("data.session_id", "this session has already taken place")])
    session = state.session
    base = _Contexts(session, office, provider)
    messages = [
        _by_email_sms_or_letter(CANCELLATION, CANCELLATION_SMS, c, _client_context(c, base), _refs(c, session))
        for c in state.invitees
    ]
    return KickoffPlan(messages, replace(state, status=CANCELLED), cancel=list(state.reminders.values()))
