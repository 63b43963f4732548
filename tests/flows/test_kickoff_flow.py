"""Kickoff sessions end to end: signed webhooks -> Redis -> worker -> SMTP / SMS outbox, and the
call-prompt API. Real Redis, real SMTP (aiosmtpd), the real app and an in-process worker."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

from icalendar import Calendar

from tests.support.service import wait_for
from tests.support.kickoff import HELSINKI, attendance, invitee, scheduled, session_start, sms_outbox
from notifier.i18n import format_when
from notifier.messages.intake import Outcome, commit
from notifier.kickoff.store import load_session


def calendar_of(msg):
    [part] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part, Calendar.from_ical(part.get_payload(decode=True))


async def messages_by(svc, ids):
    return {m.id: m for m in await svc.runtime.store.get_many(ids)}


async def test_invitations_in_finnish_and_swedish_with_calendar_over_smtp(start_service, smtp):
    sink, port = smtp
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    starts = session_start(days_ahead=4)
    data = scheduled("S-INV-1", [
        invitee("C-1001", "fi", phone="040 1234567"),
        invitee("C-2001", "sv"),
        invitee("C-3001", "sv", email=None, phone="+358 50 765 4321"),
    ], starts_at=starts)
    status, answer = await svc.case.send("kickoff.scheduled", data)
    assert status == 202, answer
    assert answer["session_id"] == "S-INV-1"
    await wait_for(lambda: len(sink.messages) == 2)
    mails = {m["To"].addresses[0].addr_spec: m for m in sink.messages}

    fi = mails["c-1001@example.fi"]
    assert fi["Content-Language"] == "fi"
    assert fi["Subject"] == "Kutsu tehostetun työnvälityspalvelun alkuinfoon"
    text = fi.get_body(("plain",)).get_content()
    assert format_when(starts, "fi", HELSINKI) in text and " klo 9.00" in text
    assert "Työnvälityspiste, Ratapihankatu 36, 20100 Turku" in text
    assert "velvoittava" in text and "voi vaikuttaa työttömyysetuuteesi" in text and "02 262 3000" in text
    part, cal = calendar_of(fi)
    assert part.get_param("method") == "REQUEST" and str(cal["method"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["organizer"]) == f"mailto:{svc.settings.mail_from}" and event["organizer"].params["CN"]
    assert str(event["attendee"]) == "mailto:c-1001@example.fi" and event["attendee"].params["RSVP"] == "FALSE"
    assert event.decoded("sequence") == 0
    assert event.decoded("dtstart") == starts and event.decoded("dtstart").tzinfo is not None
    assert event.decoded("dtend") == starts + timedelta(hours=2)
    assert str(event["summary"]) == fi["Subject"]
    assert "Ratapihankatu 36" in str(event["location"])
    assert str(event["uid"]).startswith("kickoff-S-INV-1@")

    sv = mails["c-2001@example.fi"]
    assert sv["Content-Language"] == "sv"
    sv_text = sv.get_body(("plain",)).get_content()
    assert format_when(starts, "sv", HELSINKI) in sv_text and " kl. 9.00" in sv_text
    assert "obligatorisk" in sv_text and "kan det påverka din arbetslöshetsförmån" in sv_text
    assert "Työnvälityspiste, Bangårdsgatan 36, 20100 Åbo" in sv_text and "Åbonejdens sysselsättningsområde" in sv_text
    _, sv_cal = calendar_of(sv)
    assert sv_cal.walk("VEVENT")[0].decoded("dtstart") == starts

    # The client with only a phone is invited by SMS, in Swedish, to the E.164 number.
    ids = answer["messages"]
    await wait_for(lambda: len(sms_outbox(svc.outbox)) == 1)
    [(sms_id, sms)] = sms_outbox(svc.outbox).items()
    assert sms_id in ids
    assert sms["to"] == "+358507654321" and sms["sender"] == "Tyollisyys"
    assert sms["body"].startswith("Kallelse till startinfo") and format_when(starts, "sv", HELSINKI) in sms["body"]
    # The place in Swedish, for a Swedish client reached only by SMS; in 2 parts.
    assert "Bangårdsgatan 36, Åbo" in sms["body"] and "Ratapihankatu" not in sms["body"]
    assert (sms["encoding"], sms["segments"]) == ("GSM-7", 2)

    # Reminders wait in the queue for 16:00 the day before; they are not sent now.
    stored = await messages_by(svc, ids)
    reminders = [m for m in stored.values() if m.template == "kickoff-reminder"]
    expected = datetime.combine(starts.date() - timedelta(days=1), datetime.min.time().replace(hour=16), tzinfo=HELSINKI)
    assert sorted(m.refs["client"] for m in reminders) == ["C-1001", "C-3001"]
    assert all(m.send_at == expected and m.status == "created" for m in reminders)
    for mid in ids:
        if stored[mid].template != "kickoff-reminder":
            assert (await svc.final(mid)).status == "sent"


async def test_phone_numbers_are_normalised_and_a_landline_fails_alone(start_service):
    svc = await start_service()
    phones = {"C-1": "050-123 4567", "C-2": "+358 40 1234567", "C-3": "0401234567", "C-4": "02 123 4567"}
    data = scheduled("S-PHONE", [invitee(cid, "fi", email=None, phone=p) for cid, p in phones.items()],
                     starts_at=session_start(days_ahead=5))
    status, answer = await svc.case.send("kickoff.scheduled", data)
    assert status == 202
    await wait_for(lambda: len(sms_outbox(svc.outbox)) == 3)
    assert sorted(s["to"] for s in sms_outbox(svc.outbox).values()) == ["+358401234567", "+358401234567", "+358501234567"]
    stored = await messages_by(svc, answer["messages"])
    landline = [m for m in stored.values() if m.refs["client"] == "C-4"]
    assert {(m.template, m.status, m.reason) for m in landline} == {
        ("kickoff-invitation-sms", "permanent-failure", "invalid-phone"),
        ("kickoff-reminder", "permanent-failure", "invalid-phone")}
    status, view = await svc.api("GET", f"/api/messages/{landline[0].id}")
    assert view["status"] == "permanent-failure" and view["reason"] == "invalid-phone"


async def test_no_show_flow_with_a_correction(start_service, smtp):
    sink, port = smtp
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    starts = session_start(days_ahead=3)
    clients = [
        invitee("C-A", "fi", phone="040 1111111"),
        invitee("C-B", "sv", phone="050 2222222"),
        invitee("C-C", "fi"),  # e-mail only: the no-show goes by e-mail
        invitee("C-D", "fi", email=None, phone="045 4444444"),
    ]
    status, _ = await svc.case.send("kickoff.scheduled", scheduled("S-NS", clients, starts_at=starts, staff_language="sv"))
    assert status == 202
    await wait_for(lambda: len(sink.messages) == 3)  # invitations by e-mail to A, B, C
    await wait_for(lambda: len(sms_outbox(svc.outbox)) == 1)  # invitation SMS to D
    sink.messages.clear()
    before = set(sms_outbox(svc.outbox))

    next_starts = starts + timedelta(days=7)
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-NS", ["C-A", "C-D"], next_starts))
    assert status == 202, answer
    assert len(answer["call_prompts"]) == 2

    def new_sms():
        return {k: v for k, v in sms_outbox(svc.outbox).items() if k not in before}

    await wait_for(lambda: len(new_sms()) == 1 and len(sink.messages) == 2)
    [sms] = new_sms().values()
    assert sms["to"] == "+358502222222" and sms["body"].startswith("Du kom inte till startinfon")
    # No staff phone, no provider phone: the authority's number, and the consequence as "may".
    assert "Ring Åbonejdens sysselsättningsområde, tfn 02 262 3000" in sms["body"]
    assert "kan frånvaron påverka" in sms["body"]
    assert format_when(next_starts, "sv", HELSINKI) in sms["body"]
    assert sms["encoding"] == "GSM-7" and sms["segments"] <= 2
    mails = {m["To"].addresses[0].addr_spec: m for m in sink.messages}
    assert mails["c-c@example.fi"]["Subject"] == "Et tullut alkuinfoon"
    no_show_fi = mails["c-c@example.fi"].get_body(("plain",)).get_content()
    assert "Turun seudun työllisyysalue, puh. 02 262 3000" in no_show_fi and "voi vaikuttaa" in no_show_fi
    staff_mail = mails["staff.st-7@example.fi"]
    assert staff_mail["Content-Language"] == "sv"  # the staff member's language, not the clients'
    assert staff_mail["Subject"] == f"Samtalslista: startinfo {format_when(starts, 'sv', HELSINKI)}"
    staff_text = staff_mail.get_body(("plain",)).get_content()
    assert "- Sven Åström, +358502222222, svenska" in staff_text
    assert "- Matti Meikäläinen, c-c@example.fi" not in staff_text and "finska" in staff_text

    # Correction: C-B was there after all, C-D was not.
    sink.messages.clear()
    before = set(sms_outbox(svc.outbox))
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-NS", ["C-A", "C-B"], next_starts))
    assert status == 202
    stored = await messages_by(svc, answer["messages"])
    assert sorted((m.template, m.refs.get("client", "staff")) for m in stored.values()) == [
        ("kickoff-call-prompts", "staff"), ("kickoff-no-show", "C-D")]
    await wait_for(lambda: len(new_sms()) == 1 and len(sink.messages) == 1)
    assert [s["to"] for s in new_sms().values()] == ["+358454444444"]
    correction_text = sink.messages[0].get_body(("plain",)).get_content()
    assert "korrigerats" in correction_text and "(ny)" in correction_text

    # Every absent client has exactly one no-show message, whatever the corrections.
    all_messages = await svc.runtime.store.find("session", "S-NS")
    no_shows = sorted(m.refs["client"] for m in all_messages if m.template in ("kickoff-no-show", "kickoff-no-show-email"))
    assert no_shows == ["C-B", "C-C", "C-D"]

    # The same correction again (a new webhook id) sends nothing.
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-NS", ["C-A", "C-B"], next_starts))
    assert status == 202 and answer["messages"] == [] and answer["call_prompts"] == []

    # Prompts: C-B's is withdrawn by the correction, C-C and C-D are open.
    status, listing = await svc.api("GET", "/api/call-prompts?session_id=S-NS")
    assert status == 200
    assert sorted((p["client_id"], p["status"]) for p in listing["call_prompts"]) == [
        ("C-B", "withdrawn"), ("C-C", "open"), ("C-D", "open")]


async def test_concurrent_corrections_send_each_no_show_once(start_service):
    svc = await start_service(worker=False)
    clients = [invitee(f"C-{i}", "fi", email=None, phone=f"040 100 00{i:02d}") for i in range(6)]
    status, _ = await svc.case.send("kickoff.scheduled", scheduled("S-RACE", clients))
    assert status == 202
    corrections = [attendance("S-RACE", ["C-0"]), attendance("S-RACE", ["C-0", "C-1"]),
                   attendance("S-RACE", ["C-0"]), attendance("S-RACE", ["C-1", "C-2"])]
    results = await asyncio.gather(*(svc.case.send("kickoff.attendance", c) for c in corrections))
    assert all(status == 202 for status, _ in results), results
    messages = await svc.runtime.store.find("session", "S-RACE")
    no_shows = [m.refs["client"] for m in messages if m.template == "kickoff-no-show"]
    assert sorted(no_shows) == sorted(set(no_shows))  # nobody twice
    assert set(no_shows) >= {"C-3", "C-4", "C-5"}
    state = await load_session(svc.runtime.redis, svc.runtime.store.sealer, "S-RACE")
    assert state.notified == set(no_shows) and state.attendance_count == 4
    assert sorted(state.prompts) == sorted(set(no_shows))


async def test_a_decision_read_before_the_watch_is_made_again(start_service):
    """The window between reading the session and watching it: another request commits in it."""
    svc = await start_service(worker=False)
    status, _ = await svc.case.send("kickoff.scheduled", scheduled("S-W", [invitee("C-1", "fi", email=None, phone="040 1234567")]))
    assert status == 202
    from notifier.casework.events import KickoffAttendance
    from notifier.kickoff.handlers import kickoff_attendance

    event = KickoffAttendance("S-W", ())
    rt, store = svc.runtime, svc.runtime.store
    interleaved = []

    async def decide_with_interleaving() -> Outcome:
        outcome = await kickoff_attendance(event, rt)
        if not interleaved:
            interleaved.append(await commit(store, lambda: kickoff_attendance(event, rt)))
        return outcome

    answer = await commit(store, decide_with_interleaving)
    assert len(interleaved[0]["messages"]) == 2  # the no-show SMS and the staff e-mail
    assert answer["messages"] == []  # decided again under the watch: nothing left to send
    messages = await store.find("session", "S-W")
    assert [m.template for m in messages].count("kickoff-no-show") == 1


async def test_cancellation_drops_reminders_and_tells_invitees(start_service):
    svc = await start_service()
    clients = [invitee("C-1", "fi", phone="040 1234567"), invitee("C-2", "sv", email=None, phone="050 7654321")]
    status, answer = await svc.case.send("kickoff.scheduled", scheduled("S-CAN", clients, starts_at=session_start(6)))
    assert status == 202
    stored = await messages_by(svc, answer["messages"])
    reminder_ids = [m.id for m in stored.values() if m.template == "kickoff-reminder"]
    assert len(reminder_ids) == 2
    for mid in set(answer["messages"]) - set(reminder_ids):
        await svc.final(mid)

    status, answer = await svc.case.send("kickoff.cancelled", {"session_id": "S-CAN"})
    assert status == 202, answer
    for rid in reminder_ids:
        m = await svc.runtime.store.get(rid)
        assert m.status == "cancelled" and m.reason == "session-cancelled"
        assert [h.status for h in m.history] == ["created", "cancelled"]
    notices = await messages_by(svc, answer["messages"])
    assert sorted((m.template, m.channel) for m in notices.values()) == [("kickoff-cancelled", "email"), ("kickoff-cancelled-sms", "sms")]
    for mid in notices:
        assert (await svc.final(mid)).status == "sent"
    [email_id] = [m.id for m in notices.values() if m.channel == "email"]
    mail = message_from_bytes((svc.outbox / "email" / f"{email_id}.eml").read_bytes(), policy=policy.default)
    assert mail["Subject"] == "Alkuinfo on peruttu"
    part, cal = calendar_of(mail)
    assert part.get_param("method") == "CANCEL" and str(cal.walk("VEVENT")[0]["status"]) == "CANCELLED"
    [cancelled] = cal.walk("VEVENT")
    assert cancelled.decoded("sequence") == 1 and str(cancelled["uid"]).startswith("kickoff-S-CAN@")
    assert str(cancelled["organizer"]) == f"mailto:{svc.settings.mail_from}"
    assert str(cancelled["attendee"]).startswith("mailto:")
    sms = sms_outbox(svc.outbox)[next(m.id for m in notices.values() if m.channel == "sms")]
    assert sms["body"].startswith("Startinfon ") and "är inställd" in sms["body"] and sms["to"] == "+358507654321"

    # Cancelling again does nothing; attendance and rescheduling under the same id are refused.
    status, again = await svc.case.send("kickoff.cancelled", {"session_id": "S-CAN"})
    assert status == 202 and again["messages"] == []
    status, problem = await svc.case.send("kickoff.attendance", attendance("S-CAN", []))
    assert status == 422 and problem["errors"][0]["field"] == "data.session_id"
    status, problem = await svc.case.send("kickoff.scheduled", scheduled("S-CAN", clients, starts_at=session_start(6)))
    assert status == 422 and problem["errors"][0]["field"] == "data.session.id"


async def test_unknown_sessions_and_bad_events_are_422_and_store_nothing(start_service):
    svc = await start_service(worker=False)
    status, problem = await svc.case.send("kickoff.attendance", attendance("S-NOPE", ["C-1"]))
    assert status == 422
    assert problem["errors"] == [{"field": "data.session_id", "detail": "no kickoff session with this id has been scheduled"}]
    status, problem = await svc.case.send("kickoff.cancelled", {"session_id": "S-NOPE"})
    assert status == 422 and problem["errors"][0]["field"] == "data.session_id"

    bad = scheduled("S-BAD", [invitee("C-1"), invitee("C-1"), {"id": "C-2", "first_name": "X", "last_name": "Y", "language": "en"}])
    bad["session"]["ends_at"] = bad["session"]["starts_at"]
    del bad["session"]["staff"]["email"]
    status, problem = await svc.case.send("kickoff.scheduled", bad)
    assert status == 422
    assert {e["field"] for e in problem["errors"]} == {
        "data.session.ends_at", "data.session.staff.email", "data.invitees[1].id", "data.invitees[2].language"}
    past = scheduled("S-PAST", [invitee("C-1")], starts_at=datetime.now(timezone.utc) - timedelta(hours=1))
    status, problem = await svc.case.send("kickoff.scheduled", past)
    assert status == 422 and problem["errors"][0]["field"] == "data.session.starts_at"
    assert await svc.runtime.redis.keys("notifier:kickoff:*") == []
    assert await svc.runtime.redis.keys("notifier:msg:*") == []


async def test_reminder_is_not_planned_when_its_time_has_passed(start_service):
    svc = await start_service(worker=False)
    soon = datetime.now(HELSINKI) + timedelta(hours=2)  # the day before at 16:00 is behind us
    status, answer = await svc.case.send("kickoff.scheduled", scheduled("S-SOON", [invitee("C-1", phone="040 1234567")], starts_at=soon))
    assert status == 202
    assert [m.template for m in await svc.runtime.store.get_many(answer["messages"])] == ["kickoff-invitation"]


async def test_call_prompt_api(start_service):
    svc = await start_service()
    clients = [invitee("C-1", "fi", phone="040 1234567"), invitee("C-2", "sv", phone="02 123 4567"), invitee("C-3", "fi")]
    starts = session_start()
    await svc.case.send("kickoff.scheduled", scheduled("S-API", clients, starts_at=starts))
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-API", ["C-3"]))
    assert status == 202

    assert (await svc.api("GET", "/api/call-prompts?session_id=S-API", token=None))[0] == 401
    assert (await svc.api("GET", "/api/call-prompts?session_id=S-API", token="wrong"))[0] == 401
    status, problem = await svc.api("GET", "/api/call-prompts")
    assert status == 422 and problem["errors"][0]["field"] == "session_id"
    assert (await svc.api("GET", "/api/call-prompts?session_id=S-NONE"))[0] == 404

    status, listing = await svc.api("GET", "/api/call-prompts?session_id=S-API")
    assert status == 200
    prompts = {p["client_id"]: p for p in listing["call_prompts"]}
    assert set(prompts) == {"C-1", "C-2"} and {p["id"] for p in prompts.values()} == set(answer["call_prompts"])
    fi, sv = prompts["C-1"], prompts["C-2"]
    assert (fi["name"], fi["phone"], fi["language"], fi["status"]) == ("Matti Meikäläinen", "+358401234567", "fi", "open")
    assert sv["phone"] == "+35821234567"  # a landline cannot take the SMS, but staff can call it
    # The caller introduces themself and their organisation, checks who answered, then the questions.
    assert fi["script"].startswith("Hei, täällä Maija Meikäläinen, Palveluntuottaja.")
    assert "Onko puhelimessa Matti?" in fi["script"] and "voi vaikuttaa" in fi["script"]
    assert "velvoittava" in fi["script"] and format_when(starts, "fi", HELSINKI) in fi["script"]
    assert sv["script"].startswith("Hej, det här är Maija Meikäläinen, Serviceproducenten.")
    assert "Talar jag med Sven?" in sv["script"] and "obligatorisk" in sv["script"] and "kan det påverka" in sv["script"]
    assert fi["created_at"].endswith(("+02:00", "+03:00")) and fi["outcome"] is None

    url = f"/api/call-prompts/{fi['id']}/outcome"
    assert (await svc.api("POST", url, token=None, json={"outcome": "reached"}))[0] == 401
    status, problem = await svc.api("POST", url, json={"outcome": "maybe"})
    assert status == 422 and problem["errors"][0]["field"] == "outcome"
    status, problem = await svc.api("POST", url, json={"note": "x"})
    assert status == 422 and problem["errors"][0]["field"] == "outcome"
    assert (await svc.api("POST", "/api/call-prompts/nope/outcome", json={"outcome": "reached"}))[0] == 404

    status, first = await svc.api("POST", url, json={"outcome": "no-answer"})
    assert status == 200 and first["outcome"] == "no-answer" and first["status"] == "done"
    status, second = await svc.api("POST", url, json={"outcome": "rescheduled", "note": "Tulee seuraavaan alkuinfoon."})
    assert status == 200
    assert [(o["outcome"], o["note"]) for o in second["outcomes"]] == [
        ("no-answer", None), ("rescheduled", "Tulee seuraavaan alkuinfoon.")]
    status, listing = await svc.api("GET", "/api/call-prompts?session_id=S-API")
    again = {p["client_id"]: p for p in listing["call_prompts"]}
    assert again["C-1"]["outcome"] == "rescheduled" and again["C-2"]["status"] == "open"


async def test_session_personal_data_is_sealed_in_redis(start_service):
    svc = await start_service(worker=False)
    await svc.case.send("kickoff.scheduled", scheduled("S-SEAL", [invitee("C-1", "fi", phone="040 1234567")]))
    await svc.case.send("kickoff.attendance", attendance("S-SEAL", []))
    for key in await svc.runtime.redis.keys("notifier:kickoff:*") + await svc.runtime.redis.keys("notifier:prompt:*"):
        if (await svc.runtime.redis.type(key)) != b"hash":
            continue
        raw = b"".join(v for v in (await svc.runtime.redis.hgetall(key)).values())
        for secret in (b"Meik", b"040", b"+358", b"c-1@example", b"Ratapihankatu", b"maija"):
            assert secret not in raw, (key, secret)
        assert await svc.runtime.redis.ttl(key) > 0
