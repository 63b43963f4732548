"""Rebooking by the client end to end: the short link in the no-show SMS and e-mail, the page that
offers the site's upcoming sessions (full ones and other sites' left out), booking one (invitation,
call prompt `rescheduled`, `client.rebooked` callback), "call me instead", and bad input."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import aiohttp

from notifier.clock import utcnow
from notifier.kickoff.rebooking import book, link_expiry
from notifier.kickoff.store import load_session
from tests.support.callbacks import CALLBACK_SECRET
from tests.support.kickoff import attendance, invitee, past_start, scheduled, session_start, sms_outbox
from tests.support.service import wait_for
from tests.support.staff import local_path

LINK = re.compile(r"https?://[^\s]+/r/[A-Za-z0-9]{10}")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def salo(data):
    data["session"]["site"] = "salo"
    return data


def emails(svc):
    folder = svc.outbox / "email"
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in folder.glob("*.eml")] if folder.exists() else []


async def page(http, method, url, **kw):
    async with http.request(method, url, allow_redirects=True, **kw) as resp:
        return resp.status, await resp.text()


async def test_client_rebooks_from_the_no_show_sms_and_the_case_system_is_told(start_service, receiver):
    svc = await start_service(status_callback_url=receiver.url, status_callback_secret=CALLBACK_SECRET)
    send = svc.case.send
    missed = scheduled("S-MISS", [invitee("C-1", "sv", email=None, phone="040 1234567"), invitee("C-2", "fi")],
                       starts_at=session_start(days_ahead=1))
    assert (await send("kickoff.scheduled", missed))[0] == 202
    nxt = scheduled("S-NEXT", [invitee("X-1", "fi")], starts_at=session_start(days_ahead=3))
    nxt["session"]["capacity"] = 5
    full = scheduled("S-FULL", [invitee("X-2", "fi")], starts_at=session_start(days_ahead=4))
    full["session"]["capacity"] = 1
    for data in (nxt, full, salo(scheduled("S-SALO", [invitee("X-3", "fi")], starts_at=session_start(days_ahead=3)))):
        status, answer = await send("kickoff.scheduled", data)
        assert status == 202, answer
    past_start(svc, session_start(days_ahead=1))
    status, answer = await send("kickoff.attendance", attendance("S-MISS", []))
    assert status == 202

    sms = (await wait_for(lambda: [m for m in sms_outbox(svc.outbox).values()
                               if m["to"] == "+358401234567" and m["body"].startswith("Du kom inte")]))[0]
    [url] = LINK.findall(sms["body"])
    assert len(url) <= 40 and sms["segments"] <= 2 and sms["encoding"] == "GSM-7"
    assert "kan frånvaron påverka" in sms["body"]
    link = local_path(url, svc)

    async with aiohttp.ClientSession() as http:
        status, text = await page(http, "GET", link)
        assert status == 200 and 'lang="sv"' in text and "Välj en ny tid" in text
        assert text.count('name="session_id"') == 1 and 'value="S-NEXT"' in text  # not full, not another site
        assert "C-2" not in text and "X-1" not in text  # nobody's data but the session's time and place
        token = CSRF.search(text).group(1)

        # Bad input changes nothing.
        assert (await page(http, "POST", link, data={"choice": "session", "session_id": "S-NEXT"}))[0] == 403
        assert (await page(http, "POST", link, data={"csrf": "x" * 32, "choice": "session", "session_id": "S-NEXT"}))[0] == 403
        for other in ("S-FULL", "S-SALO", "S-MISS", "S-NONE", ""):
            status, _ = await page(http, "POST", link, data={"csrf": token, "choice": "session", "session_id": other})
            assert status == 400, other
        assert (await page(http, "POST", link, data={"csrf": token, "choice": "maybe"}))[0] == 400
        assert (await load_session(svc.runtime.redis, svc.runtime.store.sealer, "S-NEXT")).invitee("C-1") is None

        status, text = await page(http, "POST", link, data={"csrf": token, "choice": "session", "session_id": "S-NEXT"})
        assert status == 200 and "Du har en plats" in text
        # Once per choice: the link now shows the booking, and a second choice changes nothing.
        status, text = await page(http, "POST", link, data={"csrf": token, "choice": "call"})
        assert status == 409 and "redan använts" in text
        assert (await page(http, "GET", link))[0] == 200
        assert (await page(http, "GET", svc.url + "/r/AAAAAAAAAA"))[0] == 404
        assert (await page(http, "GET", svc.url + "/r/short"))[0] == 404

    state = await load_session(svc.runtime.redis, svc.runtime.store.sealer, "S-NEXT")
    assert state.invitee("C-1") is not None and "C-1" in state.reminders
    invitation = await wait_for(lambda: [m for m in sms_outbox(svc.outbox).values()
                                         if m["to"] == "+358401234567" and m["body"].startswith("Kallelse")])
    assert invitation
    status, listing = await svc.api("GET", "/api/call-prompts?session_id=S-MISS")
    [prompt] = [p for p in listing["call_prompts"] if p["client_id"] == "C-1"]
    assert prompt["outcome"] == "rescheduled"
    await wait_for(lambda: receiver.accepted("client.rebooked"))
    [event] = receiver.accepted("client.rebooked")
    assert event["data"] | {"at": None} == {"client_id": "C-1", "from_session_id": "S-MISS", "session_id": "S-NEXT",
                                            "call_prompt_id": prompt["id"], "at": None}

    # The case system lists the client in S-NEXT later: not invited twice; leaving them out keeps them.
    again = scheduled("S-NEXT", [invitee("X-1", "fi"), invitee("C-1", "sv", email=None, phone="040 1234567")],
                      starts_at=nxt_start(nxt))
    status, answer = await send("kickoff.scheduled", again)
    assert status == 202 and answer["messages"] == []
    status, answer = await send("kickoff.scheduled", scheduled("S-NEXT", [invitee("X-1", "fi")], starts_at=nxt_start(nxt)))
    assert status == 202
    assert (await load_session(svc.runtime.redis, svc.runtime.store.sealer, "S-NEXT")).invitee("C-1") is not None


def nxt_start(data):
    from datetime import datetime
    return datetime.fromisoformat(data["session"]["starts_at"])


async def test_call_me_instead_and_expiry(start_service):
    svc = await start_service(signing_secrets=("test-signing-secret",))
    send = svc.case.send
    await send("kickoff.scheduled", scheduled("S-A", [invitee("C-9", "fi")], starts_at=session_start(days_ahead=1)))
    later = session_start(days_ahead=5)
    await send("kickoff.scheduled", scheduled("S-B", [invitee("X-9", "fi")], starts_at=later))
    past_start(svc, session_start(days_ahead=1))
    await send("kickoff.attendance", attendance("S-A", [], next_starts=later))
    texts = await wait_for(lambda: [m.get_body(("plain",)).get_content() for m in emails(svc)
                                    if "c-9@example.fi" in str(m["To"]) and "/r/" in m.get_body(("plain",)).get_content()])
    [url] = LINK.findall(texts[0])
    link = local_path(url, svc)
    code = url.rsplit("/", 1)[1]
    # Expired when the next session starts (injected clock): nothing is booked.
    assert (await book(svc.runtime, code, "S-B", later + timedelta(minutes=1)))["result"] == "expired"
    async with aiohttp.ClientSession() as http:
        status, text = await page(http, "GET", link)
        assert status == 200 and "Soittakaa minulle" in text
        token = CSRF.search(text).group(1)
        status, text = await page(http, "POST", link, data={"csrf": token, "choice": "call"})
        assert status == 200 and "Soitamme sinulle" in text
    assert (await load_session(svc.runtime.redis, svc.runtime.store.sealer, "S-B")).invitee("C-9") is None


def test_link_expiry_is_the_next_session_at_most_two_weeks():
    now = utcnow()
    assert link_expiry(now, None, None) == now + timedelta(days=14)
    assert link_expiry(now, now + timedelta(days=2), now + timedelta(days=1)) == now + timedelta(days=1)
    assert link_expiry(now, now - timedelta(days=1), None) == now + timedelta(days=14)
    assert link_expiry(now, now + timedelta(days=30), None) == now + timedelta(days=14)


async def test_capacity_must_be_a_whole_positive_number(start_service):
    svc = await start_service(worker=False)
    for bad in (0, -1, 2.5, "10", True, 10_001):
        data = scheduled("S-CAP", [invitee("C-1", "fi")])
        data["session"]["capacity"] = bad
        status, problem = await svc.case.send("kickoff.scheduled", data)
        assert status == 422 and problem["errors"][0]["field"] == "data.session.capacity", (bad, problem)
    assert await load_session(svc.runtime.redis, svc.runtime.store.sealer, "S-CAP") is None
