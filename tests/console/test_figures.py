"""The coordinators' figures: the pure computation, and the page and CSV over real records."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from notifier.console.figures import Raw, SessionFacts, compute
from tests.support.console import Browsers, console_service
from tests.support.kickoff import attendance, invitee, past_start, scheduled, session_start

NOW = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)


@pytest.fixture
async def browsers():
    b = Browsers()
    yield b
    await b.close()


def test_figures_from_records():
    raw = Raw(
        sessions=[SessionFacts("S-1", "turku", NOW, 4, 1, True), SessionFacts("S-2", "turku", NOW, 3, 0, False)],
        calls=[{"session": "S-1", "client": "C-1", "outcome": "no-answer", "at": "2026-12-01T10:00:00+00:00"},
               {"session": "S-1", "client": "C-1", "outcome": "reached", "at": "2026-12-02T10:00:00+00:00"},
               {"session": "S-1", "client": "C-2", "outcome": "wrong-number", "at": "2026-12-01T10:00:00+00:00"}],
        unreachable=[{"session": "S-1", "client": "C-2"}],
        rebooked=[{"from": "S-1", "client": "C-3", "session": "S-2", "site": "turku"}],
        messages=[("sms", "delivered"), ("sms", "permanent-failure"), ("email", "sent"), ("none", "permanent-failure")],
        acks=[("2026-W49", 3, 4), ("2026-W49", 1, 4)],
    )
    charts = {c.name: c for c in compute(raw)}
    [s1] = charts["attendance"].rows  # S-2 has no attendance yet
    assert (s1.label, s1.value, s1.detail["no_show_rate"]) == ("S-1", 75.0, 25.0)
    assert {r.label: r.value for r in charts["outcomes"].rows} == {
        "reached": 1, "no-answer": 1, "wrong-number": 1, "rescheduled": 0, "rebooked": 1}
    assert {r.label: r.detail["clients"] for r in charts["reachability"].rows} == {"reached": 2, "unreachable": 1, "open": 0}
    assert {r.label: r.value for r in charts["delivery"].rows} == {"email": 100.0, "none": 0.0, "sms": 50.0}
    assert [(r.label, r.value) for r in charts["acks"].rows] == [("2026-W49", 50.0)]


def test_ten_thousand_clients_are_one_pass():
    calls = [{"session": f"S-{i % 50}", "client": f"C-{i}", "outcome": "no-answer", "at": "2026-12-01T10:00:00+00:00"}
             for i in range(10_000)]
    raw = Raw(sessions=[SessionFacts(f"S-{i}", "turku", NOW, 200, 20, True) for i in range(50)], calls=calls,
              messages=[("sms", "delivered")] * 20_000)
    charts = {c.name: c for c in compute(raw)}
    assert charts["outcomes"].rows[1].value == 10_000 and len(charts["attendance"].rows) == 50


async def test_page_and_csv_in_both_languages_and_bad_input(start_service, browsers):
    svc = await console_service(start_service)
    await svc.case.send("kickoff.scheduled", scheduled("S-F", [invitee("C-1", "fi", phone="040 1234567"),
                                                               invitee("C-2", "sv")], starts_at=session_start(days_ahead=1)))
    past_start(svc, session_start(days_ahead=1))
    await svc.case.send("kickoff.attendance", attendance("S-F", ["C-2"]))
    status, listing = await svc.api("GET", "/api/call-prompts?session_id=S-F")
    await svc.api("POST", f"/api/call-prompts/{listing['call_prompts'][0]['id']}/outcome", json={"outcome": "reached"})
    day = (datetime.now(timezone.utc) + timedelta(days=1)).date()
    period = f"from={(day - timedelta(days=3)).isoformat()}&to={(day + timedelta(days=1)).isoformat()}"

    fi = await browsers.signed_in(svc, language="fi")
    page = await fi.get(f"/console/figures?{period}&site=turku")
    assert page.status == 200 and "<svg" in page.text and "Luvut" in page.text
    assert "Alkuinfoihin osallistuminen tilaisuuksittain" in page.text and "S-F" in page.text
    assert "<table>" in page.text and "50.0 %" in page.text  # one of two attended
    sv = await browsers.signed_in(svc, language="sv")
    page = await sv.get(f"/console/figures?{period}")
    assert page.status == 200 and "Siffror" in page.text and "Samtalens resultat" in page.text

    async with fi.http.get(fi.url(f"/console/figures.csv?{period}&site=turku")) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows[0] == ["chart", "label", "value", "unit", "details"]
    assert ["outcomes", "reached", "1", "count", ""] in rows
    assert any(r[:4] == ["attendance", "S-F", "50.0", "percent"] for r in rows)

    for bad in ("from=yesterday", "from=2026-12-10&to=2026-12-01", "from=2020-01-01&to=2026-01-01", "site=<x>"):
        assert (await fi.get(f"/console/figures?{bad}")).status == 400, bad
        async with fi.http.get(fi.url(f"/console/figures.csv?{bad}")) as resp:
            assert resp.status == 400
