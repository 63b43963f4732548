"""The kickoff calendar files, read back by two independent iCalendar implementations: `icalendar`
(which writes them) and `vobject`, checked against what RFC 5546 asks of REQUEST and CANCEL."""

from __future__ import annotations

from datetime import datetime, timezone

import vobject
from icalendar import Calendar

from notifier.app.config import Party, Settings
from notifier.kickoff.ical import cancellation_extra, invitation_extra
from notifier.messages.model import Message, Recipient
from notifier.messages.render import EmailContent

SETTINGS = Settings(mail_from="alkuinfo@tyollisyys.example", office=Party("Turun seudun työllisyysalue"))
CREATED = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)


def _message(template: str, office: str | None = "Turun seudun työllisyysalue, Turku", sequence: int | None = None):
    context = {"session_id": "S-2026-12-03-TKU", "starts_at": "2026-12-03T09:00:00+02:00",
               "ends_at": "2026-12-03T11:00:00+02:00",
               "location": {"address": "Työnvälityspiste, Ratapihankatu 36, 20100 Turku"}}
    if office is not None:
        context["office"] = {"name": office, "phone": "", "email": ""}
    if sequence is not None:
        context["ical_sequence"] = sequence
    return Message(id="m-1", template=template, channel="email", language="fi", status="created",
                   recipient=Recipient(name="Matti Meikäläinen", language="fi", email="matti@example.fi"),
                   context=context, refs={}, created_at=CREATED)


def _ics(extra, message) -> tuple[str, bytes]:
    content = EmailContent(subject="Kutsu alkuinfoon", text="Tervetuloa, Matti.", html="", language="fi")
    [attachment] = extra(message, content, SETTINGS).attachments
    return attachment.content_type, attachment.data


def test_invitation_is_a_request_with_one_organizer_and_the_client_as_attendee():
    content_type, data = _ics(invitation_extra, _message("kickoff-invitation"))
    assert content_type.endswith("method=REQUEST")
    # icalendar
    cal = Calendar.from_ical(data)
    assert str(cal["method"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    organizers = [line for line in data.decode().replace("\r\n ", "").splitlines() if line.startswith("ORGANIZER")]
    assert len(organizers) == 1
    assert str(event["organizer"]) == "mailto:alkuinfo@tyollisyys.example"
    assert event["organizer"].params["CN"] == "Turun seudun työllisyysalue, Turku"
    assert event["attendee"].params["RSVP"] == "FALSE" and event["attendee"].params["ROLE"] == "REQ-PARTICIPANT"
    assert event.decoded("sequence") == 0
    # vobject, independently
    parsed = vobject.readOne(data.decode())
    assert parsed.method.value == "REQUEST"
    vevent = parsed.vevent
    assert len(vevent.contents["organizer"]) == 1
    assert vevent.organizer.value == "mailto:alkuinfo@tyollisyys.example"
    assert vevent.organizer.params["CN"] == ["Turun seudun työllisyysalue, Turku"]
    assert vevent.attendee.value == "mailto:matti@example.fi" and vevent.attendee.params["RSVP"] == ["FALSE"]
    assert vevent.uid.value == "kickoff-S-2026-12-03-TKU@tyollisyys.example"
    assert vevent.dtstart.value == datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)
    assert vevent.dtend.value == datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
    assert vevent.sequence.value == "0" and vevent.status.value == "CONFIRMED"


def test_cancellation_keeps_the_uid_and_raises_the_sequence():
    _, invitation = _ics(invitation_extra, _message("kickoff-invitation"))
    content_type, data = _ics(cancellation_extra, _message("kickoff-cancelled"))
    assert content_type.endswith("method=CANCEL")
    first, cancel = vobject.readOne(invitation.decode()).vevent, vobject.readOne(data.decode())
    assert cancel.method.value == "CANCEL"
    assert cancel.vevent.uid.value == first.uid.value
    assert int(cancel.vevent.sequence.value) > int(first.sequence.value)
    assert cancel.vevent.status.value == "CANCELLED"
    assert len(cancel.vevent.contents["organizer"]) == 1 and cancel.vevent.attendee.value == "mailto:matti@example.fi"
    [event] = Calendar.from_ical(data).walk("VEVENT")
    assert event.decoded("sequence") == 1 and str(event["organizer"]) == "mailto:alkuinfo@tyollisyys.example"


def test_every_change_raises_the_sequence_and_the_organisation_defaults_to_the_setting():
    _, rescheduled = _ics(invitation_extra, _message("kickoff-invitation", office=None, sequence=2))
    _, cancelled = _ics(cancellation_extra, _message("kickoff-cancelled", office=None, sequence=2))
    assert vobject.readOne(rescheduled.decode()).vevent.sequence.value == "2"
    event = vobject.readOne(cancelled.decode()).vevent
    assert event.sequence.value == "3" and event.organizer.params["CN"] == ["Turun seudun työllisyysalue"]
