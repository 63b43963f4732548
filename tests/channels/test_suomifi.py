"""The Suomi.fi Messages backend against a real HTTP server on loopback (tests/suomifi_helpers.py):
token, attachment upload, the multichannel message and its payload, 409 on a repeated
externalId, errors, and the paged status events moving messages on."""

from __future__ import annotations

import io
from datetime import date
from typing import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from pypdf import PdfReader

from channels.base import PermanentFailure, TemporaryFailure
from channels.letter import SuomiFiClient, SuomiFiLetter
from channels.letter import PostiMessaging
from channels.letter.suomifi import message_request, parse_events
from tests.support.service import referral, wait_for
from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
from notifier.app.config import Settings
from notifier.messages.keys import CONTINUATION_KEY
from notifier.messages.letters import compose_letter, poll_suomifi_events
from notifier.app.embedded_redis import free_port
from notifier.messages.render import Renderer
from notifier.app.worker import make_worker
from tests.support.suomifi import HETU, PASSWORD, SERVICE_ID, USERNAME, FakeSuomiFi, event, schema_errors

#: A printing contract of the lengths Suomi.fi takes (`PostiMessaging`: 6, 4, 5..256 characters).
POSTI = dict(suomifi_posti_username="TKU001", suomifi_posti_password="4321", suomifi_posti_email="posti@te.example")

ADDRESS = {"street": "c/o Virtanen\nYliopistonkatu 1 A 2", "postal_code": "20100", "city": "Turku"}
OFFICE = {"office_street": "Ratapihankatu 36", "office_postal_code": "20100", "office_city": "Turku",
          "office_street_sv": "Bangårdsgatan 36", "office_city_sv": "Åbo"}


@pytest.fixture
async def suomifi() -> AsyncIterator[tuple[FakeSuomiFi, str]]:
    fake = FakeSuomiFi()
    server = TestServer(fake.app(), host="127.0.0.1", port=free_port())
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def client(suomifi) -> AsyncIterator[SuomiFiClient]:
    c = SuomiFiClient(suomifi[1], USERNAME, PASSWORD, timeout=5)
    await c.start()
    yield c
    await c.close()


def _settings(url: str, **kw) -> dict:
    """Suomi.fi on; the worker's own event poller off, so that the tests decide when events are read."""
    return {**dict(letter_backend="suomifi", suomifi_url=url, suomifi_username=USERNAME, suomifi_password=PASSWORD,
                   suomifi_service_id=SERVICE_ID, suomifi_poll_events=False, **OFFICE), **kw}


def _letter(language: str = "fi", address: dict | None = ADDRESS, message_id: str = "5e1f0000-0000-0000-0000-000000000001"):
    renderer = Renderer(TEMPLATE_DIR, LOCALE_DIR, Settings().timezone)
    context = {"first_name": "Šárka", "last_name": "Žižková", "referred_at": "2026-11-30T09:00:00+02:00",
               "office": {"name": "Turun seudun työllisyysalue", "phone": "02 262 3000", "email": ""},
               "provider": {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": ""}}
    return compose_letter(renderer, Settings(**OFFICE), message_id=message_id, template="referral",
                          language=language, context=context, today=date(2026, 11, 30),
                          recipient={"name": "Šárka Žižková", "address": address, "personal_id": HETU})


async def test_referral_goes_through_suomifi_with_paper_fallback(start_service, suomifi):
    """With a printing contract: the multichannel message, accepted by a stand-in enforcing the schema."""
    fake, url = suomifi
    svc = await start_service(**_settings(url, **POSTI))
    data = referral("C-6001", "sv", first_name="Šárka", last_name="Žižková", personal_id=HETU, address=ADDRESS)
    status, answer = await svc.case.send("client.referred", data)
    assert status == 202
    [message_id] = answer["messages"]
    m = await svc.final(message_id)
    assert (m.status, m.channel) == ("sent", "suomifi")
    sent = fake.messages[message_id]
    assert m.provider_ref == str(sent["id"])
    assert sent["path"] == "/v2/messages"
    body = sent["body"]
    [attachment_id] = fake.attachments
    ref = [{"attachmentId": attachment_id}]
    assert body["externalId"] == message_id
    assert body["recipient"] == {"id": HETU}
    assert body["sender"] == {"serviceId": SERVICE_ID}
    electronic = body["electronic"]
    assert electronic["title"] == "Du har hänvisats till den intensifierade arbetsförmedlingstjänsten"
    assert electronic["body"].startswith("Hej Šárka,") and "Tjänsten är obligatorisk" in electronic["body"]
    assert electronic["bodyFormat"] == "Text" and electronic["attachments"] == ref
    paper = body["paperMail"]
    assert paper["createAddressPage"] is True and paper["attachments"] == ref
    assert paper["recipient"]["address"] == {
        "name": "Šárka Žižková", "additionalName": "c/o Virtanen", "streetAddress": "Yliopistonkatu 1 A 2",
        "zipCode": "20100", "city": "Turku", "countryCode": "FI"}
    # A Swedish letter: the authority's Swedish name and the Swedish forms of its address.
    assert paper["sender"]["address"] == {
        "name": "Åbonejdens sysselsättningsområde", "streetAddress": "Bangårdsgatan 36", "zipCode": "20100",
        "city": "Åbo", "countryCode": "FI"}
    assert paper["printingAndEnvelopingService"] == {"postiMessaging": {
        "username": "TKU001", "password": "4321", "contactDetails": {"email": "posti@te.example"}}}
    assert fake.refused == []
    # The uploaded attachment is the letter itself.
    upload = fake.attachments[attachment_id]
    assert upload["filename"] == "brev.pdf" and upload["content_type"] == "application/pdf"
    text = PdfReader(io.BytesIO(upload["data"])).pages[0].extract_text()
    assert "Šárka Žižková" in text and "Tjänsten är obligatorisk" in text
    assert fake.token_requests == 1
    status, view = await svc.api("GET", f"/api/messages/{message_id}")
    assert view["channel"] == "suomifi" and view["recipient"]["personal_id"] == "**********T"
    assert HETU not in str(view) and "Yliopistonkatu" not in str(view)


async def test_retry_after_a_lost_answer_is_not_a_second_letter(suomifi, client):
    fake, _ = suomifi
    channel = SuomiFiLetter(client, SERVICE_ID)
    letter = _letter()
    first = await channel.send(letter.message_id, letter)
    again = await channel.send(letter.message_id, letter)  # e.g. the worker died before recording
    assert first == again == str(fake.messages[letter.message_id]["id"])
    assert fake.message_posts == [(letter.message_id, 200), (letter.message_id, 409)]
    assert len(fake.messages) == 1


async def test_without_an_address_the_message_is_electronic_only(suomifi, client):
    fake, _ = suomifi
    letter = _letter(address=None)
    await SuomiFiLetter(client, SERVICE_ID).send(letter.message_id, letter)
    sent = fake.messages[letter.message_id]
    assert sent["path"] == "/v2/messages/electronic" and "paperMail" not in sent["body"]


async def test_without_a_printing_contract_letters_go_electronic_only(start_service, suomifi):
    """No Posti settings: `POST /v2/messages/electronic` (a multichannel message would be refused)."""
    fake, url = suomifi
    svc = await start_service(**_settings(url))
    status, answer = await svc.case.send("client.referred", referral("C-6002", "fi", personal_id=HETU, address=ADDRESS))
    assert status == 202
    [message_id] = answer["messages"]
    m = await svc.final(message_id)
    assert (m.status, m.channel) == ("sent", "suomifi")
    sent = fake.messages[message_id]
    assert sent["path"] == "/v2/messages/electronic" and "paperMail" not in sent["body"]
    assert m.provider_ref == str(sent["id"]) and fake.refused == []


async def test_no_mailbox_and_no_printing_contract_falls_back_to_the_outbox(start_service, suomifi):
    """Suomi.fi answers MAILBOX_NOT_IN_USE: a client with an address gets the PDF from the outbox."""
    fake, url = suomifi
    fake.no_mailbox.add(HETU)
    svc = await start_service(**_settings(url))
    status, answer = await svc.case.send("client.referred", referral("C-6004", "fi", personal_id=HETU, address=ADDRESS))
    [message_id] = answer["messages"]
    m = await svc.final(message_id)
    assert (m.status, m.channel, m.provider_ref) == ("sent", "suomifi", "outbox")
    assert message_id not in fake.messages
    [(path, errors)] = fake.refused
    assert path == "/v2/messages/electronic" and errors[0]["errorCode"] == "MAILBOX_NOT_IN_USE"
    pdf = svc.outbox / "letter" / f"{message_id}.pdf"
    assert pdf.exists() and (svc.outbox / "letter" / f"{message_id}.json").exists()
    assert "Yliopistonkatu" in PdfReader(io.BytesIO(pdf.read_bytes())).pages[0].extract_text()


async def test_error_code_becomes_the_failure_reason(start_service, suomifi):
    """No mailbox and no address: nothing to fall back to; the record names Suomi.fi's errorCode."""
    fake, url = suomifi
    fake.no_mailbox.add(HETU)
    svc = await start_service(**_settings(url))
    status, answer = await svc.case.send("client.referred", referral("C-6005", "fi", personal_id=HETU))
    [message_id] = answer["messages"]
    m = await svc.final(message_id)
    assert (m.status, m.reason) == ("permanent-failure", "suomifi-mailbox-not-in-use")


def test_stand_in_refuses_what_suomifi_refuses():
    """The stand-in's schema: a paper part without the printing contract, or with a 3-character Posti
    username, or an electronic part without `bodyFormat`, is a 400 with validationErrors."""
    letter = _letter()
    posti = PostiMessaging("TKU001", "4321", "posti@te.example")
    path, body = message_request(letter, "att-1", service_id=SERVICE_ID, posti=posti)
    assert path == "/v2/messages" and schema_errors(path, body) == []
    del body["paperMail"]["printingAndEnvelopingService"]
    assert any("printingAndEnvelopingService" in e["error"] for e in schema_errors(path, body))
    _, body = message_request(letter, "att-1", service_id=SERVICE_ID, posti=PostiMessaging("TKU", "4321", "p@te.fi"))
    assert any("username" in e["error"] for e in schema_errors(path, body))
    path, body = message_request(letter, "att-1", service_id=SERVICE_ID)
    assert path == "/v2/messages/electronic" and schema_errors(path, body) == []
    del body["electronic"]["bodyFormat"]
    assert any("bodyFormat" in e["error"] for e in schema_errors(path, body))


async def test_token_is_kept_until_near_expiry_and_renewed_after_401(suomifi, client):
    fake, _ = suomifi
    channel = SuomiFiLetter(client, SERVICE_ID)
    for i in range(2):
        letter = _letter(message_id=f"5e1f0000-0000-0000-0000-00000000001{i}")
        await channel.send(letter.message_id, letter)
    assert fake.token_requests == 1  # one token for four requests
    fake.revoke_tokens()  # the server forgot it (restart, rotation): 401, new token, same request again
    letter = _letter(message_id="5e1f0000-0000-0000-0000-000000000020")
    await channel.send(letter.message_id, letter)
    assert fake.token_requests == 2 and letter.message_id in fake.messages
    fake.expires_in = 30  # shorter than the renewal margin: every request asks for a fresh token
    await client.token(renew=True)
    before = fake.token_requests
    letter = _letter(message_id="5e1f0000-0000-0000-0000-000000000021")
    await channel.send(letter.message_id, letter)
    assert fake.token_requests == before + 2  # upload and message each renewed it


@pytest.mark.parametrize("status, failure, reason", [
    (503, TemporaryFailure, "suomifi-503"),
    (429, TemporaryFailure, "suomifi-429"),
    (400, PermanentFailure, "suomifi-400"),
    (403, PermanentFailure, "suomifi-403"),
])
async def test_errors_are_temporary_or_permanent(suomifi, client, status, failure, reason):
    fake, _ = suomifi
    fake.fail_messages = [status]
    letter = _letter()
    with pytest.raises(failure) as caught:
        await SuomiFiLetter(client, SERVICE_ID).send(letter.message_id, letter)
    assert caught.value.reason == reason


async def test_unreachable_server_is_temporary():
    c = SuomiFiClient(f"http://127.0.0.1:{free_port()}", USERNAME, PASSWORD, timeout=2)
    await c.start()
    try:
        with pytest.raises(TemporaryFailure):
            letter = _letter()
            await SuomiFiLetter(c, SERVICE_ID).send(letter.message_id, letter)
    finally:
        await c.close()


@pytest.mark.parametrize("refused", [401, 403])
async def test_login_refused_is_temporary_with_an_alert(suomifi, client, caplog, refused):
    """401/403 at the token endpoint: our configuration (or IP allow-list), not the letter."""
    fake, _ = suomifi
    fake.refuse_login = refused
    letter = _letter()
    with pytest.raises(TemporaryFailure) as caught:
        await SuomiFiLetter(client, SERVICE_ID).send(letter.message_id, letter)
    assert caught.value.reason == f"suomifi-token-{refused}"
    assert any(getattr(r, "event", None) == "suomifi.login-refused" and r.levelname == "ERROR" for r in caplog.records)
    assert fake.messages == {}


async def test_wrong_password_is_retried_not_dropped(suomifi):
    c = SuomiFiClient(suomifi[1], USERNAME, "wrong", timeout=5)
    await c.start()
    try:
        letter = _letter()
        with pytest.raises(TemporaryFailure) as caught:
            await SuomiFiLetter(c, SERVICE_ID).send(letter.message_id, letter)
        assert caught.value.reason == "suomifi-token-400"
        assert suomifi[0].messages == {}
    finally:
        await c.close()


async def test_server_5xx_then_success_through_the_worker(start_service, suomifi):
    fake, url = suomifi
    fake.fail_messages = [502]
    svc = await start_service(**_settings(url))
    status, answer = await svc.case.send("client.referred", referral("C-6003", "fi", personal_id=HETU, address=ADDRESS))
    [message_id] = answer["messages"]
    m = await svc.final(message_id)
    assert m.status == "sent"
    assert [h.status for h in m.history] == ["created", "sending", "temporary-failure", "sending", "sent"]
    assert fake.message_posts == [(message_id, 502), (message_id, 200)]


def test_message_request_is_pure_and_complete():
    letter = _letter()
    path, body = message_request(letter, "att-1", service_id=SERVICE_ID,
                                 posti=PostiMessaging("TKU001", "4321", "posti@te.example"))
    assert path == "/v2/messages"
    assert set(body) == {"externalId", "recipient", "sender", "electronic", "paperMail"}
    no_id = _letter().__class__(**{**letter.__dict__, "personal_id": None})
    with pytest.raises(ValueError):
        message_request(no_id, "att-1", service_id=SERVICE_ID)


def test_events_metadata_as_object_or_json_string():
    events, token = parse_events({"events": [
        event("Electronic message read", "m-1", 7),
        {"type": "Paper mail created", "eventTime": "x",
         "metadata": '{"messageId": 8, "serviceId": "s", "externalId": "m-2"}'},
        {"type": "Electronic message from end user", "metadata": {"messageId": 9}},
    ], "continuationToken": "c-1"})
    assert [(e.type, e.external_id, e.message_id) for e in events] == [
        ("Electronic message read", "m-1", "7"), ("Paper mail created", "m-2", "8"),
        ("Electronic message from end user", None, "9")]
    assert token == "c-1"


async def test_events_move_messages_on_page_by_page(start_service, suomifi, client):
    fake, url = suomifi
    svc = await start_service(**_settings(url))
    ids = []
    for cid in ("C-6101", "C-6102", "C-6103"):
        status, answer = await svc.case.send("client.referred", referral(cid, "fi", personal_id=HETU, address=ADDRESS))
        ids += answer["messages"]
    for mid in ids:
        assert (await svc.final(mid)).status == "sent"
    read, returned, untouched = ids
    fake.event_pages = {
        None: ([event("Electronic message created", read, 1), event("Paper mail created", returned, 2),
                event("Sent for printing and enveloping", returned, 2),
                event("Electronic message read", "not-ours", 3),
                event("Electronic message read", untouched, 4, service_id="another-service")], "page-2"),
        "page-2": ([event("Electronic message read", read, 1), event("Posti: returned to sender", returned, 2),
                    event("Electronic message from end user", read, 5)], "page-3"),
        "page-3": ([], "page-3"),
    }
    rt = svc.runtime
    result = await poll_suomifi_events(client, rt.store, rt.redis, service_id=SERVICE_ID)
    assert (result.pages, result.events, result.moved) == (3, 8, 2)
    assert fake.event_requests == [None, "page-2", "page-3"]
    assert (await rt.redis.get(CONTINUATION_KEY)) == b"page-3"
    r, b, u = await rt.store.get_many(ids)
    assert r.status == "delivered"
    assert (b.status, b.reason) == ("permanent-failure", "returned-to-sender")
    assert u.status == "sent"
    # The next poll starts from the stored token; events read again change nothing.
    fake.event_pages["page-3"] = ([event("Electronic message created", read, 1)], "page-4")
    result = await poll_suomifi_events(client, rt.store, rt.redis, service_id=SERVICE_ID)
    assert fake.event_requests[3:] == ["page-3", "page-4"] and result.moved == 0
    assert (await rt.store.get(read)).status == "delivered"


async def test_one_poller_at_a_time(start_service, suomifi, client):
    fake, url = suomifi
    svc = await start_service(worker=False, **_settings(url))
    rt = svc.runtime
    await rt.redis.set("notifier:suomifi:events:lock", "1", ex=60)
    result = await poll_suomifi_events(client, rt.store, rt.redis)
    assert result.pages == 0 and fake.event_requests == []


async def test_worker_schedules_the_poller_only_for_suomifi(settings, suomifi):
    workers = {
        "suomifi": make_worker(settings.with_(**_settings(suomifi[1], suomifi_poll_events=True)), handle_signals=False),
        "poll off": make_worker(settings.with_(**_settings(suomifi[1])), handle_signals=False),
        "outbox": make_worker(settings, handle_signals=False),
    }
    scheduled = {k: any(job.name == "cron:poll_suomifi" for job in w.cron_jobs) for k, w in workers.items()}
    assert scheduled == {"suomifi": True, "poll off": False, "outbox": False}
    for w in workers.values():
        await w.close()


async def test_scheduled_poll_runs_in_the_worker(start_service, suomifi):
    """The cron's function, called as arq calls it, polls with the worker's own client."""
    from notifier.app.worker import poll_suomifi

    fake, url = suomifi
    svc = await start_service(**_settings(url))
    status, answer = await svc.case.send("client.referred", referral("C-6201", "fi", personal_id=HETU, address=ADDRESS))
    [mid] = answer["messages"]
    assert (await svc.final(mid)).status == "sent"
    fake.event_pages = {None: ([event("Electronic message read", mid, 1)], "p-2")}
    from notifier.app.runtime import build_channels

    channels = build_channels(svc.settings)
    await channels["suomifi"].start()
    try:
        moved = await poll_suomifi({"channels": channels, "runtime": svc.runtime})
    finally:
        await channels["suomifi"].close()
    assert moved == 1
    await wait_for(lambda: fake.event_requests[:1] == [None])
    assert (await svc.runtime.store.get(mid)).status == "delivered"
