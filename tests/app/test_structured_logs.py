"""`NOTIFIER_LOG_FORMAT=json`: JSON lines, one `message.status` event per status change of every
message (also those written inside transactions: intake, retries, cancellations), ids only."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections import defaultdict

import pytest

from tests.support.service import referral, wait_for
from tests.support.kickoff import invitee, scheduled

from notifier.app.logging_setup import configure

PERSONAL = ["Matti", "Meikäläinen", "Sven", "Ström", "Åström", "example.fi", "040 1234567", "+358401234567",
            "1234567", "Maija"]


#: Loggers of the test's own stand-ins (aiosmtpd logs every line it receives): not the service.
STAND_INS = ("mail.log",)


@pytest.fixture
def json_logs(monkeypatch):
    """The service's own logging set-up (`configure`) in JSON mode; its stderr is a buffer."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    with monkeypatch.context() as m:
        m.setattr(sys, "stderr", buffer)
        configure("DEBUG", "json")
    yield buffer.getvalue
    root.handlers[:], level = saved
    root.setLevel(level)


async def test_json_logs_have_one_status_event_per_change_and_no_personal_data(start_service, smtp, json_logs):
    sink, port = smtp
    sink.refuse_with, sink.refuse_times = "451 4.3.0 later", 1
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    ids = []
    for i, lang in enumerate(["fi", "sv"]):
        _, answer = await svc.case.send("client.referred", referral(f"C-70{i}", lang))
        ids += answer["messages"]
    _, answer = await svc.case.send("client.referred", referral("C-702", "fi", email=None))  # no channel
    ids += answer["messages"]
    _, answer = await svc.case.send("kickoff.scheduled", scheduled("S-LOGS", [invitee("C-703", phone="040 1234567")]))
    ids += answer["messages"]  # invitation and reminder
    _, answer = await svc.case.send("kickoff.cancelled", {"session_id": "S-LOGS"})
    ids += answer["messages"]  # the cancellation; the reminder moves to cancelled in the same transaction
    for mid in ids:
        await svc.final(mid)
    await wait_for(lambda: len(sink.messages) >= 4)

    def read() -> tuple[list[str], list[dict], dict[str, list[str]]]:
        lines = [line for line in json_logs().splitlines() if line.strip()]
        records = [json.loads(line) for line in lines if line.startswith("{")]
        events: dict[str, list[str]] = defaultdict(list)
        for r in records:
            if r.get("event") == "message.status":
                events[r["message_id"]].append(r["status"])
        return lines, records, events

    async def histories() -> dict[str, list[str]]:
        return {mid: [h.status for h in (await svc.runtime.store.get(mid)).history] for mid in ids}

    async def all_logged() -> bool:
        # A worker logs a status change just after writing it: wait (with a deadline) for the line.
        events, expected = read()[2], await histories()
        return all(events[mid] == expected[mid] for mid in ids)

    with contextlib.suppress(AssertionError):
        await wait_for(all_logged, timeout=10)
    lines, records, events = read()
    bad = [line for line in lines if not line.startswith("{")]
    assert not bad, "\n".join(bad[:40])  # every line is one JSON object
    assert all({"time", "level", "logger", "msg"} <= r.keys() for r in records)
    assert set(ids) <= set(events)
    expected = await histories()
    for mid in ids:
        assert events[mid] == expected[mid], (mid, events[mid], expected[mid])
    assert any(events[mid].count("temporary-failure") for mid in ids)  # the retried one is in
    assert any("cancelled" in events[mid] for mid in ids)
    service = [r for r in records if not r["logger"].startswith(STAND_INS)]
    leaks = [(r["logger"], word) for r in service for word in PERSONAL if word in json.dumps(r, ensure_ascii=False)]
    assert not leaks, leaks
