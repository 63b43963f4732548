"""Whole flows with logging at DEBUG: no personal value may appear in any captured log line."""

from __future__ import annotations

import logging

from tests.support.service import referral

PERSONAL = ["Matti", "Meikäläinen", "Sven", "Ström", "example.fi", "040 1234567", "+358401234567", "1234567"]


#: Loggers of the test's own stand-ins (aiosmtpd logs every line it receives): not the service.
STAND_INS = ("mail.log",)


def assert_clean(caplog, more: tuple[str, ...] = ()) -> None:
    records = [r for r in caplog.records if not r.name.startswith(STAND_INS)]
    values = [*PERSONAL, *more]
    leaks = [(r.name, p) for r in records for p in values if p in f"{r.getMessage()} {r.exc_text or ''}"]
    assert not leaks, f"personal data in logs: {leaks}"
    assert records, "nothing was logged at all: the test would prove nothing"


async def test_referral_flows_log_no_personal_data(start_service, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    sink, port = smtp
    sink.refuse_with, sink.refuse_times = "451 4.3.0 later", 1
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    ids = []
    for i, lang in enumerate(["fi", "sv"]):
        _, answer = await svc.case.send("client.referred", referral(f"C-80{i}", lang))
        ids += answer["messages"]
    _, answer = await svc.case.send("client.referred", referral("C-802", "fi", email=None))
    ids += answer["messages"]
    bad = referral("C-803")
    bad["client"]["language"] = "Meikäläinen"
    status, _ = await svc.case.send("client.referred", bad)
    assert status == 422
    for mid in ids:
        await svc.final(mid)
    await svc.api("GET", "/api/messages?client_id=C-800")
    assert_clean(caplog)


async def test_kickoff_staff_and_letter_flows_log_no_personal_data(start_service, smtp, caplog):
    """Every other flow at DEBUG: kickoff with no-shows and call prompts, staff directory, digest,
    acknowledgement links, announcements, subscription, and a paper letter with an identity code."""
    from tests.support.kickoff import attendance, invitee, scheduled, session_start
    from tests.support.staff import (
        GENERAL,
        SALO_SV,
        TURKU_FI,
        finished_run,
        links_in,
        mails_to,
        post_change,
        put_staff,
        run_digest,
        staff_service,
        text_of,
    )

    caplog.set_level(logging.DEBUG)
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    # Kickoff: invitations, no-shows, call prompts and an outcome.
    clients = [invitee("C-900", "fi", phone="040 1234567"), invitee("C-901", "sv", email=None, phone="+358 50 765 4321")]
    assert (await svc.case.send("kickoff.scheduled", scheduled("S-LOG", clients, starts_at=session_start(2))))[0] == 202
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-LOG", []))
    assert status == 202
    for mid in answer["messages"]:
        await svc.final(mid)
    _, prompts = await svc.api("GET", "/api/call-prompts?session_id=S-LOG")
    prompt_id = prompts["call_prompts"][0]["id"]
    assert (await svc.api("POST", f"/api/call-prompts/{prompt_id}/outcome", json={"outcome": "reached", "note": "Matti tulee ensi viikolla"}))[0] == 200
    # Staff: directory, a practice change, a digest, an acknowledgement, an announcement, a subscription.
    await put_staff(svc, "ST-900", TURKU_FI)
    await put_staff(svc, "ST-901", SALO_SV)
    await post_change(svc, GENERAL)
    await finished_run(svc, (await run_digest(svc))["id"])
    [mail] = mails_to(sink, TURKU_FI["email"])
    ack = links_in(text_of(mail), "acknowledge")[0]
    async with svc.http.post(ack.replace("http://notifier.test", svc.url)) as resp:
        assert resp.status == 200
    status, ann = await svc.api("POST", "/api/announcements", json={
        "subject": {"fi": "Tiedote", "sv": "Meddelande"}, "body": {"fi": "Hei Tiina", "sv": "Hej Siv"},
        "audience": {"sites": ["salo"]}, "channels": ["email", "sms"]})
    assert status in (200, 201, 202)
    async with svc.http.post(svc.url + "/subscribe", data={"email": "sofia.lindqvist@infopiste.example"}) as resp:
        assert resp.status == 200
    # A paper letter for a client with an identity code and an address.
    letter = referral("C-902", "fi", email=None)
    letter["client"].update(first_name="Šárka", last_name="Žižková", personal_id="131052-308T",
                            address={"street": "Kauppakatu 5 B 12", "postal_code": "24100", "city": "Salo"})
    status, answer = await svc.case.send("client.referred", letter)
    assert status == 202
    await svc.final(answer["messages"][0])
    assert_clean(caplog, ("Tiina", "Turunen", "Siv Holm", "tyollisyysalue.example", "infopiste.example", "Šárka",
                          "Žižková", "131052-308T", "Kauppakatu", "7654321", "Matti tulee"))
