"""Coordinators' announcements: one message per recipient and channel, in their language, now or
later, with statuses per recipient. Real Redis, SMTP and the SMS outbox."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from channels.sms import count_parts  # a failed import fails the module: never a skip
from tests.support.service import API_TOKEN, wait_for
from tests.support.staff import (
    SALO_FI,
    SALO_SV,
    TURKU_FI,
    TURKU_SV,
    mails_to,
    put_staff,
    staff_service,
    text_of,
)

ANNOUNCEMENT = {
    "subject": {"fi": "Salon toimisto suljettu perjantaina", "sv": "Salokontoret stängt på fredag"},
    "body": {"fi": "Toimisto on suljettu perjantaina 11.12.\n\nAsiakkaat ohjataan Turkuun.",
             "sv": "Kontoret är stängt fredagen den 11.12.\n\nKunderna hänvisas till Åbo."},
    "audience": {"sites": ["salo"]},
    "channels": ["email"],
}


async def everyone(svc) -> None:  # type: ignore[no-untyped-def]
    await put_staff(svc, "T-1", TURKU_FI)
    await put_staff(svc, "P-1", TURKU_SV)
    await put_staff(svc, "S-1", SALO_FI)
    await put_staff(svc, "S-2", {**SALO_SV, "digest": False})  # opted out of the digest, not of work instructions


async def test_announcement_to_one_site_in_each_recipients_language(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await everyone(svc)
    status, answer = await svc.api("POST", "/api/announcements", json=ANNOUNCEMENT)
    assert status == 202 and answer["recipients"] == 2 and len(answer["messages"]) == 2
    await wait_for(lambda: len(sink.messages) == 2)
    [fi] = mails_to(sink, SALO_FI["email"])
    [sv] = mails_to(sink, SALO_SV["email"])
    assert fi["Subject"] == "Salon toimisto suljettu perjantaina" and "Asiakkaat ohjataan Turkuun." in text_of(fi)
    assert sv["Subject"] == "Salokontoret stängt på fredag" and text_of(sv).startswith("Hej Siv Holm,")
    assert "List-Unsubscribe" not in fi  # work instructions: no unsubscribing

    async def all_sent():  # type: ignore[no-untyped-def]
        status, view = await svc.api("GET", f"/api/announcements/{answer['id']}")
        return view if view["statuses"] == {"sent": 2} else None

    view = await all_sent() or await wait_for(all_sent)
    assert view["recipients"] == 2 and view["audience"]["sites"] == ["salo"]
    assert [(m["staff_id"], m["channel"], m["language"], m["status"]) for m in view["messages"]] == [
        ("S-1", "email", "fi", "sent"), ("S-2", "email", "sv", "sent")]


async def test_audience_by_organisation_and_named_people_with_finnish_fallback(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await everyone(svc)
    body = {**ANNOUNCEMENT, "subject": {"fi": "Vain suomeksi"}, "body": {"fi": "Teksti"},
            "audience": {"organisations": ["provider"], "staff_ids": ["T-1"]}}
    status, answer = await svc.api("POST", "/api/announcements", json=body)
    assert status == 202 and answer["recipients"] == 3
    await wait_for(lambda: len(sink.messages) == 3)
    assert sorted(m["To"].addresses[0].addr_spec for m in sink.messages) == sorted(
        [TURKU_FI["email"], TURKU_SV["email"], SALO_SV["email"]])
    [sv] = mails_to(sink, TURKU_SV["email"])
    assert sv["Subject"] == "Vain suomeksi"
    assert "Detta meddelande har inte översatts till svenska; det visas på finska." in text_of(sv)


async def test_audience_that_selects_nobody_or_unknown_people_is_refused(start_service):
    svc = await staff_service(start_service, worker=False)
    await everyone(svc)
    status, problem = await svc.api("POST", "/api/announcements", json={**ANNOUNCEMENT, "audience": {"sites": ["rauma"]}})
    assert status == 422 and problem["errors"] == [{"field": "audience", "detail": "selects nobody in the staff directory"}]
    status, problem = await svc.api("POST", "/api/announcements", json={**ANNOUNCEMENT, "audience": {"staff_ids": ["S-1", "X-9"]}})
    assert status == 422 and problem["errors"][0]["field"] == "audience.staff_ids[1]"
    status, problem = await svc.api("POST", "/api/announcements", json={**ANNOUNCEMENT, "channels": ["fax"], "send_at": "tomorrow"})
    assert status == 422 and {e["field"] for e in problem["errors"]} == {"channels[0]", "send_at"}
    assert [k async for k in svc.runtime.redis.scan_iter("notifier:announcement:*")] == []
    assert [k async for k in svc.runtime.redis.scan_iter("notifier:msg:*")] == []


async def test_deleted_people_get_nothing(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await everyone(svc)
    await svc.api("DELETE", "/api/staff/S-1")
    status, answer = await svc.api("POST", "/api/announcements", json=ANNOUNCEMENT)
    assert answer["recipients"] == 1
    await wait_for(lambda: len(sink.messages) == 1)
    assert mails_to(sink, SALO_SV["email"])


async def test_announcement_at_send_at_waits(start_service):
    svc = await staff_service(start_service)
    await everyone(svc)
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    status, answer = await svc.api("POST", "/api/announcements", json={**ANNOUNCEMENT, "send_at": later.isoformat()})
    assert status == 202
    status, view = await svc.api("GET", f"/api/announcements/{answer['id']}")
    assert view["statuses"] == {"created": 2}
    assert datetime.fromisoformat(view["send_at"]) == later
    for mid in answer["messages"]:
        m = await svc.runtime.store.get(mid)
        assert m is not None and m.send_at is not None and abs((m.send_at - later).total_seconds()) < 1


async def test_deleting_someone_cancels_what_is_still_queued_for_them(start_service):
    svc = await staff_service(start_service, worker=False)
    await everyone(svc)
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    status, answer = await svc.api("POST", "/api/announcements", json={**ANNOUNCEMENT, "send_at": later.isoformat()})
    assert status == 202 and answer["recipients"] == 2
    assert (await svc.api("DELETE", "/api/staff/S-1"))[0] == 204
    statuses = {}
    for mid in answer["messages"]:
        m = await svc.runtime.store.get(mid)
        statuses[m.refs["staff"]] = (m.status, m.reason)
    assert statuses["S-1"] == ("cancelled", "staff-deleted")
    assert statuses["S-2"] == ("created", "")


async def test_sms_announcement_too_long_for_ten_parts_is_refused_up_front(start_service):
    svc = await staff_service(start_service, worker=False)
    await everyone(svc)
    body = {"fi": "Tärkeä tiedote – lue tarkkaan. " * 20 + "Kiitos paljon, hei!", "sv": "Kort."}  # 639 characters
    status, problem = await svc.api("POST", "/api/announcements", json={**ANNOUNCEMENT, "body": body, "channels": ["email", "sms"]})
    assert status == 422
    assert [e["field"] for e in problem["errors"]] == ["body.fi"] and "UCS-2" in problem["errors"][0]["detail"]
    assert not await svc.runtime.redis.keys("notifier:msg:*")


async def test_same_idempotency_key_creates_one_announcement(start_service):
    svc = await staff_service(start_service, worker=False)
    await everyone(svc)
    headers = {"Authorization": f"Bearer {API_TOKEN}", "Idempotency-Key": "k-1"}
    answers = []
    for _ in range(2):
        async with svc.http.post(svc.url + "/api/announcements", json=ANNOUNCEMENT, headers=headers) as resp:
            answers.append((resp.status, await resp.json()))
    assert answers[0] == answers[1] and answers[0][0] == 202
    assert len([k async for k in svc.runtime.redis.scan_iter("notifier:announcement:*")]) == 1


async def test_announcement_by_sms_to_mobiles(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    await everyone(svc)  # S-1 has a landline, S-2 a mobile
    body = {**ANNOUNCEMENT, "channels": ["email", "sms"]}
    status, answer = await svc.api("POST", "/api/announcements", json=body)
    assert status == 202 and answer["recipients"] == 2 and len(answer["messages"]) == 4

    async def settled():  # type: ignore[no-untyped-def]
        status, view = await svc.api("GET", f"/api/announcements/{answer['id']}")
        return view if not {"created", "sending"} & set(view["statuses"]) else None

    view = await wait_for(settled)
    by = {(m["staff_id"], m["channel"]): m for m in view["messages"]}
    assert by[("S-2", "sms")]["status"] == "sent"
    assert by[("S-1", "sms")]["status"] == "permanent-failure" and by[("S-1", "sms")]["reason"] == "no-mobile-number"
    sms = json.loads((svc.outbox / "sms" / f"{by[('S-2', 'sms')]['message_id']}.json").read_text())
    assert sms["to"] == "+358507654321"
    assert sms["body"].startswith("Salokontoret stängt på fredag\nKontoret är stängt fredagen den 11.12.")
    assert (sms["encoding"], sms["segments"]) == count_parts(sms["body"])
    assert len(sink.messages) == 2
