"""iCalendar attachments for kickoff e-mails, built with the `icalendar` package.

**REQUEST, not PUBLISH (decision, README "The webhook contract").** A `PUBLISH`ed event is only
"a posting of an iCalendar object that may be added to a calendar" (RFC 5546 3.2.1), while
`CANCEL` is defined as "a cancellation notice of an existing event request to the affected
Attendees" (RFC 5546 3.2.5). Outlook and Gmail act on that: they process a `CANCEL` (and an
update) for an event they hold as an invitation of the mailbox's owner, matched by `UID`, and do
not reliably remove an event that was merely imported from a `PUBLISH`. So the invitation is an
iTIP `REQUEST` with the client as the only `ATTENDEE` (`ROLE=REQ-PARTICIPANT`, `RSVP=FALSE`: a
binding invitation wants no reply), and the cancellation a `CANCEL` of the same `UID` naming the
same attendee (3.2.5: "MUST include all Attendees if the entire event is cancelled").

Both carry exactly one `ORGANIZER` (RFC 5546 requires one in `REQUEST` and `CANCEL`, and in
`PUBLISH`): `mailto:` the sender address (`NOTIFIER_MAIL_FROM`) with the organisation's name
(the office the message names, else `NOTIFIER_OFFICE_NAME` in the message's language) as `CN`. The `UID` is stable per
session; `SEQUENCE` rises with every change (RFC 5545 3.8.7.4, RFC 5546 2.1.4): the invitation is
`SEQUENCE:0` plus the session's `ical_sequence` (0 today: a session's time and place cannot
change, see README), a cancellation one more. The MIME type's `method` matches `METHOD` (Outlook
needs both). Times are written in UTC (`…Z`), which every client reads the same way and which
needs no VTIMEZONE block. Registered per template with `@email_extra` (`messages/extras.py`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from icalendar import Calendar, Event, vCalAddress

from notifier.app.config import Settings
from notifier.messages.model import Message
from notifier.messages.extras import email_extra
from notifier.messages.render import Attachment, EmailContent

REQUEST = "REQUEST"
CANCEL = "CANCEL"


def session_uid(session_id: str, settings: Settings) -> str:
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    return f"kickoff-{session_id}@{domain}"


def organizer(message: Message, settings: Settings) -> vCalAddress:
    """The one `ORGANIZER`: the sender address, named after the organisation that invites."""
    office = message.context.get("office") or {}
    name = (office.get("name") if isinstance(office, dict) else None) or settings.office.name.text(message.language)
    who = vCalAddress(f"mailto:{settings.mail_from}")
    who.params["CN"] = name
    return who


def attendee(message: Message) -> vCalAddress | None:
    """The invited client (no name: the address is enough for the calendar to match it)."""
    if not message.recipient.email:
        return None
    who = vCalAddress(f"mailto:{message.recipient.email}")
    who.params["CUTYPE"] = "INDIVIDUAL"
    who.params["ROLE"] = "REQ-PARTICIPANT"
    who.params["PARTSTAT"] = "NEEDS-ACTION"
    who.params["RSVP"] = "FALSE"
    return who


def sequence(message: Message, *, cancel: bool) -> int:
    """Raised on every change of the event: each reschedule (`ical_sequence`), and the cancellation."""
    base = int(message.context.get("ical_sequence") or 0)
    return base + 1 if cancel else base


def kickoff_calendar(message: Message, content: EmailContent, settings: Settings, *, cancel: bool = False) -> bytes:
    ctx = message.context
    cal = Calendar()
    cal.add("prodid", "-//notifier//kickoff info session//EN")
    cal.add("version", "2.0")
    cal.add("method", CANCEL if cancel else REQUEST)
    event = Event()
    event.add("uid", session_uid(ctx["session_id"], settings))
    event.add("dtstamp", message.created_at.astimezone(timezone.utc))
    event.add("dtstart", datetime.fromisoformat(ctx["starts_at"]).astimezone(timezone.utc))
    event.add("dtend", datetime.fromisoformat(ctx["ends_at"]).astimezone(timezone.utc))
    event.add("summary", content.subject)
    event.add("location", ctx["location"]["address"])
    event.add("description", content.text)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("sequence", sequence(message, cancel=cancel))
    event.add("organizer", organizer(message, settings))
    who = attendee(message)
    if who is not None:
        event.add("attendee", who)
    cal.add_component(event)
    return cal.to_ical()


def _attach(content: EmailContent, data: bytes, method: str) -> EmailContent:
    attachment = Attachment("kickoff.ics", f"text/calendar; charset=utf-8; method={method}", data)
    return replace(content, attachments=content.attachments + (attachment,))


@email_extra("kickoff-invitation")
def invitation_extra(message: Message, content: EmailContent, settings: Settings) -> EmailContent:
    return _attach(content, kickoff_calendar(message, content, settings), REQUEST)


@email_extra("kickoff-cancelled")
def cancellation_extra(message: Message, content: EmailContent, settings: Settings) -> EmailContent:
    return _attach(content, kickoff_calendar(message, content, settings, cancel=True), CANCEL)
