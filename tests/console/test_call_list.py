"""The call list (soittolista) end to end: real app, Redis, worker and callback receiver. A staff
member opens the link from the call-prompt e-mail, records calls on the page's forms, and the
API, the contact log and the case system see the same records; unanswered calls come back as
second attempts, and after the last one the client is unreachable (callback, daily e-mail)."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from html import unescape

from notifier.app.config import Party
from notifier.clock import utcnow
from notifier.kickoff.unreachable import report_unreachable
from notifier.kickoff.workdays import follow_up_due
import pytest

from tests.support.callbacks import CALLBACK_SECRET
from tests.support.console import Browsers
from tests.support.kickoff import attendance, invitee, past_start, scheduled
from tests.support.service import wait_for
from tests.support.staff import local_path, staff_service

_CALL_LIST = re.compile(r"https?://\S+/console/calls/[A-Za-z0-9_.\-]+")
_FORM = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture
async def browsers():
    b = Browsers()
    yield b
    await b.close()


def emails(svc, template_subject: str = "") -> list:
    folder = svc.outbox / "email"
    found = []
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime) if folder.exists() else []:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        if template_subject in str(msg["Subject"]):
            found.append(msg)
    return found


async def call_list_service(start_service, receiver, **changes):
    return await staff_service(start_service, status_callback_url=receiver.url, status_callback_secret=CALLBACK_SECRET,
                               office=Party("Turun seudun työllisyysalue", "02 123 4567", "tyollisyys@turku.example"),
                               **changes)


async def absent_session(svc, session_id="S-CALL-1"):
    data = scheduled(session_id, [invitee("C-1001", "fi", phone="040 1234567"),
                                  invitee("C-2001", "sv", phone="050 7654321")])
    status, _ = await svc.case.send("kickoff.scheduled", data)
    assert status == 202
    past_start(svc)
    status, answer = await svc.case.send("kickoff.attendance", attendance(session_id, []))
    assert status == 202, answer
    def mine():
        texts = [m.get_body(("plain",)).get_content() for m in emails(svc, "Soittolista")]
        return [t for t in texts if session_id in t]
    [text] = await wait_for(mine)
    [link] = _CALL_LIST.findall(text)
    return local_path(link, svc), answer["call_prompts"]


def forms(page) -> dict[str, str]:
    """Client id -> the action of its outcome form."""
    out = {}
    for m in re.finditer(r'<section class="panel call" id="c-([^"]+)"(.*?)</section>', page.text, re.S):
        action = _FORM.search(m.group(2))
        if action:
            out[m.group(1)] = unescape(action.group(1))
    return out


async def prompts_of(svc, session_id="S-CALL-1"):
    status, answer = await svc.api("GET", f"/api/call-prompts?session_id={session_id}")
    assert status == 200
    return answer["call_prompts"]


async def test_staff_records_both_absentees_from_the_emailed_link(start_service, receiver, browsers):
    svc = await call_list_service(start_service, receiver)
    link, prompt_ids = await absent_session(svc)
    browser = browsers.new(svc)
    page = await browser.get(link)
    assert page.status == 200
    assert "Soittolista" in page.text and 'href="tel:+358401234567"' in page.text and 'href="tel:+358507654321"' in page.text
    assert "voi vaikuttaa" in page.text
    assert "Matti" in page.text and "Sven" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer" and "no-store" in page.headers["Cache-Control"]
    actions = forms(page)
    assert set(actions) == {"C-1001", "C-2001"}
    assert all(any(pid in a for pid in prompt_ids) for a in actions.values())

    page = await browser.post(actions["C-1001"], {"outcome": "no-answer", "note": "ei vastannut"})
    assert page.status == 200 and "Puhelu on kirjattu" in page.text
    page = await browser.post(forms(page)["C-2001"], {"outcome": "reached", "note": ""})
    assert page.status == 200

    listed = {p["client_id"]: p for p in await prompts_of(svc) if p["attempt"] == 1}
    assert listed["C-1001"]["outcome"] == "no-answer" and listed["C-1001"]["outcomes"][0]["note"] == "ei vastannut"
    assert listed["C-2001"]["outcome"] == "reached" and listed["C-2001"]["status"] == "done"
    await wait_for(lambda: len(receiver.accepted("call_prompt.outcome")) == 2)
    assert all(p.verified for p in receiver.posts)
    status, log = await svc.api("GET", "/api/clients/C-1001/contacts")
    assert status == 200 and any(c.get("outcome") == "no-answer" for c in log["contacts"])


async def test_no_answers_become_second_attempts_then_unreachable_with_callback_and_one_daily_email(
        start_service, receiver, browsers):
    svc = await call_list_service(start_service, receiver)
    link, _ = await absent_session(svc)
    browser = browsers.new(svc)
    before = utcnow()
    page = await browser.get(link)
    for attempt in (1, 2, 3):
        page = await browser.post(forms(page)["C-1001"], {"outcome": "no-answer"})
        assert page.status == 200
        chain = sorted((p for p in await prompts_of(svc) if p["client_id"] == "C-1001"), key=lambda p: p["attempt"])
        if attempt < 3:
            assert len(chain) == attempt + 1
            nxt = chain[-1]
            assert nxt["status"] == "open" and nxt["outcome"] is None
            assert nxt["due_at"] is not None
            due = follow_up_due(before, svc.settings.timezone)
            assert abs((nxt["due_at"] and __import__("datetime").datetime.fromisoformat(nxt["due_at"])) - due) < timedelta(days=1, minutes=1)
        else:
            assert len(chain) == 3
    assert "Ei tavoitettu" in page.text
    await wait_for(lambda: receiver.accepted("client.unreachable"))
    [event] = receiver.accepted("client.unreachable")
    assert event["data"]["client_id"] == "C-1001" and event["data"]["reason"] == "no-answer"
    assert event["data"]["attempts"] == 3 and event["data"]["session_id"] == "S-CALL-1"

    # A wrong number makes the other client unreachable at once.
    page = await browser.post(forms(page)["C-2001"], {"outcome": "wrong-number"})
    assert page.status == 200
    await wait_for(lambda: len(receiver.accepted("client.unreachable")) == 2)

    # The daily e-mail: one, listing both; running the job again the same day sends nothing.
    first = await report_unreachable(svc.runtime, utcnow() + timedelta(seconds=1))
    assert first is not None
    assert await report_unreachable(svc.runtime, utcnow() + timedelta(seconds=2)) is None
    mail = (await wait_for(lambda: emails(svc, "tavoittamatta")))[0]
    assert mail["To"].addresses[0].addr_spec == "tyollisyys@turku.example"
    text = mail.get_body(("plain",)).get_content()
    assert "C-1001" in text and "C-2001" in text and "väärä numero" in text
    # The next day with nobody new: no empty e-mail.
    assert await report_unreachable(svc.runtime, utcnow() + timedelta(days=1)) is None


async def test_bad_input_on_the_call_list_changes_nothing(start_service, receiver, browsers):
    svc = await call_list_service(start_service, receiver)
    link, prompt_ids = await absent_session(svc)
    browser = browsers.new(svc)
    page = await browser.get(link)
    action = forms(page)["C-1001"]

    assert (await browser.post(action, {"outcome": "maybe"})).status == 400
    assert (await browser.post(action, {"outcome": "reached", "note": "x" * 2001})).status == 400
    assert (await browser.post(action, {"outcome": "reached"}, csrf="forged")).status == 403
    assert (await browser.post(action, {"outcome": "reached"}, csrf=None)).status == 403
    other = action.rsplit("/", 1)[0] + "/not-a-prompt?lang=fi"
    page = await browser.get(link)
    assert (await browser.post(other, {"outcome": "reached"})).status == 404
    assert (await browser.get(link[:-3] + "abc")).status == 404
    assert (await browser.get("/console/calls/nonsense")).status == 404
    # Another session's link does not open this session's prompts.
    other_link, _ = await absent_session(svc, "S-CALL-2")
    page = await browser.get(other_link)
    assert "C-1001" in page.text  # its own absentees (same ids, different session)
    assert all(p["outcome"] is None for p in await prompts_of(svc))
    assert not receiver.accepted("call_prompt.outcome")
