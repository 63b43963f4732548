"""Issue 13's "done means" for the referral: each language names the authority in that language,
in the e-mail and in the PDF letter, and no text names a closed body, a trial, or Kela."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from channels.letter import render_pdf
from notifier.casework.addressing import Address
from notifier.casework.names import Bilingual
from notifier.app.config import Settings
from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
from notifier.casework.events import Client, ClientReferred, Party
from notifier.messages.letters import compose_letter
from notifier.casework.referral import Defaults, plan_referral
from notifier.messages.render import Renderer
from tests.texts.test_glossary import problems

AREA = Bilingual("Turun seudun työllisyysalue", "Åbonejdens sysselsättningsområde")
OFFICE = Party(AREA, "02 262 3000")
PROVIDER = Party("Työelämän Infopiste Oy", "02 123 4567")
WHEN = datetime(2026, 11, 30, 7, tzinfo=timezone.utc)
ADDRESS = Address("Slottsgatan 3", "20100", "Åbo")


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATE_DIR, LOCALE_DIR, ZoneInfo("Europe/Helsinki"))


def planned(language: str, **client):
    defaults = Defaults(office=Party("Työllisyyspalvelut"), provider=Party("Palveluntuottaja"))
    event = ClientReferred(Client("C-1", "Åsa", "Öberg", language, **client), WHEN, OFFICE, PROVIDER)
    [message] = plan_referral(event, defaults)
    return message


@pytest.mark.parametrize("language,own,other", [("fi", AREA.fi, AREA.sv), ("sv", AREA.sv, AREA.fi)])
def test_email_names_the_authority_in_the_clients_language(renderer, language, own, other):
    message = planned(language, email="asa@example.fi")
    content = renderer.email(message.template, language, message.context)
    assert own in content.text and other not in content.text and message.name_fallback == ()
    assert not problems(content.subject + "\n" + content.text, language)


@pytest.mark.parametrize("language,own,other", [("fi", AREA.fi, AREA.sv), ("sv", AREA.sv, AREA.fi)])
def test_letter_names_the_authority_in_the_clients_language(renderer, language, own, other):
    message = planned(language, address=ADDRESS)
    letter = compose_letter(renderer, Settings(), message_id="5e1f0000-0000-0000-0000-000000000013",
                            template=message.template, language=language, context=message.context,
                            recipient={"name": "Åsa Öberg", "address": ADDRESS.to_dict()}, today=date(2026, 11, 30))
    assert letter.sender.name == own
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(letter).data)).pages)
    flat = " ".join(text.split())
    assert own in flat and other not in flat
    assert not problems(flat, language)
