"""Every client SMS fits in 2 GSM-7 parts in Finnish and Swedish with realistic long values.

The values go through planning as a case system sends them (names and places in both languages,
a double-barrelled staff name, the full street address, a 10-digit phone, Thursday's Swedish
"tors"), so the test measures what is sent. A name with a letter outside GSM-7 makes the message
UCS-2; it must still fit in 4 parts (README, "The SMS channel").
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from channels.sms import count_parts
from notifier.casework.names import Bilingual
from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
from notifier.casework.events import (
    Client,
    KickoffAttendance,
    KickoffCancelled,
    KickoffScheduled,
    KickoffSession,
    Location,
    Party,
    SessionStaff,
)
from notifier.messages.model import SMS
from notifier.kickoff.planning import (
    CANCELLATION_SMS,
    INVITATION_SMS,
    NO_SHOW,
    REMINDER,
    plan_attendance,
    plan_cancellation,
    plan_scheduled,
)
from notifier.kickoff.model import KickoffState
from notifier.messages.render import Renderer

TZ = ZoneInfo("Europe/Helsinki")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
# Thursday: the longest Swedish weekday abbreviation ("tors"); the next session a Thursday too.
STARTS = datetime(2026, 12, 3, 9, 0, tzinfo=TZ)
NEXT = datetime(2026, 12, 10, 12, 30, tzinfo=TZ)

OFFICE = Party(Bilingual("Turun seudun työllisyysalue", "Åbonejdens sysselsättningsområde"), "0402345678")
PROVIDER = Party(Bilingual("Työelämän Infopiste Oy", "Arbetslivets Infopunkt Ab"), "0409876543")
LOCATION = Location(Bilingual("Työnvälityspiste", "Arbetsförmedlingspunkten"),
                    Bilingual("Ratapihankatu 36 B 12", "Bangårdsgatan 36 B 12"), "20100", Bilingual("Turku", "Åbo"))
LONG_STAFF = "Anna-Kaisa Virtanen-Lindqvist"

#: Whom the SMS names: the session's staff member, else the provider, else the authority.
CONTACTS = {
    "staff": dict(staff_phone="0401234567", provider=PROVIDER),
    "provider": dict(staff_phone=None, provider=PROVIDER),
    "office": dict(staff_phone=None, provider=Party(PROVIDER.name)),
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATE_DIR, LOCALE_DIR, TZ)


def client(language: str) -> Client:
    return Client("C-1", "Anna-Liisa", "Virtanen-Lindqvist", language, phone="040 765 4321")


def session(staff_name: str, staff_phone: str | None) -> KickoffSession:
    staff = SessionStaff("S-1", staff_name, "staff@example.fi", "fi", staff_phone)
    return KickoffSession("S-2026-12-03-TKU", STARTS, datetime(2026, 12, 3, 11, 0, tzinfo=TZ), "turku", LOCATION, staff)


def sms_bodies(renderer: Renderer, language: str, contact: str, staff_name: str = LONG_STAFF) -> dict[str, str]:
    """Each client SMS template, planned and rendered for one client in `language`."""
    args = CONTACTS[contact]
    s, provider, c = session(staff_name, args["staff_phone"]), args["provider"], client(language)
    scheduled = plan_scheduled(KickoffScheduled(s, (c,)), None, OFFICE, TZ, NOW, provider)
    state: KickoffState = scheduled.state
    attendance = plan_attendance(KickoffAttendance(s.id, (), NEXT), state, OFFICE, provider)
    cancelled = plan_cancellation(KickoffCancelled(s.id), state, OFFICE, NOW, provider)
    # The invitation goes by SMS to a client without e-mail; the cancellation too.
    planned = scheduled.messages + attendance.messages + cancelled.messages
    out = {m.template: renderer.text(m.template, language, m.context) for m in planned if m.channel == SMS}
    assert set(out) == {INVITATION_SMS, REMINDER, NO_SHOW, CANCELLATION_SMS}
    return out


@pytest.mark.parametrize("contact", list(CONTACTS))
@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize("template", [INVITATION_SMS, REMINDER, NO_SHOW, CANCELLATION_SMS])
def test_sms_fits_two_gsm7_parts(renderer, template, language, contact):
    body = sms_bodies(renderer, language, contact)[template]
    encoding, parts = count_parts(body)
    assert encoding == "GSM-7", body
    assert parts <= 2, (len(body), body)


@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize("template", [INVITATION_SMS, REMINDER, NO_SHOW, CANCELLATION_SMS])
def test_a_name_outside_gsm7_still_fits_four_ucs2_parts(renderer, template, language):
    body = sms_bodies(renderer, language, "staff", staff_name="Šárka Žukauskienė-Virtanen")[template]
    encoding, parts = count_parts(body)
    assert encoding == "UCS-2", body
    assert parts <= 4, (len(body), body)


def test_swedish_sms_gets_the_swedish_forms_of_places(renderer):
    bodies = sms_bodies(renderer, "sv", "staff")
    assert "Arbetsförmedlingspunkten, Bangårdsgatan 36 B 12, Åbo" in bodies[INVITATION_SMS]
    assert "Ratapihankatu" not in bodies[INVITATION_SMS] and "Turku" not in bodies[INVITATION_SMS]
    assert "Työnvälityspiste, Ratapihankatu 36 B 12, Turku" in sms_bodies(renderer, "fi", "staff")[INVITATION_SMS]


@pytest.mark.parametrize("language,may", [("fi", r"\bvoi vaikuttaa\b"), ("sv", r"\bkan (\w+ )?påverka\b")])
@pytest.mark.parametrize("contact,number", [("staff", "0401234567"), ("provider", "0409876543"),
                                            ("office", "0402345678")])
def test_no_show_sms_gives_a_number_and_says_may(renderer, language, may, contact, number):
    body = sms_bodies(renderer, language, contact)[NO_SHOW]
    assert number in body and re.search(may, body), body
