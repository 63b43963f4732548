"""The coaching rhythm end to end: signed events through the real endpoint, reminders and letters
through the real worker into the outbox. Event times are set relative to now (no sleeping): a
referral 11 days old is past its reminder day, one made now is not."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from tests.support.service import referral, wait_for

TZ = ZoneInfo("Europe/Helsinki")
COACH = {"id": "K-1", "name": "Kaisa Valmentaja", "email": "kaisa@provider.example", "language": "fi"}
COACH_SV = {"id": "K-2", "name": "Karin Coach", "email": "karin@provider.example", "language": "sv"}


def ago(**kw) -> str:
    return (datetime.now(timezone.utc) - timedelta(**kw)).astimezone(TZ).isoformat()


def referred(client_id: str, days_ago: float, coach=COACH, **client) -> dict:
    doc = referral(client_id, **client)
    doc["referred_at"] = ago(days=days_ago)
    if coach:
        doc["coach"] = coach
    return doc


async def email_of(svc, message_id):
    path = svc.outbox / "email" / f"{message_id}.eml"
    await wait_for(path.exists)
    return message_from_bytes(path.read_bytes(), policy=policy.default)


async def test_referral_eleven_days_old_reminds_the_coach_at_once(start_service):
    svc = await start_service()
    status, answer = await svc.case.send("client.referred", referred("C-11", 11))
    assert status == 202
    letter, reminder = answer["messages"]
    msg = await email_of(svc, reminder)
    assert msg["To"].addresses[0].addr_spec == "kaisa@provider.example"
    assert msg["Subject"].startswith("Muistutus: ensimmäinen yhteydenotto asiakkaaseen C-11")
    text = msg.get_body(("plain",)).get_content()
    assert "Matti Meikäläinen (asiakasnumero C-11)" in text
    assert "http://notifier.test/console/messages?kind=client&id=C-11" in text
    assert text.startswith("Hei Kaisa,") or text.startswith("Hyvä Kaisa") or "Kaisa" in text.splitlines()[0]
    m = await svc.final(reminder)
    assert m.status == "sent" and m.refs == {"staff": "K-1", "coached_client": "C-11"}


async def test_referral_today_schedules_the_reminder_for_day_ten_and_a_contact_cancels_it(start_service):
    svc = await start_service()
    status, answer = await svc.case.send("client.referred", referred("C-0", 0))
    assert status == 202
    _, reminder = answer["messages"]
    m = await svc.runtime.store.get(reminder)
    assert m.status == "created" and m.send_at is not None
    assert m.send_at.astimezone(TZ).hour == 8 and m.send_at > datetime.now(timezone.utc) + timedelta(days=6)
    status, answer = await svc.case.send("client.contacted", {"client_id": "C-0", "at": ago(minutes=1), "kind": "phone"})
    assert status == 202 and answer["client_id"] == "C-0"
    [monthly] = answer["messages"]  # the next deadline: monthly contact, reminded on day 25
    cancelled = await svc.final(reminder)
    assert cancelled.status == "cancelled" and cancelled.reason == "deadline-met"
    assert (await svc.runtime.store.get(monthly)).send_at is not None


async def test_contact_26_days_ago_reminds_of_the_monthly_contact(start_service):
    svc = await start_service()
    assert (await svc.case.send("client.referred", referred("C-26", 40)))[0] == 202
    status, answer = await svc.case.send("client.contacted", {"client_id": "C-26", "at": ago(days=26)})
    assert status == 202
    [reminder] = answer["messages"]
    msg = await email_of(svc, reminder)
    assert msg["Subject"].startswith("Muistutus: yhteydenotto asiakkaaseen C-26")


async def test_service_ended_sends_the_letter_and_no_reminders_after_it(start_service):
    svc = await start_service()
    _, answer = await svc.case.send("client.referred", referred("C-E", 1, language="sv"))
    _, pending = answer["messages"]
    status, answer = await svc.case.send("client.service_ended", {
        "client_id": "C-E", "at": ago(minutes=5), "reason": "term-ended",
        "feedback_url": "https://feedback.example/pilot"})
    assert status == 202
    [letter] = answer["messages"]
    msg = await email_of(svc, letter)
    assert msg["To"].addresses[0].addr_spec == "c-e@example.fi" and msg["Content-Language"] == "sv"
    text = msg.get_body(("plain",)).get_content()
    assert "sysselsättningstjänsterna" in text and "kan det påverka" in text
    assert "https://feedback.example/pilot" in text and "TE-byrån" not in text
    assert (await svc.final(pending)).status == "cancelled"
    # after the end: events are recorded, nothing is sent
    status, answer = await svc.case.send("client.contacted", {"client_id": "C-E", "at": ago(minutes=1)})
    assert status == 202 and answer["messages"] == []
    status, answer = await svc.case.send("client.service_ended", {"client_id": "C-E", "at": ago(minutes=1), "reason": "other"})
    assert status == 202 and answer["messages"] == []


async def test_finnish_letter_for_an_employed_client_leaves_out_the_duties(start_service):
    svc = await start_service()
    await svc.case.send("client.referred", referred("C-J", 30, coach=None))
    status, answer = await svc.case.send("client.service_ended", {"client_id": "C-J", "at": ago(hours=1), "reason": "employed"})
    assert status == 202
    msg = await email_of(svc, answer["messages"][0])
    text = msg.get_body(("plain",)).get_content()
    assert "työllisyyspalveluihin" in text and "velvollisuutesi" not in text and "TE-toimisto" not in text.split("Hei")[0]
    assert msg["Subject"] == "Tehostettu työnvälityspalvelusi on päättynyt"


async def test_unknown_client_future_at_and_bad_fields_are_422_and_change_nothing(start_service):
    svc = await start_service(worker=False)
    status, problem = await svc.case.send("client.contacted", {"client_id": "C-nobody", "at": ago(minutes=1)})
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["data.client_id"]
    await svc.case.send("client.referred", referred("C-F", 1))
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    status, problem = await svc.case.send("client.plan_made", {"client_id": "C-F", "at": future})
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["data.at"]
    status, problem = await svc.case.send("client.service_ended", {"client_id": "C-F", "at": ago(minutes=1), "reason": "bored"})
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["data.reason"]
    status, problem = await svc.case.send("client.coach_assigned", {"client_id": "C-F", "at": ago(minutes=1),
                                                                     "coach": {"id": "K-9", "name": "X", "language": "fi"}})
    assert status == 422 and [e["field"] for e in problem["errors"]] == ["data.coach.email"]
    status, problem = await svc.case.send("client.referred", {**referred("C-G", 1), "coach": {"id": "K-1"}})
    assert status == 422 and {e["field"] for e in problem["errors"]} >= {"data.coach.name", "data.coach.email"}


async def test_new_coach_gets_the_pending_reminder(start_service):
    svc = await start_service()
    _, answer = await svc.case.send("client.referred", referred("C-K", 2))
    _, first = answer["messages"]
    status, answer = await svc.case.send("client.coach_assigned", {"client_id": "C-K", "coach": COACH_SV, "at": ago(minutes=1)})
    assert status == 202
    [handed] = answer["messages"]
    assert (await svc.final(first)).reason == "coach-changed"
    m = await svc.runtime.store.get(handed)
    assert m.recipient.email == "karin@provider.example" and m.language == "sv"


async def test_a_reached_call_counts_as_a_contact(start_service):
    from tests.support.kickoff import attendance, invitee, scheduled, session_start, started

    svc = await start_service()
    _, answer = await svc.case.send("client.referred", referred("C-1", 2))
    _, first = answer["messages"]
    await svc.case.send("kickoff.scheduled", scheduled("S-C", [invitee("C-1", "fi", phone="040 1234567")],
                                                       starts_at=session_start()))
    started(svc)  # attendance is taken once the session has started
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-C", []))
    [prompt_id] = answer["call_prompts"]
    url = f"/api/call-prompts/{prompt_id}/outcome"
    assert (await svc.api("POST", url, json={"outcome": "no-answer"}))[0] == 200
    assert (await svc.runtime.store.get(first)).status == "created"  # no answer is no contact
    assert (await svc.api("POST", url, json={"outcome": "reached"}))[0] == 200
    assert (await svc.final(first)).reason == "deadline-met"
    state = await _state(svc, "C-1")
    assert state.contacts == 1 and state.last_contact_at is not None


async def _state(svc, client_id):
    from notifier.coaching.store import load_state

    return await load_state(svc.runtime.redis, svc.runtime.store.sealer, client_id)


async def test_weekly_your_clients_email_once_per_coach_and_week(start_service):
    from notifier.coaching.weekly import start_weekly, weekly_for

    svc = await start_service()
    await svc.case.send("client.referred", referred("C-W1", 20))   # overdue first contact
    await svc.case.send("client.referred", referred("C-W2", 1))
    await svc.case.send("client.referred", referred("C-W3", 1, coach=COACH_SV))
    await svc.case.send("client.service_ended", {"client_id": "C-W3", "at": ago(minutes=1), "reason": "moved"})
    rt = svc.runtime
    monday = datetime(2026, 11, 30, 7, 0, tzinfo=TZ)
    # concurrent runs (two workers, a repeated cron): one e-mail
    import asyncio
    results = await asyncio.gather(*(weekly_for(rt, "2026-W49", "K-1", now=monday) for _ in range(4)))
    assert sorted(results) == ["already", "already", "already", "created"]
    assert await weekly_for(rt, "2026-W49", "K-2", now=monday) == "nothing"  # no active clients
    assert await start_weekly(rt, now=monday) == 1  # only K-1 has active clients; its job finds the claim
    weekly = [m for m in await rt.store.find("staff", "K-1") if m.template == "coaching-weekly"]
    assert len(weekly) == 1
    msg = await email_of(svc, weekly[0].id)
    assert msg["Subject"] == "Asiakkaasi, viikko 2026-W49"
    text = msg.get_body(("plain",)).get_content()
    assert text.index("C-W1") < text.index("C-W2") and "(myöhässä)" in text


async def test_end_of_service_letter_on_paper_for_a_client_without_email(start_service):
    import json

    from pypdf import PdfReader

    svc = await start_service()
    address = {"street": "Ratapihankatu 36", "postal_code": "20100", "city": "Turku"}
    await svc.case.send("client.referred", referred("C-P", 5, email=None, address=address))
    status, answer = await svc.case.send("client.service_ended", {"client_id": "C-P", "at": ago(hours=2), "reason": "moved"})
    assert status == 202
    [letter] = answer["messages"]
    meta_path = svc.outbox / "letter" / f"{letter}.json"
    await wait_for(meta_path.exists)
    meta = json.loads(meta_path.read_text())
    assert meta["template"] == "service-ended" and meta["language"] == "fi"
    text = " ".join(p.extract_text() for p in PdfReader(svc.outbox / "letter" / f"{letter}.pdf").pages)
    assert "työllisyyspalveluihin" in " ".join(text.split()) and "voi vaikuttaa" in " ".join(text.split())
    assert (await svc.final(letter)).channel == "letter"


async def test_coaching_flows_log_no_personal_data(start_service, caplog):
    import logging

    from notifier.coaching.weekly import weekly_for
    from tests.flows.test_no_personal_data_in_logs import assert_clean

    caplog.set_level(logging.DEBUG)
    svc = await start_service()
    _, answer = await svc.case.send("client.referred", referred("C-L", 12))
    ids = list(answer["messages"])
    for event, data in (("client.contacted", {"client_id": "C-L", "at": ago(days=27)}),
                        ("client.plan_made", {"client_id": "C-L", "at": ago(days=85)}),
                        ("client.coach_assigned", {"client_id": "C-L", "coach": COACH_SV, "at": ago(days=1)})):
        status, answer = await svc.case.send(event, data)
        assert status == 202
        ids += answer["messages"]
    await weekly_for(svc.runtime, "2026-W49", "K-2")
    status, answer = await svc.case.send("client.service_ended", {"client_id": "C-L", "at": ago(minutes=1), "reason": "other"})
    ids += answer["messages"]
    for mid in ids:
        await svc.final(mid)
    assert_clean(caplog, ("Kaisa", "Valmentaja", "Karin", "provider.example"))


async def test_an_ended_clients_state_expires_and_a_new_referral_keeps_it_again(start_service):
    from notifier.coaching.keys import client_key

    svc = await start_service(worker=False)
    assert (await svc.case.send("client.referred", referred("C-TTL", 1)))[0] == 202
    assert await svc.runtime.redis.ttl(client_key("C-TTL")) == -1  # active: kept
    status, _ = await svc.case.send("client.service_ended", {"client_id": "C-TTL", "at": ago(minutes=5), "reason": "moved"})
    assert status == 202 and await svc.runtime.redis.ttl(client_key("C-TTL")) > 0  # ended: expires
    assert (await svc.case.send("client.referred", referred("C-TTL", 0)))[0] == 202
    assert await svc.runtime.redis.ttl(client_key("C-TTL")) == -1  # referred again: kept again
