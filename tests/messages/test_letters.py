"""Letters: input (personal identity code, address), the channel choice, the PDF, the outbox.

The PDFs are read back with pypdf, as a PDF reader would, in Finnish and Swedish, with a name that
needs more than Latin-1 (Š, Ž).
"""

from __future__ import annotations

import io
import json
import logging
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader
from redis.asyncio import Redis

from channels.letter import Letter, LetterParty, PostalAddress, render_pdf
from tests.support.service import referral, wait_for
from notifier.app.config import ConfigError, Settings
from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
from notifier.casework.events import ClientReferred, parse_event
from notifier.casework.addressing import Address
from notifier.messages.letters import compose_letter
from notifier.messages.model import EMAIL, LETTER, NO_CHANNEL, SUOMIFI
from notifier.casework.referral import Defaults, plan_referral, referral_letter_channel
from notifier.messages.render import Renderer
from notifier.validation import Invalid
from notifier.casework.events import Client, Party
from tests.support.suomifi import BAD_HETU, HETU

ADDRESS = {"street": "Yliopistonkatu 1 A 2", "postal_code": "20100", "city": "Turku"}
NAME = ("Šárka", "Žižková")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATE_DIR, LOCALE_DIR, Settings().timezone)


# -- input ----------------------------------------------------------------------------------------


def _event(**client):
    return {"type": "client.referred", "data": referral("C-5001", "fi", **client)}


def test_personal_id_and_address_are_read():
    event = parse_event(_event(personal_id="131052a308t", address={**ADDRESS, "country": "fi"}))
    assert event.client.personal_id == "131052A308T"
    assert event.client.address == Address("Yliopistonkatu 1 A 2", "20100", "Turku", "FI")


@pytest.mark.parametrize("client, field, value_not_echoed", [
    ({"personal_id": BAD_HETU}, "data.client.personal_id", BAD_HETU),
    ({"personal_id": "not a hetu"}, "data.client.personal_id", "not a hetu"),
    ({"address": {**ADDRESS, "postal_code": "2010"}}, "data.client.address.postal_code", None),
    ({"address": {"street": "Yliopistonkatu 1", "postal_code": "20100"}}, "data.client.address.city", None),
    ({"address": {**ADDRESS, "country": "Finland"}}, "data.client.address.country", None),
    ({"address": "Yliopistonkatu 1, 20100 Turku"}, "data.client.address", None),
])
def test_bad_personal_id_or_address_names_the_field(client, field, value_not_echoed):
    with pytest.raises(Invalid) as caught:
        parse_event(_event(**client))
    assert [e.field for e in caught.value.errors] == [field]
    if value_not_echoed:
        assert value_not_echoed not in str(caught.value)


async def test_invalid_personal_id_is_422_and_nothing_is_stored(start_service, redis_url):
    svc = await start_service(worker=False)
    status, answer = await svc.case.send("client.referred", referral("C-5002", "fi", personal_id=BAD_HETU))
    assert status == 422
    assert answer["errors"] == [{"field": "data.client.personal_id", "detail": answer["errors"][0]["detail"]}]
    assert BAD_HETU not in json.dumps(answer)
    redis = Redis.from_url(redis_url)
    try:
        assert [k async for k in redis.scan_iter("notifier:msg:*")] == []
    finally:
        await redis.aclose()


# -- choosing the channel -------------------------------------------------------------------------


def _client(**kw) -> Client:
    base = dict(id="C-1", first_name="A", last_name="B", language="fi")
    return Client(**{**base, **kw})


ADDR = Address("Yliopistonkatu 1", "20100", "Turku")


@pytest.mark.parametrize("suomifi, client, expected", [
    (True, dict(personal_id=HETU, email="a@example.fi", address=ADDR), SUOMIFI),
    (True, dict(personal_id=HETU), SUOMIFI),  # electronic only: nothing else reaches them
    (True, dict(email="a@example.fi", address=ADDR), EMAIL),  # no identity code: no Suomi.fi
    (False, dict(personal_id=HETU, email="a@example.fi", address=ADDR), EMAIL),  # not configured
    (False, dict(personal_id=HETU, address=ADDR), LETTER),
    (True, dict(address=ADDR), LETTER),
    (False, dict(phone="040 1234567"), NO_CHANNEL),
    (False, dict(personal_id=HETU), NO_CHANNEL),
])
def test_referral_letter_channel(suomifi, client, expected):
    assert referral_letter_channel(_client(**client), suomifi) == expected


def test_plan_keeps_only_what_the_chosen_channel_needs():
    defaults = Defaults(office=Party("Työllisyyspalvelut"), provider=Party("Provider"), suomifi=False)
    when = datetime(2026, 11, 30, 7, tzinfo=timezone.utc)
    [by_email] = plan_referral(ClientReferred(_client(email="a@example.fi", address=ADDR, personal_id=HETU), when), defaults)
    assert by_email.channel == EMAIL and by_email.recipient.address is None and by_email.recipient.personal_id is None
    [by_letter] = plan_referral(ClientReferred(_client(address=ADDR, personal_id=HETU), when), defaults)
    assert by_letter.channel == LETTER and by_letter.failure is None
    assert by_letter.recipient.address == ADDR.to_dict() and by_letter.recipient.personal_id is None
    suomifi = Defaults(office=Party("Työllisyyspalvelut"), provider=Party("Provider"), suomifi=True)
    [by_suomifi] = plan_referral(ClientReferred(_client(address=ADDR, personal_id=HETU), when), suomifi)
    assert by_suomifi.channel == SUOMIFI and by_suomifi.recipient.personal_id == HETU
    [nothing] = plan_referral(ClientReferred(_client(), when), suomifi)
    assert nothing.channel == NO_CHANNEL and nothing.failure == "no-channel"


# -- the PDF --------------------------------------------------------------------------------------


def _context() -> dict:
    return {
        "first_name": NAME[0], "last_name": NAME[1], "referred_at": "2026-11-30T09:00:00+02:00",
        "office": {"name": "Turun seudun työllisyysalue", "phone": "02 262 3000", "email": ""},
        "provider": {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": "info@example.fi"},
    }


def _letter(renderer: Renderer, language: str, address: dict | None = ADDRESS) -> Letter:
    settings = Settings(office_street="Ratapihankatu 36", office_postal_code="20100", office_city="Turku")
    return compose_letter(
        renderer, settings, message_id="0b7e2c1a-1111-2222-3333-444455556666", template="referral",
        language=language, context=_context(),
        recipient={"name": " ".join(NAME), "address": address}, today=date(2026, 11, 30),
    )


@pytest.mark.parametrize("language, expected", [
    ("fi", ["Sinut on ohjattu tehostettuun työnvälityspalveluun", "Hei Šárka,", "Palvelu on velvoittava",
            "työttömyysetuutta", "ma 30.11.2026", "30. marraskuuta 2026", "Päivämäärä", "Viite 0B7E2C1A",
            "Ystävällisin terveisin", "Sivu 1 / 1", "puh. 02 262 3000"]),
    ("sv", ["Du har hänvisats till den intensifierade arbetsförmedlingstjänsten", "Hej Šárka,",
            "Tjänsten är obligatorisk", "arbetslöshetsförmån", "mån 30.11.2026", "30 november 2026", "Datum",
            "Referens 0B7E2C1A", "Med vänliga hälsningar", "Sida 1 / 1", "tfn 02 262 3000"]),
])
def test_referral_letter_pdf_reads_back(renderer, language, expected):
    letter = _letter(renderer, language)
    rendered = render_pdf(letter)
    assert rendered.data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(rendered.data))
    assert len(reader.pages) == rendered.pages == 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = " ".join(pdf_text(rendered.data).split())
    for phrase in expected:
        assert phrase in text
    # Page 1: the recipient's name and address; the sender block with the office's address.
    assert "Šárka Žižková Yliopistonkatu 1 A 2 20100 TURKU" in text
    assert "Turun seudun työllisyysalue Ratapihankatu 36 20100 TURKU" in text
    # No e-mail footer in a letter.
    assert "automaattisesti" not in text and "automatiskt" not in text
    assert reader.metadata.title == letter.title


def test_font_is_embedded_and_unicode_names_print(renderer):
    letter = _letter(renderer, "fi")
    letter = Letter(**{**letter.__dict__, "recipient": LetterParty("Øystein Ørsted-Åström É. Šš Žž Œ", None)})
    rendered = render_pdf(letter)
    fonts = [f.get_object() for page in PdfReader(io.BytesIO(rendered.data)).pages
             for f in page["/Resources"]["/Font"].values()]
    descendants = [d.get_object() for f in fonts for d in f["/DescendantFonts"]]
    assert all("/FontFile2" in d["/FontDescriptor"] for d in descendants)  # embedded TrueType
    assert any("DejaVuSans" in str(d["/BaseFont"]) for d in descendants)
    assert "Øystein Ørsted-Åström É. Šš Žž Œ" in pdf_text(rendered.data)


def test_characters_outside_the_font_print_as_question_marks(renderer, caplog):
    letter = _letter(renderer, "fi")
    letter = Letter(**{**letter.__dict__, "recipient": LetterParty("王小明 Virtanen", None)})
    with caplog.at_level(logging.DEBUG):
        rendered = render_pdf(letter)
    assert "??? Virtanen" in pdf_text(rendered.data)
    assert "王" not in caplog.text


def test_decomposed_names_are_composed(renderer):
    letter = _letter(renderer, "fi")
    letter = Letter(**{**letter.__dict__, "recipient": LetterParty("S\u030ca\u0301rka Z\u030ciz\u030ckova\u0301", None)})
    assert "Šárka Žižková" in pdf_text(render_pdf(letter).data)


def test_long_letter_gets_page_numbers_on_every_page(renderer):
    letter = _letter(renderer, "fi")
    letter = Letter(**{**letter.__dict__, "paragraphs": letter.paragraphs * 4})
    rendered = render_pdf(letter)
    assert rendered.pages >= 2
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(rendered.data)).pages]
    for n, text in enumerate(pages, 1):
        assert f"Sivu {n} / {rendered.pages}" in text


def test_foreign_address_ends_with_the_country(renderer):
    letter = _letter(renderer, "sv", address={"street": "Storgatan 1", "postal_code": "111 22",
                                             "city": "Stockholm", "country": "SE"})
    assert letter.recipient.address == PostalAddress("Storgatan 1", "111 22", "Stockholm", "SE", "Sverige")
    assert "Storgatan 1\n111 22 STOCKHOLM\nSVERIGE" in pdf_text(render_pdf(letter).data)


def test_kickoff_invitation_can_be_a_letter(renderer):
    """Any e-mail template renders as a letter: here the kickoff invitation (issue 3's template)."""
    context = {
        "first_name": "Šárka", "session_id": "S-1", "starts_at": "2026-12-03T09:00:00+02:00",
        "ends_at": "2026-12-03T11:00:00+02:00",
        "location": {"name": "Työnvälityspiste", "street": "Ratapihankatu 36", "postal_code": "20100",
                     "city": "Turku", "address": "Työnvälityspiste, Ratapihankatu 36, 20100 Turku"},
        "contact": {"name": "Turun seudun työllisyysalue", "phone": "02 262 3000"},
        "office": {"name": "Turun seudun työllisyysalue", "phone": "02 262 3000", "email": ""},
    }
    letter = compose_letter(renderer, Settings(), message_id="1c0ffee0-0000-0000-0000-000000000000",
                            template="kickoff-invitation", language="fi", context=context,
                            recipient={"name": "Šárka Žižková", "address": ADDRESS})
    text = " ".join(pdf_text(render_pdf(letter).data).split())
    assert "to 3.12.2026 klo 9.00" in text and "Ratapihankatu 36" in text and "Šárka Žižková" in text


def test_letter_settings():
    s = Settings.from_env({})
    assert s.letter_backend == "outbox"
    with pytest.raises(ConfigError, match="NOTIFIER_SUOMIFI_USERNAME"):
        Settings.from_env({"NOTIFIER_LETTER_BACKEND": "suomifi"})
    with pytest.raises(ConfigError, match="NOTIFIER_LETTER_BACKEND"):
        Settings.from_env({"NOTIFIER_LETTER_BACKEND": "fax"})
    env = {"NOTIFIER_LETTER_BACKEND": "suomifi", "NOTIFIER_SUOMIFI_URL": "https://api.messages-qa.suomi.fi/",
           "NOTIFIER_SUOMIFI_USERNAME": "u", "NOTIFIER_SUOMIFI_PASSWORD": "p", "NOTIFIER_SUOMIFI_SERVICE_ID": "svc",
           "NOTIFIER_OFFICE_STREET": "Ratapihankatu 36", "NOTIFIER_OFFICE_POSTAL_CODE": "20100",
           "NOTIFIER_OFFICE_CITY": "Turku"}
    s = Settings.from_env(env)
    assert (s.letter_backend, s.suomifi_url, s.suomifi_service_id) == ("suomifi", "https://api.messages-qa.suomi.fi", "svc")
    with pytest.raises(ConfigError, match="POSTI"):
        Settings.from_env({**env, "NOTIFIER_SUOMIFI_POSTI_USERNAME": "x"})


# -- end to end: a client with only an address gets a PDF in the outbox ----------------------------


async def test_client_with_only_an_address_gets_a_pdf_letter(start_service, redis_url, caplog):
    caplog.set_level(logging.DEBUG)
    svc = await start_service()
    data = referral("C-5003", "fi", first_name=NAME[0], last_name=NAME[1], email=None, phone=None,
                    personal_id=HETU, address=ADDRESS)
    status, answer = await svc.case.send("client.referred", data)
    assert status == 202
    [message_id] = answer["messages"]
    folder = svc.outbox / "letter"
    meta_path = folder / f"{message_id}.json"
    await wait_for(meta_path.exists)
    meta = json.loads(meta_path.read_text())
    assert meta == {"message_id": message_id, "template": "referral", "language": "fi", "pages": 1,
                    "bytes": meta["bytes"], "pdf": f"{message_id}.pdf",
                    "recipient": {"name": "Š. Ž.", "postal_code": "20***", "country": "FI"}}
    text = " ".join(pdf_text((folder / f"{message_id}.pdf").read_bytes()).split())
    assert "Šárka Žižková Yliopistonkatu 1 A 2 20100 TURKU" in text
    assert "Palvelu on velvoittava" in text and "ma 30.11.2026" in text

    m = await svc.final(message_id)
    assert (m.status, m.channel) == ("sent", "letter")
    status, view = await svc.api("GET", f"/api/messages/{message_id}")
    assert status == 200 and view["channel"] == "letter"
    assert view["recipient"]["address"] == "20*** FI" and view["recipient"]["personal_id"] is None
    shown = json.dumps(view, ensure_ascii=False)
    # Personal data: masked in the answer, sealed in Redis, absent from every log line.
    redis = Redis.from_url(redis_url)
    try:
        stored = b"".join([json.dumps({k.decode(): v.decode(errors="replace") for k, v in
                                       (await redis.hgetall(key)).items()}).encode()
                           async for key in redis.scan_iter("notifier:msg:*") if await redis.type(key) == b"hash"])
    finally:
        await redis.aclose()
    for secret in ("Žižková", "Yliopistonkatu", HETU):
        assert secret not in shown
        assert secret.encode() not in stored and json.dumps(secret)[1:-1].encode() not in stored
        assert secret not in caplog.text
    assert message_id in caplog.text  # the logs do speak of the message, by id


async def test_referral_with_email_still_goes_by_email(start_service):
    svc = await start_service()
    status, answer = await svc.case.send("client.referred", referral("C-5004", "fi", address=ADDRESS))
    assert status == 202
    m = await svc.final(answer["messages"][0])
    assert (m.status, m.channel) == ("sent", "email")
    assert m.recipient.address is None  # not needed for e-mail, so not kept
    assert not (svc.outbox / "letter").exists() or not any((svc.outbox / "letter").iterdir())


async def test_kickoff_invitation_and_cancellation_by_letter_for_address_only_invitee(start_service):
    """Issue 3's invitations: an invitee with neither e-mail nor phone but an address gets letters."""
    from tests.support.kickoff import invitee, scheduled

    svc = await start_service()
    letter_client = {**invitee("C-5101", email=None, first_name=NAME[0], last_name=NAME[1]), "address": ADDRESS}
    nothing = invitee("C-5102", email=None)
    status, answer = await svc.case.send("kickoff.scheduled", scheduled("S-LETTER-1", [letter_client, nothing]))
    assert status == 202
    messages = {m.refs["client"]: m for m in await svc.runtime.store.get_many(answer["messages"])}
    assert (messages["C-5101"].template, messages["C-5101"].channel) == ("kickoff-invitation", "letter")
    assert (messages["C-5102"].channel, messages["C-5102"].reason) == ("none", "no-channel")
    invitation = await svc.final(messages["C-5101"].id)
    assert invitation.status == "sent"
    text = " ".join(pdf_text((svc.outbox / "letter" / f"{invitation.id}.pdf").read_bytes()).split())
    assert "Kutsu tehostetun työnvälityspalvelun alkuinfoon" in text and "Kutsu on sitova" in text
    assert "Šárka Žižková Yliopistonkatu 1 A 2 20100 TURKU" in text and "Ratapihankatu 36" in text
    assert "kalenterimerkintänä" not in text  # the e-mail's calendar attachment is not in a letter

    status, answer = await svc.case.send("kickoff.cancelled", {"session_id": "S-LETTER-1"})
    assert status == 202
    cancelled = {m.refs["client"]: m for m in await svc.runtime.store.get_many(answer["messages"])}
    assert (cancelled["C-5101"].template, cancelled["C-5101"].channel) == ("kickoff-cancelled", "letter")
    assert (await svc.final(cancelled["C-5101"].id)).status == "sent"


def test_logging_setup_keeps_font_subsetting_quiet():
    """fontTools logs each letter's glyph list (which letters a name has) at INFO: not in our logs."""
    from notifier.app.logging_setup import configure

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in ("fontTools", "fpdf", "arq", "aiohttp.access")})
    try:
        configure("DEBUG")
        assert not logging.getLogger("fontTools.subset").isEnabledFor(logging.INFO)
        assert not logging.getLogger("fpdf.output").isEnabledFor(logging.INFO)
        assert logging.getLogger("notifier.letters").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
