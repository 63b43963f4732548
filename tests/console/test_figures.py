"""The coordinators' figures: the pure computation, and the page and CSV over real records."""

from __future__ import annotations

import csv
import re
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


async def test_coaching_per_site_on_the_page_and_in_the_csv(start_service, browsers):
    """A client counts under their coach's site (`coach.site`, else the staff directory's site for
    the coach's id, else no site); deadlines are read against the runtime's clock."""
    from notifier.clock import utcnow
    from tests.coaching.test_flow import COACH, ago, referred
    from tests.support.staff import put_staff

    svc = await console_service(start_service)
    await put_staff(svc, "K-3", {"name": "Sanna Salo", "email": "sanna.salo@te-toimisto.example", "language": "fi",
                                 "organisation": "te-office", "site": "salo"})
    turku = {**COACH, "site": "turku"}
    salo = {"id": "K-3", "name": "Sanna Salo", "email": "sanna@provider.example", "language": "fi"}
    unknown = {"id": "K-9", "name": "Ville Valmentaja", "email": "ville@provider.example", "language": "fi"}
    for cid, days, coach in (("C-late", 20, turku), ("C-soon", 9, turku), ("C-salo", 1, salo), ("C-none", 2, None),
                             ("C-unknown", 3, unknown), ("C-e1", 30, turku), ("C-e2", 30, salo)):
        assert (await svc.case.send("client.referred", referred(cid, days, coach=coach)))[0] == 202
    for cid, reason in (("C-e1", "employed"), ("C-e2", "moved")):
        assert (await svc.case.send("client.service_ended", {"client_id": cid, "at": ago(hours=1), "reason": reason}))[0] == 202
    # a repeated end changes nothing (counted once)
    assert (await svc.case.send("client.service_ended", {"client_id": "C-e1", "at": ago(minutes=5), "reason": "other"}))[0] == 202
    status, answer = await svc.case.send("client.referred", referred("C-bad", 1, coach={**turku, "site": "Turku keskusta"}))
    assert status == 422 and "data.coach.site" in str(answer)

    today = datetime.now(timezone.utc).date()
    period = f"from={(today - timedelta(days=2)).isoformat()}&to={(today + timedelta(days=1)).isoformat()}"
    fi = await browsers.signed_in(svc, language="fi")
    page = await fi.get(f"/console/figures?{period}")
    assert page.status == 200
    section = page.text[page.text.index('id="c-coaching"'):]
    cells = lambda label: re.search(rf'<th scope="row">{label}</th>(.*?)</tr>', section, re.S)  # noqa: E731
    numbers = lambda label: re.findall(r'<td class="num">(\d+)</td>', cells(label).group(1))  # noqa: E731
    # active, overdue, due in 7 days, ended, then by reason: employed, education, term-ended, moved, other
    assert "Valmennus toimipaikoittain" in section and "Päättyi: työllistyi" in section
    assert numbers("Salo") == ["1", "0", "0", "1", "0", "0", "0", "1", "0"]
    assert numbers("Turku") == ["2", "1", "1", "1", "1", "0", "0", "0", "0"]
    assert numbers("Ei toimipaikkaa") == ["2", "0", "0", "0", "0", "0", "0", "0", "0"]
    assert numbers("Yhteensä") == ["5", "1", "1", "2", "1", "0", "0", "1", "0"]
    assert section.index("Salo") < section.index("Turku") < section.index("Ei toimipaikkaa") < section.index("Yhteensä")
    assert "C-late" not in section and "Kaisa" not in section  # counts only
    assert '<option value="salo">Salo</option>' in page.text  # a coaching site is in the filter's list

    # the site filter: one site, its total; no "no site" row
    page = await fi.get(f"/console/figures?{period}&site=salo")
    section = page.text[page.text.index('id="c-coaching"'):]
    assert numbers("Yhteensä") == ["1", "0", "0", "1", "0", "0", "0", "1", "0"]
    assert "Turku" not in section and "Ei toimipaikkaa" not in section

    # six days on (the runtime's clock): the client due in 5 days is overdue, the one due in 12-13 days is near
    svc.runtime.clock = lambda: utcnow() + timedelta(days=6)
    page = await fi.get(f"/console/figures?{period}")
    section = page.text[page.text.index('id="c-coaching"'):]
    assert numbers("Turku")[:3] == ["2", "2", "0"] and numbers("Salo")[:3] == ["1", "0", "1"]
    assert numbers("Ei toimipaikkaa")[:3] == ["2", "0", "2"]

    sv = await browsers.signed_in(svc, language="sv")
    page = await sv.get(f"/console/figures?{period}")
    section = page.text[page.text.index('id="c-coaching"'):]
    assert "Coachning per verksamhetsställe" in section and numbers("Åbo")[0] == "2"
    assert numbers("Inget verksamhetsställe")[0] == "2" and numbers("Totalt")[0] == "5"

    async with fi.http.get(fi.url(f"/console/figures.csv?{period}")) as resp:
        rows = [r for r in csv.reader(io.StringIO(await resp.text())) if r[0] == "coaching"]
    assert [r[:4] for r in rows] == [["coaching", "salo", "1", "count"], ["coaching", "turku", "2", "count"],
                                     ["coaching", "(no-site)", "2", "count"], ["coaching", "(total)", "5", "count"]]
    assert rows[1][4] == ("overdue=2;due_soon=0;ended=1;ended_employed=1;ended_education=0;ended_term-ended=0;"
                          "ended_moved=0;ended_other=0")
