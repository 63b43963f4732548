"""The coordinators' "Needs attention" queue: lines from real records (a message that reached no
one, an unreachable client, a call not made for over a working day), marking them handled, both
languages, bad input. The page's clock is injected (monkeypatched `utcnow`), never slept on."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notifier.clock import utcnow
from notifier.console import attention as attention_page
from notifier.console.attention import Line, attention_lines, untouched_since
from notifier.console.keys import ATTENTION_HANDLED
from tests.support.console import COORDINATOR, Browsers, console_service
from tests.support.kickoff import attendance, invitee, past_start, scheduled, session_start
from tests.support.service import referral

TZ = ZoneInfo("Europe/Helsinki")


@pytest.fixture
async def browsers():
    b = Browsers()
    yield b
    await b.close()


def test_a_prompt_is_untouched_after_the_same_time_on_the_next_working_day():
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=TZ)
    assert untouched_since(friday, TZ).astimezone(TZ) == datetime(2026, 12, 7, 10, 0, tzinfo=TZ)


def test_lines_are_newest_first_and_know_when_they_were_handled():
    now = datetime(2026, 12, 10, 12, tzinfo=TZ)
    old = Line("msg:1", "no-channel", now - timedelta(days=2), "no-channel", "C-1")
    new = Line("msg:2", "digest", now - timedelta(hours=1), "smtp-550", staff_id="ST-1")
    prompt = {"id": "P-1", "client_id": "C-2", "staff_id": "ST-7", "session_id": "S-1"}
    lines = attention_lines([old, new], [({"session": "S-1", "client": "C-3", "reason": "wrong-number"}, now)],
                            [(prompt, now - timedelta(days=3), True), ({**prompt, "id": "P-2"}, now - timedelta(days=3), False),
                             ({**prompt, "id": "P-3"}, now - timedelta(hours=2), True)],
                            {"msg:1": {"by": "k@x.fi", "at": "…"}}, now, TZ)
    assert [ln.key for ln in lines] == ["unreachable:S-1:C-3", "msg:2", "msg:1", "prompt:P-1"]
    assert lines[2].handled == {"by": "k@x.fi", "at": "…"} and lines[0].handled is None


async def test_queue_in_both_languages_mark_handled_and_bad_input(start_service, browsers, monkeypatch):
    svc = await console_service(start_service)
    # A referral letter that reaches no one (no e-mail, phone or address).
    status, _ = await svc.case.send("client.referred", referral("C-NOONE", email=None, phone=None))
    assert status == 202
    # Two absent clients: one gets a wrong number (unreachable), the other's call is never made.
    await svc.case.send("kickoff.scheduled", scheduled("S-ATT", [invitee("C-W", "fi", phone="040 1234567"),
                                                                 invitee("C-U", "fi", phone="050 7654321")],
                                                       starts_at=session_start(days_ahead=1)))
    past_start(svc, session_start(days_ahead=1))
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-ATT", []))
    status, listing = await svc.api("GET", "/api/call-prompts?session_id=S-ATT")
    [wrong] = [p for p in listing["call_prompts"] if p["client_id"] == "C-W"]
    assert (await svc.api("POST", f"/api/call-prompts/{wrong['id']}/outcome", json={"outcome": "wrong-number"}))[0] == 200

    later = utcnow() + timedelta(days=5)  # past the next working day, whatever today is
    monkeypatch.setattr(attention_page, "utcnow", lambda: later)
    fi = await browsers.signed_in(svc, language="fi")
    page = await fi.get("/console/attention")
    assert page.status == 200 and "Vaatii huomiota" in page.text
    assert "C-NOONE" in page.text and "Ei tavoittanut ketään" in page.text
    assert "C-W" in page.text and "Asiakasta ei tavoitettu puhelimella (wrong-number)" in page.text
    assert "C-U" in page.text and "Soittamatta" in page.text
    assert "/console/messages?kind=client&amp;id=C-NOONE" in page.text

    sv = await browsers.signed_in(svc, language="sv")
    page_sv = await sv.get("/console/attention")
    assert page_sv.status == 200 and "Kräver åtgärd" in page_sv.text and "Kunden kunde inte nås per telefon" in page_sv.text

    item = "unreachable:S-ATT:C-W"
    assert f'value="{item}"' in page.text
    # Bad input changes nothing.
    assert (await fi.get("/console/attention?days=abc")).status == 400
    assert (await fi.get("/console/attention?days=0")).status == 400
    await fi.get("/console/attention")
    assert (await fi.post("/console/attention/handled", {"item": "msg:nonexistent"})).status == 400
    assert (await fi.post("/console/attention/handled", {"item": item}, csrf="forged")).status == 403
    assert not await svc.runtime.redis.hgetall(ATTENTION_HANDLED)

    await fi.get("/console/attention")
    page = await fi.post("/console/attention/handled", {"item": item})
    assert page.status == 200 and page.url.endswith("/console/attention?days=14")
    assert f'value="{item}"' not in page.text and "C-NOONE" in page.text
    page = await fi.get("/console/attention?show=all")
    assert f"Käsitellyt: {COORDINATOR}" in page.text

    # The call list of the untouched client: recording the call takes the line away.
    [untouched] = [p for p in listing["call_prompts"] if p["client_id"] == "C-U"]
    await svc.api("POST", f"/api/call-prompts/{untouched['id']}/outcome", json={"outcome": "reached"})
    page = await fi.get("/console/attention")
    assert not re.search(r"C-U\b", page.text)
