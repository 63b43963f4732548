"""The contact log: a client's messages and calls, and everyone's as CSV for a range of days."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

from tests.support.service import API_TOKEN, referral
from tests.support.kickoff import HELSINKI, attendance, invitee, scheduled, started

from notifier.messages import contact_log as contacts

PERSONAL = ["Matti", "Meikäläinen", "example.fi", "040 1234567", "+358401234567", "Comes to the next"]


async def get_csv(svc, start: str, end: str, token: str | None = API_TOKEN) -> tuple[int, str, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with svc.http.get(svc.url + "/api/contacts.csv", params={"from": start, "to": end}, headers=headers) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def test_client_contacts_list_messages_with_times_and_no_content(start_service):
    svc = await start_service()
    _, answer = await svc.case.send("client.referred", referral("C-1001", "fi"))
    [letter] = answer["messages"]
    _, answer = await svc.case.send("kickoff.scheduled", scheduled("S-CL-1", [invitee("C-1001", phone="040 1234567")]))
    for mid in [letter, *answer["messages"]]:
        await svc.final(mid, ("sent", "created"))
    await svc.final(letter)
    await svc.case.send("client.referred", referral("C-1002", "fi"))  # someone else

    status, body = await svc.api("GET", "/api/clients/C-1001/contacts")
    assert status == 200 and body["client_id"] == "C-1001"
    rows = body["contacts"]
    assert {r["template"] for r in rows} == {"referral", "kickoff-invitation", "kickoff-reminder"}
    assert all(r["kind"] == "message" and r["client_id"] == "C-1001" for r in rows)
    assert list(rows[0]) == list(contacts.COLUMNS)
    referral_row = next(r for r in rows if r["template"] == "referral")
    assert referral_row["status"] == "sent" and referral_row["channel"] == "email"
    assert datetime.fromisoformat(referral_row["sent_at"]) >= datetime.fromisoformat(referral_row["created_at"])
    reminder = next(r for r in rows if r["template"] == "kickoff-reminder")
    assert reminder["session_id"] == "S-CL-1" and reminder["status"] == "created" and reminder["sent_at"] is None
    assert datetime.fromisoformat(reminder["at"]) > datetime.fromisoformat(reminder["created_at"])  # due later
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    assert not [w for w in PERSONAL if w in json.dumps(body, ensure_ascii=False)]

    status, body = await svc.api("GET", "/api/clients/C-404/contacts")
    assert status == 200 and body["contacts"] == []
    status, _ = await svc.api("GET", "/api/clients/C-1001/contacts", token=None)
    assert status == 401


async def test_call_outcomes_are_contacts_and_reach_the_csv(start_service):
    svc = await start_service()
    starts = datetime.now(HELSINKI) + timedelta(minutes=1)
    _, answer = await svc.case.send("kickoff.scheduled", scheduled(
        "S-CL-2", [invitee("C-2001", phone="040 1234567"), invitee("C-2002")], starts_at=starts))
    assert answer.get("messages"), answer
    started(svc)
    _, answer = await svc.case.send("kickoff.attendance", attendance("S-CL-2", ["C-2002"]))
    [prompt_id] = answer["call_prompts"]
    for outcome in ("no-answer", "reached"):
        status, _ = await svc.api("POST", f"/api/call-prompts/{prompt_id}/outcome",
                                  json={"outcome": outcome, "note": "Comes to the next session, says Matti"})
        assert status == 200

    status, body = await svc.api("GET", "/api/clients/C-2001/contacts")
    calls = [r for r in body["contacts"] if r["kind"] == "call"]
    assert [(c["outcome"], c["id"], c["session_id"], c["staff_id"]) for c in calls] == [
        ("no-answer", prompt_id, "S-CL-2", "ST-7"), ("reached", prompt_id, "S-CL-2", "ST-7")]
    assert {r["template"] for r in body["contacts"] if r["kind"] == "message"} >= {"kickoff-invitation", "kickoff-no-show"}
    assert not [w for w in PERSONAL if w in json.dumps(body, ensure_ascii=False)]

    today = datetime.now(HELSINKI).date()
    status, text, headers = await get_csv(svc, (today - timedelta(days=1)).isoformat(), (today + timedelta(days=3)).isoformat())
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == list(contacts.COLUMNS)
    rows = [dict(zip(lines[0], line)) for line in lines[1:]]
    assert {r["client_id"] for r in rows} == {"C-2001", "C-2002"}
    assert [r["outcome"] for r in rows if r["kind"] == "call"] == ["no-answer", "reached"]
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    assert not [w for w in PERSONAL if w in text]


async def test_csv_takes_local_days_and_refuses_bad_ranges(start_service):
    svc = await start_service()
    await svc.case.send("client.referred", referral("C-3001", "fi"))
    today = datetime.now(HELSINKI).date()
    status, text, _ = await get_csv(svc, today.isoformat(), today.isoformat())
    assert status == 200 and len(text.strip().splitlines()) == 2
    status, text, _ = await get_csv(svc, (today + timedelta(days=1)).isoformat(), (today + timedelta(days=2)).isoformat())
    assert status == 200 and text.strip().splitlines() == [",".join(contacts.COLUMNS)]  # a header row even when empty
    for start, end, field in [("2026-13-01", "2026-12-01", "from"), ("2026-12-02", "2026-12-01", "to"),
                              ("2020-01-01", "2029-01-01", "to"), ("2026-12-01", "", "to")]:
        status, text, headers = await get_csv(svc, start, end)
        assert status == 422 and headers["Content-Type"].startswith("application/problem+json")
        assert field in [e["field"] for e in json.loads(text)["errors"]]
    status, _, _ = await get_csv(svc, today.isoformat(), today.isoformat(), token="wrong")
    assert status == 401


async def test_export_pages_by_score_so_inserts_during_it_repeat_nothing(redis_url):
    """Scores tie in runs longer than a page, and rows arrive while the export reads."""
    from datetime import datetime, timezone

    from redis.asyncio import Redis

    from notifier.messages.contact_log import BATCH, _by_score

    redis = Redis.from_url(redis_url)
    try:
        base = 1_800_000_000_000
        members = {f"m{i:05d}": base + (i // (BATCH + 7)) for i in range(3 * BATCH)}  # ties spanning pages
        await redis.zadd("test:contacts", members)
        low = datetime.fromtimestamp(base / 1000, timezone.utc)
        high = datetime.fromtimestamp((base + 10_000) / 1000, timezone.utc)
        seen: list[str] = []
        async for member in _by_score(redis, "test:contacts", low, high):
            seen.append(member.decode())
            if len(seen) == BATCH + 3:  # a new contact, scored before the read position
                await redis.zadd("test:contacts", {"early": base})
        assert len(seen) == len(set(seen))
        assert set(members) <= set(seen)
    finally:
        await redis.delete("test:contacts")
        await redis.aclose()
