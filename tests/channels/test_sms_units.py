"""SMS without I/O: part counting, phone normalisation, the SMS templates' length and encoding."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from channels.sms import GatewayApiSms, OutgoingSms, count_parts
from notifier.messages.compose import Composer
from notifier.app.config import Settings
from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
from notifier.messages.model import SMS, Message, Recipient
from notifier.phones import callable_e164, mobile_e164
from notifier.messages.render import Renderer

TZ = ZoneInfo("Europe/Helsinki")


# -- count_parts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", ("GSM-7", 1)),
    ("a" * 160, ("GSM-7", 1)),
    ("a" * 161, ("GSM-7", 2)),
    ("a" * 306, ("GSM-7", 2)),
    ("a" * 307, ("GSM-7", 3)),
    ("äöåÄÖÅ" * 26 + "ab", ("GSM-7", 1)),  # Finnish and Swedish letters are in the basic alphabet
    ("€" * 80, ("GSM-7", 1)),  # 160 septets: the euro sign takes two
    ("€" * 81, ("GSM-7", 2)),
    ("a" * 159 + "€", ("GSM-7", 2)),  # 161 septets
    ("a" * 158 + "€", ("GSM-7", 1)),
    ("^{}[]~|\\" + "a" * 144, ("GSM-7", 1)),  # 8 escapes = 16 septets + 144 = 160
    ("š", ("UCS-2", 1)),
    ("š" * 70, ("UCS-2", 1)),
    ("š" * 71, ("UCS-2", 2)),
    ("š" * 134, ("UCS-2", 2)),
    ("š" * 135, ("UCS-2", 3)),
    ("a" * 69 + "š", ("UCS-2", 1)),  # one non-GSM character makes all of it UCS-2
    ("a" * 70 + "š", ("UCS-2", 2)),
    ("Hinta 5 € – kiitos", ("UCS-2", 1)),  # the en dash forces UCS-2, the euro sign alone does not
    ("“lainausmerkit”", ("UCS-2", 1)),
    ("ç", ("UCS-2", 1)),  # only the capital Ç is in GSM-7
    ("Ç", ("GSM-7", 1)),
    ("😀" * 35, ("UCS-2", 1)),  # 70 UTF-16 code units
    ("😀" * 36, ("UCS-2", 2)),
])
def test_count_parts(text, expected):
    assert count_parts(text) == expected


def test_escape_pair_is_never_split_between_parts():
    # 152 + 2 + 152 = 306 septets would fit two parts of 153 if the euro sign could be split;
    # it cannot, so the second part starts with it and a third part is needed.
    assert count_parts("a" * 152 + "€" + "a" * 152) == ("GSM-7", 3)
    assert count_parts("a" * 151 + "€" + "a" * 153) == ("GSM-7", 2)


def test_surrogate_pair_is_never_split_between_parts():
    assert count_parts("a" * 66 + "😀" + "a" * 66) == ("UCS-2", 3)  # 134 units, but the pair cannot straddle
    assert count_parts("a" * 65 + "😀" + "a" * 67) == ("UCS-2", 2)


# -- phone numbers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("050-123 4567", "+358501234567"),
    ("+358 40 1234567", "+358401234567"),
    ("0401234567", "+358401234567"),
    ("040 1234567", "+358401234567"),
    ("045 1234567", "+358451234567"),
    ("+46 70 123 45 67", "+46701234567"),  # a Swedish mobile is a mobile too
    ("02 123 4567", None),  # Turku landline: cannot take an SMS
    ("0295 044 000", None),  # a service number
    ("04012", None),
    ("not a number", None),
    ("", None),
    (None, None),
])
def test_mobile_e164(raw, expected):
    assert mobile_e164(raw) == expected


def test_landline_is_still_callable():
    assert callable_e164("02 123 4567") == "+35821234567"
    assert callable_e164("nonsense") is None


# -- SMS templates ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATE_DIR, LOCALE_DIR, TZ)


def worst_case_context(with_next: bool = True) -> dict:
    # Thursday has the longest Swedish weekday abbreviation (tors); a long office phone number.
    return {
        "session_id": "S-2026-12-03-TKU", "message_id": "m", "public_url": "http://x",
        "starts_at": "2026-12-03T09:00:00+02:00", "ends_at": "2026-12-03T11:00:00+02:00",
        "next_session_starts_at": "2026-12-10T12:30:00+02:00" if with_next else None,
        "location": {"name": "Työnvälityspiste", "street": "Ratapihankatu 36", "postal_code": "20100",
                     "city": "Turku", "address": "Työnvälityspiste, Ratapihankatu 36, 20100 Turku"},
        "contact": {"name": "Turun seudun työllisyysalue", "phone": "+358 2 262 3000"},
        "office": {"name": "Turun seudun työllisyysalue", "phone": "+358 2 262 3000", "email": ""},
        "first_name": "Anna-Liisa", "last_name": "Virtanen",
    }


@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize("with_next", [True, False])
def test_no_show_sms_fits_two_gsm7_parts(renderer, language, with_next):
    body = renderer.text("kickoff-no-show", language, worst_case_context(with_next))
    encoding, parts = count_parts(body)
    assert encoding == "GSM-7", body
    assert parts <= 2, (len(body), body)
    assert ("10.12.2026" in body) is with_next


@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize("template", ["kickoff-invitation-sms", "kickoff-reminder", "kickoff-cancelled-sms"])
def test_sms_templates_stay_gsm7_for_gsm7_data(renderer, language, template):
    body = renderer.text(template, language, worst_case_context())
    assert count_parts(body)[0] == "GSM-7", body
    assert count_parts(body)[1] <= 3


def test_no_show_wording(renderer):
    fi = renderer.text("kickoff-no-show", "fi", worst_case_context())
    sv = renderer.text("kickoff-no-show", "sv", worst_case_context())
    assert "to 3.12.2026" in fi and "velvoittava" in fi and "to 10.12.2026 klo 12.30" in fi and "työttömyysetuu" in fi
    assert "tors 3.12.2026" in sv and "obligatorisk" in sv and "tors 10.12.2026 kl. 12.30" in sv and "arbetslöshetsförmån" in sv
    assert "+358 2 262 3000" in fi and "+358 2 262 3000" in sv


# -- composition ----------------------------------------------------------------------------------------

def _sms_message(template: str, phone: str | None, context: dict, language: str = "fi") -> Message:
    return Message(id="m-1", template=template, channel=SMS, language=language, status="sending",
                   created_at=datetime.now(timezone.utc), recipient=Recipient("Šárka Nováková", language, phone=phone),
                   context=context, refs={})


def test_composed_sms_body_is_the_counted_body(renderer):
    composer = Composer(Settings(sms_sender="Tyollisyys"), renderer)
    context = worst_case_context()
    context["location"] = {**context["location"], "name": "Škola", "street": "Žitná 5",
                           "address": "Škola, Žitná 5"}  # forces UCS-2
    sms = composer.compose(_sms_message("kickoff-reminder", "+358401234567", context))
    assert isinstance(sms, OutgoingSms)
    assert sms.to == "+358401234567" and sms.sender == "Tyollisyys"
    assert "Škola" in sms.body  # not rewritten to fit GSM-7
    assert (sms.encoding, sms.segments) == count_parts(sms.body) and sms.encoding == "UCS-2"


def test_sms_without_phone_cannot_be_composed(renderer):
    from notifier.messages.compose import CannotCompose

    composer = Composer(Settings(), renderer)
    with pytest.raises(CannotCompose) as exc:
        composer.compose(_sms_message("kickoff-reminder", None, worst_case_context()))
    assert exc.value.reason == "no-phone-number"


def test_gatewayapi_request_body():
    channel = GatewayApiSms("https://gw.example", "tok", callback_url="https://n.example/webhooks/sms-status?token=s")
    gsm = channel.request_body("m-1", OutgoingSms("+358401234567", "Tyollisyys", "Hei", "GSM-7", 1))
    assert gsm == {"sender": "Tyollisyys", "message": "Hei", "recipients": [{"msisdn": 358401234567}],
                   "userref": "m-1", "callback_url": "https://n.example/webhooks/sms-status?token=s"}
    ucs = channel.request_body("m-2", OutgoingSms("+358401234567", "Tyollisyys", "Šárka", "UCS-2", 1))
    assert ucs["encoding"] == "UCS2"
    assert "callback_url" not in GatewayApiSms("https://gw.example", "tok").request_body(
        "m-3", OutgoingSms("+358401234567", "X", "Hei", "GSM-7", 1))


def test_sms_sender_is_validated_at_startup():
    from notifier.app.config import ConfigError

    with pytest.raises(ConfigError, match="NOTIFIER_SMS_SENDER"):
        Settings.from_env({"NOTIFIER_SMS_SENDER": "Tyollisyys-X"})
    with pytest.raises(ConfigError, match="NOTIFIER_SMS_TOKEN"):
        Settings.from_env({"NOTIFIER_SMS_BACKEND": "gatewayapi"})
    assert Settings.from_env({"NOTIFIER_SMS_SENDER": "TEpalvelut1"}).sms_sender == "TEpalvelut1"
