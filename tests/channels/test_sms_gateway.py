"""The GatewayAPI backend against a real HTTP server on loopback that speaks its protocol:
requests as sent, 5xx/429/timeouts retried, 4xx refused, delivery reports posted back to us."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from channels.sms import count_parts
from tests.support.service import wait_for
from tests.support.kickoff import GatewayStandIn, attendance, invitee, scheduled, started

GATEWAY_TOKEN = "gw-test-token"
CALLBACK_TOKEN = "cb-secret-token"


@pytest.fixture
async def gateway():
    gw = GatewayStandIn(GATEWAY_TOKEN)
    url = await gw.start()
    gw.url = url  # type: ignore[attr-defined]
    yield gw
    await gw.close()


async def start_with_gateway(start_service, gateway, **changes):
    svc = await start_service(sms_backend="gatewayapi", sms_url=gateway.url, sms_token=GATEWAY_TOKEN,
                              sms_callback_token=CALLBACK_TOKEN, **changes)
    gateway.app_url = svc.url
    gateway.public_url = svc.settings.public_url
    return svc


async def no_show_for(svc, gateway, phones: dict[str, str], fail_with: list[int] = ()) -> list[str]:
    """Schedule a session with phone-only invitees, let the invitations go, then report all of
    them absent (the gateway failing as told from then on): the no-show SMS ids."""
    clients = [invitee(cid, "fi", email=None, phone=p) for cid, p in phones.items()]
    status, answer = await svc.case.send("kickoff.scheduled", scheduled("S-GW", clients))
    assert status == 202
    for m in await svc.runtime.store.get_many(answer["messages"]):
        if m.send_at is None:
            await svc.final(m.id)
    gateway.requests.clear()
    gateway.fail_with = list(fail_with)
    started(svc)
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-GW", []))
    assert status == 202
    messages = await svc.runtime.store.get_many(answer["messages"])
    return [m.id for m in messages if m.template == "kickoff-no-show"]


async def test_requests_follow_the_gatewayapi_protocol_and_5xx_is_retried(start_service, gateway):
    svc = await start_with_gateway(start_service, gateway)
    gateway.fail_with = [503]  # the first request fails; the retry goes through
    clients = [invitee("C-1", "sv", email=None, phone="040 1234567")]
    status, answer = await svc.case.send("kickoff.scheduled", scheduled("S-GW1", clients))
    assert status == 202
    [invitation_id] = [m.id for m in await svc.runtime.store.get_many(answer["messages"]) if m.template == "kickoff-invitation-sms"]
    m = await svc.final(invitation_id)
    assert m.status == "sent" and m.attempts == 2
    assert [h.status for h in m.history] == ["created", "sending", "temporary-failure", "sending", "sent"]
    assert m.history[2].reason == "gatewayapi-503"
    assert m.provider_ref == str(gateway.ids[invitation_id])

    assert len(gateway.requests) == 2 and gateway.requests[0] == gateway.requests[1]
    body = gateway.requests[-1]
    assert gateway.headers[-1]["Authorization"] == f"Token {GATEWAY_TOKEN}"
    assert body["sender"] == "Tyollisyys"  # the neutral default
    assert body["recipients"] == [{"msisdn": 358401234567}]
    assert body["userref"] == invitation_id
    assert body["message"].startswith("Kallelse till startinfo")
    assert count_parts(body["message"])[0] == "GSM-7" and "encoding" not in body
    callback = urlsplit(body["callback_url"])
    assert f"{callback.scheme}://{callback.netloc}" == svc.settings.public_url
    assert callback.path == "/webhooks/sms-status" and parse_qs(callback.query) == {"token": [CALLBACK_TOKEN]}


async def test_delivery_reports_move_messages_and_never_back(start_service, gateway):
    svc = await start_with_gateway(start_service, gateway)
    ids = await no_show_for(svc, gateway, {"C-1": "040 1111111", "C-2": "050 2222222"})
    assert len(ids) == 2
    for mid in ids:
        assert (await svc.final(mid)).status == "sent"
    by_ref = {r["userref"]: r for r in gateway.requests}

    status, answer = await gateway.report(svc.http, by_ref[ids[0]], "ENROUTE")
    assert status == 200 and answer["results"][0]["result"] == "in-transit"
    assert (await svc.runtime.store.get(ids[0])).status == "sent"
    status, answer = await gateway.report(svc.http, by_ref[ids[0]], "DELIVERED")
    assert status == 200 and answer["results"][0]["status"] == "delivered"
    status, _ = await gateway.report(svc.http, by_ref[ids[1]], "UNDELIVERABLE")
    assert status == 200

    delivered = await svc.runtime.store.get(ids[0])
    failed = await svc.runtime.store.get(ids[1])
    assert delivered.status == "delivered"
    assert (failed.status, failed.reason) == ("permanent-failure", "gatewayapi-undeliverable")

    # Late and out-of-order reports change nothing.
    for report in ("ENROUTE", "BUFFERED", "UNDELIVERABLE"):
        await gateway.report(svc.http, by_ref[ids[0]], report)
    _, answer = await gateway.report(svc.http, by_ref[ids[1]], "DELIVERED")
    # The answer says the report was kept out, and the status the message keeps.
    assert answer["results"][0] == {"userref": ids[1], "result": "kept", "status": "permanent-failure"}
    assert (await svc.runtime.store.get(ids[0])).status == "delivered"
    assert (await svc.runtime.store.get(ids[1])).status == "permanent-failure"
    assert [h.status for h in (await svc.runtime.store.get(ids[0])).history][-1] == "delivered"

    # A report about someone else's message (the gateway id does not match) is ignored.
    status, answer = await gateway.report(svc.http, by_ref[ids[0]], "UNDELIVERABLE", gateway_id=1)
    assert answer["results"][0]["result"] == "ignored"


async def test_accepted_is_final_and_reports_match_on_the_gateway_id(start_service, gateway):
    """ACCEPTED is a final state in GatewayAPI's reports: `delivered` (reason `gatewayapi-accepted`).
    A report without our userref is matched on the gateway's message id; `user_ref` is read too."""
    svc = await start_with_gateway(start_service, gateway)
    ids = await no_show_for(svc, gateway, {"C-1": "040 1111111", "C-2": "050 2222222", "C-3": "040 3333333"})
    for mid in ids:
        assert (await svc.final(mid)).status == "sent"
    by_ref = {r["userref"]: r for r in gateway.requests}
    status, answer = await gateway.report(svc.http, by_ref[ids[0]], "ACCEPTED")
    assert status == 200 and answer["results"][0]["status"] == "delivered"
    m = await svc.runtime.store.get(ids[0])
    assert (m.status, m.reason) == ("delivered", "gatewayapi-accepted")
    status, answer = await gateway.report(svc.http, by_ref[ids[1]], "UNDELIVERABLE", ref_field=None)
    assert status == 200 and answer["results"][0] == {"userref": ids[1], "result": "moved", "status": "permanent-failure"}
    status, answer = await gateway.report(svc.http, by_ref[ids[2]], "DELIVERED", ref_field="user_ref")
    assert status == 200 and (await svc.runtime.store.get(ids[2])).status == "delivered"
    status, answer = await gateway.report(svc.http, by_ref[ids[2]], "DELIVERED", ref_field=None, gateway_id=999999)
    assert answer["results"][0]["result"] == "ignored"  # an id we never got back


@pytest.mark.parametrize("refused", [401, 403])
async def test_401_and_403_are_the_accounts_problem_retried_with_an_alert(start_service, gateway, caplog, refused):
    svc = await start_with_gateway(start_service, gateway)
    ids = await no_show_for(svc, gateway, {"C-1": "040 1111111"}, fail_with=[refused])
    m = await svc.final(ids[0])
    assert m.status == "sent"
    assert [h.reason for h in m.history if h.status == "temporary-failure"] == [f"gatewayapi-{refused}"]
    assert any(getattr(r, "event", None) == "gatewayapi.account-refused" and r.levelname == "ERROR"
               for r in caplog.records)


async def test_reports_without_the_callback_token_are_refused(start_service, gateway):
    svc = await start_with_gateway(start_service, gateway)
    [mid] = await no_show_for(svc, gateway, {"C-1": "040 1111111"})
    await svc.final(mid)
    body = gateway.requests[-1]
    base = f"{svc.settings.public_url}/webhooks/sms-status"
    for url in (base, f"{base}?token=wrong", f"{base}?token="):
        status, problem = await gateway.report(svc.http, body, "UNDELIVERABLE", callback_url=url)
        assert status == 401 and problem["status"] == 401
    assert (await svc.runtime.store.get(mid)).status == "sent"


async def test_reports_are_refused_when_no_callback_token_is_configured(start_service, gateway):
    await start_with_gateway(start_service, gateway)
    other = await start_service(worker=False, sms_callback_token=None)
    url = f"{other.url}/webhooks/sms-status?token={CALLBACK_TOKEN}"
    async with other.http.post(url, json={"userref": "x", "status": "DELIVERED"}) as resp:
        assert resp.status == 401


async def test_4xx_is_a_permanent_failure_and_429_a_temporary_one(start_service, gateway):
    svc = await start_with_gateway(start_service, gateway)
    ids = await no_show_for(svc, gateway, {"C-1": "040 1111111"}, fail_with=[429, 400])
    m = await svc.final(ids[0])
    assert (m.status, m.reason) == ("permanent-failure", "gatewayapi-400")
    assert [h.reason for h in m.history if h.status == "temporary-failure"] == ["gatewayapi-429"]
    assert m.attempts == 2


async def test_a_gateway_that_does_not_answer_times_out_and_is_retried(start_service, gateway):
    svc = await start_with_gateway(start_service, gateway, send_timeout_seconds=0.5)
    gateway.hang = 1
    clients = [invitee("C-2", "fi", email=None, phone="040 2222222")]
    status, answer = await svc.case.send("kickoff.scheduled", scheduled("S-GW-2", clients))
    assert status == 202
    [mid] = [m.id for m in await svc.runtime.store.get_many(answer["messages"]) if m.send_at is None]
    m = await svc.final(mid, timeout=15)
    assert m.status == "sent"
    assert [h.reason for h in m.history if h.status == "temporary-failure"] == ["gatewayapi-TimeoutError"]
    assert len(gateway.requests) == 2


async def test_ucs2_messages_are_sent_as_ucs2(start_service, gateway):
    svc = await start_with_gateway(start_service, gateway)
    clients = [invitee("C-1", "fi", email=None, phone="040 1234567")]
    data = scheduled("S-UCS", clients)
    data["session"]["location"]["name"] = "Škola–keskus"  # š and an en dash: UCS-2
    status, _ = await svc.case.send("kickoff.scheduled", data)
    assert status == 202
    await wait_for(lambda: gateway.requests)
    body = gateway.requests[0]
    assert "Škola–keskus" in body["message"]  # sent as written
    assert body["encoding"] == "UCS2"
