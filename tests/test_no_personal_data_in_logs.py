"""Whole flows with logging at DEBUG: no personal value may appear in any captured log line."""

from __future__ import annotations

import logging

from conftest import referral

PERSONAL = ["Matti", "Meikäläinen", "Sven", "Ström", "example.fi", "040 1234567", "+358401234567", "1234567"]


#: Loggers of the test's own stand-ins (aiosmtpd logs every line it receives): not the service.
STAND_INS = ("mail.log",)


def assert_clean(caplog) -> None:
    records = [r for r in caplog.records if not r.name.startswith(STAND_INS)]
    leaks = [(r.name, p) for r in records for p in PERSONAL if p in f"{r.getMessage()} {r.exc_text or ''}"]
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
