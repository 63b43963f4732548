"""iCalendar attachments for kickoff e-mails, built with the `icalendar` package.

The invitation carries the session as a `METHOD:PUBLISH` event (a binding invitation expects no
RSVP); the cancellation carries the same UID with `METHOD:CANCEL`, so calendars that imported the
invitation drop it. Times are written in UTC (`…Z`), which every client reads the same way and
which needs no VTIMEZONE block. Registered per template with `@email_extra` (`messages/extras.py`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from icalendar import Calendar, Event

from notifier.app.config import Settings
from notifier.messages.model import Message
from notifier.messages.extras import email_extra
from notifier.messages.render import Attachment, EmailContent


def session_uid(session_id: str, settings: Settings) -> str:
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    return f"kickoff-{session_id}@{domain}"


def kickoff_calendar(message: Message, content: EmailContent, settings: Settings, *, cancel: bool = False) -> bytes:
    ctx = message.context
    cal = Calendar()
    cal.add("prodid", "-//notifier//kickoff info session//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "PUBLISH")
    event = Event()
    event.add("uid", session_uid(ctx["session_id"], settings))
    event.add("dtstamp", message.created_at.astimezone(timezone.utc))
    event.add("dtstart", datetime.fromisoformat(ctx["starts_at"]).astimezone(timezone.utc))
    event.add("dtend", datetime.fromisoformat(ctx["ends_at"]).astimezone(timezone.utc))
    event.add("summary", content.subject)
    event.add("location", ctx["location"]["address"])
    event.add("description", content.text)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("sequence", 1 if cancel else 0)
    cal.add_component(event)
    return cal.to_ical()


def _attach(content: EmailContent, data: bytes, method: str) -> EmailContent:
    attachment = Attachment("kickoff.ics", f"text/calendar; charset=utf-8; method={method}", data)
    return replace(content, attachments=content.attachments + (attachment,))


@email_extra("kickoff-invitation")
def invitation_extra(message: Message, content: EmailContent, settings: Settings) -> EmailContent:
    return _attach(content, kickoff_calendar(message, content, settings), "PUBLISH")


@email_extra("kickoff-cancelled")
def cancellation_extra(message: Message, content: EmailContent, settings: Settings) -> EmailContent:
    return _attach(content, kickoff_calendar(message, content, settings, cancel=True), "CANCEL")
