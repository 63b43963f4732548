"""Status callbacks to the case system, against a real receiver on loopback (`callback_helpers.py`):
signed (checked with `standardwebhooks`), ids only, in order per message, retried on any non-2xx
answer (3xx and 4xx included) and timeouts, the endpoint disabled by a 410 Gone until enabled
again, and kept in Redis across worker restarts."""

from __future__ import annotations

import contextlib

import json
from datetime import datetime

from tests.support.callbacks import CALLBACK_SECRET
from tests.support.service import referral, wait_for

from notifier.messages import callbacks as cb
from notifier.messages import status as st

PERSONAL = ["Matti", "Meikäläinen", "Sven", "Ström", "example.fi", "040 1234567", "+358401234567"]


def callback_settings(rec) -> dict:
    return {"status_callback_url": rec.url, "status_callback_secret": CALLBACK_SECRET}


async def test_message_status_events_are_signed_ordered_and_hold_ids_only(start_service, receiver):
    svc = await start_service(**callback_settings(receiver))
    _, answer = await svc.case.send("client.referred", referral("C-1001", "fi"))
    [sent_id] = answer["messages"]
    _, answer = await svc.case.send("client.referred", referral("C-1002", "sv", email=None))
    [failed_id] = answer["messages"]  # no channel: recorded as permanent-failure at intake
    await svc.final(sent_id)
    assert (await svc.runtime.store.move(sent_id, st.DELIVERED)).moved  # as a delivery report does

    await wait_for(lambda: len(receiver.accepted()) == 3)
    assert all(p.verified for p in receiver.posts)
    assert [p.payload["data"]["status"] for p in receiver.for_message(sent_id)] == ["sent", "delivered"]
    [failed] = [p.payload for p in receiver.for_message(failed_id)]
    assert failed["type"] == "message.status"
    assert failed["data"] == {
        "message_id": failed_id, "client_id": "C-1002", "template": "referral", "channel": "none",
        "status": "permanent-failure", "reason": "no-channel", "at": failed["data"]["at"],
    }
    sent = receiver.for_message(sent_id)[0].payload
    assert sent["data"]["client_id"] == "C-1001" and sent["data"]["channel"] == "email"
    assert sent["data"]["reason"] is None
    # Times in Europe/Helsinki, and the same instant as the message's own history.
    message = await svc.runtime.store.get(sent_id)
    at = datetime.fromisoformat(sent["data"]["at"])
    assert at.utcoffset() == message.history[-2].at.astimezone(svc.settings.timezone).utcoffset()
    assert at == message.history[-2].at and sent["timestamp"] == sent["data"]["at"]
    # Every post has its own id; nothing personal in any body.
    assert len({p.webhook_id for p in receiver.posts}) == 3
    bodies = json.dumps([p.payload for p in receiver.posts], ensure_ascii=False)
    assert not [word for word in PERSONAL if word in bodies]
    # Everything answered: nothing left in Redis.
    assert await wait_for(lambda: _drained(svc))


async def _drained(svc) -> bool:
    return await svc.runtime.redis.zcard(cb.DUE) == 0 and not await svc.runtime.redis.keys(cb.QUEUE_PREFIX + "*")


async def test_5xx_and_429_are_retried_and_later_events_wait_their_turn(start_service, receiver):
    delivered_recorded = False

    def answer(webhook_id, payload, attempt):
        if payload["data"]["status"] == "sent":
            if attempt == 1:
                return 503
            if not delivered_recorded:
                return 429  # keeps failing until the next event is queued behind it
        return 200

    receiver.answer = answer
    svc = await start_service(**callback_settings(receiver))
    _, answer_ = await svc.case.send("client.referred", referral("C-2001", "fi"))
    [mid] = answer_["messages"]
    await svc.final(mid)
    await wait_for(lambda: len(receiver.for_message(mid)) >= 2)  # the sent event failed twice at least
    assert (await svc.runtime.store.move(mid, st.DELIVERED)).moved
    delivered_recorded = True
    await wait_for(lambda: len(receiver.accepted()) == 2)
    statuses = [(p.payload["data"]["status"], p.status) for p in receiver.for_message(mid)]
    first_ok = statuses.index(("sent", 200))
    assert statuses[0] == ("sent", 503) and statuses[1] == ("sent", 429)
    assert all(s == "sent" for s, _ in statuses[:first_ok + 1])
    assert statuses[first_ok + 1:] == [("delivered", 200)]  # never before the sent event got through
    assert len({p.webhook_id for p in receiver.for_message(mid) if p.payload["data"]["status"] == "sent"}) == 1


async def test_a_400_or_a_redirect_is_a_failed_attempt_and_retried(start_service, receiver):
    """Standard Webhooks: anything but 2xx is a failure to retry, 3xx included (redirects are not followed)."""
    receiver.answer = lambda webhook_id, payload, attempt: {1: 400, 2: 302}.get(attempt, 200)
    svc = await start_service(**callback_settings(receiver))
    _, answer = await svc.case.send("client.referred", referral("C-3001", "fi"))
    [mid] = answer["messages"]
    await wait_for(lambda: receiver.accepted())
    posts = receiver.for_message(mid)
    assert [(p.payload["data"]["status"], p.status) for p in posts] == [("sent", 400), ("sent", 302), ("sent", 200)]
    assert len({p.webhook_id for p in posts}) == 1 and all(p.verified for p in posts)
    assert await wait_for(lambda: _drained(svc))
    counts = {k.decode(): int(v) for k, v in (await svc.runtime.redis.hgetall(cb.METRICS)).items()}
    assert counts["message.status|retried"] == 2 and counts["message.status|delivered"] == 1
    assert counts["answer|400"] == counts["answer|302"] == 1


async def test_a_410_disables_the_endpoint_until_it_is_enabled_again(start_service, receiver):
    """410 Gone: nothing more is posted; events stay queued; `notifier check` fails and the metric
    shows it; `notifier callbacks enable` sends what waited, in order."""
    from notifier.app.check import FAIL, check_callback_receiver
    from notifier.messages.metrics_scrape import render

    receiver.answer = lambda webhook_id, payload, attempt: 410 if not receiver.posts else 200  # the first post only
    svc = await start_service(**callback_settings(receiver))
    rt = svc.runtime
    _, answer = await svc.case.send("client.referred", referral("C-3101", "fi"))
    [mid] = answer["messages"]
    await svc.final(mid)
    await wait_for(lambda: receiver.posts)
    await wait_for(lambda: cb.disabled_since(rt.redis))
    assert (await rt.store.move(mid, st.DELIVERED)).moved  # recorded and queued, but not posted
    assert await rt.redis.llen(cb.queue_key(cb.message_stream(mid))) == 2
    assert await cb.CallbackDispatcher(svc.settings, rt.redis).run_once() == 0  # a dispatcher posts nothing
    [finding] = await check_callback_receiver(svc.settings, 2)
    assert finding.level == FAIL and "410" in finding.detail and "notifier callbacks enable" in finding.detail
    assert b"notifier_status_callbacks_disabled 1.0" in await render(rt.redis)
    assert [(p.payload["data"]["status"], p.status) for p in receiver.posts] == [("sent", 410)]

    assert await cb.enable(rt.redis)
    await wait_for(lambda: len(receiver.accepted()) == 2)
    assert [(p.payload["data"]["status"], p.status) for p in receiver.for_message(mid)] == [
        ("sent", 410), ("sent", 200), ("delivered", 200)]
    assert all(p.verified for p in receiver.posts)
    assert await wait_for(lambda: _drained(svc))
    assert b"notifier_status_callbacks_disabled 0.0" in await render(rt.redis)
    assert await check_callback_receiver(svc.settings, 2) == []


def test_webhook_ids_are_opaque_without_dots_and_short():
    """Standard Webhooks: ids must not contain `.` (they are signed as `id.timestamp.body`); <= 256."""
    now = datetime.now()
    ack = cb.acknowledgement_event("pc.2026.1", "hr:st.9", now)["id"]
    assert "." not in ack and ":" not in ack and len(ack) <= 256
    assert ack == cb.acknowledgement_event("pc.2026.1", "hr:st.9", now)["id"]  # the same person and change
    assert cb.wire_id("msg_6f1c_3") == "msg_6f1c_3"
    old = cb.wire_id("ack_pc.1_st.9")  # recorded by an older version and still queued
    assert "." not in old and old == cb.wire_id("ack_pc.1_st.9") and old != cb.wire_id("ack_pc.1_st.8")
    assert len(cb.wire_id("x" * 300)) <= 256


async def test_a_receiver_that_does_not_answer_is_retried_after_the_timeout(start_service, receiver):
    receiver.answer = lambda webhook_id, payload, attempt: "hang" if attempt == 1 else 200
    svc = await start_service(send_timeout_seconds=0.5, **callback_settings(receiver))
    _, answer = await svc.case.send("client.referred", referral("C-4001", "fi"))
    [mid] = answer["messages"]
    await wait_for(lambda: receiver.accepted())
    posts = receiver.for_message(mid)
    assert [p.status for p in posts] == [0, 200] and posts[0].webhook_id == posts[1].webhook_id

    async def counts() -> dict[str, int]:
        return {k.decode(): int(v) for k, v in (await svc.runtime.redis.hgetall(cb.METRICS)).items()}

    # The dispatcher counts an answer just after it has it: wait (with a deadline) for the count.
    async def counted() -> bool:
        return "message.status|delivered" in await counts()

    with contextlib.suppress(AssertionError):
        await wait_for(counted, timeout=5)
    found = await counts()
    assert found.get("answer|timeout") == 1 and found.get("message.status|delivered") == 1, found


async def test_events_wait_in_redis_for_a_worker(start_service, receiver):
    web_only = await start_service(worker=False, **callback_settings(receiver))
    _, answer = await web_only.case.send("client.referred", referral("C-5001", "fi", email=None))
    [mid] = answer["messages"]
    assert await web_only.runtime.redis.llen(cb.queue_key(cb.message_stream(mid))) == 1
    assert receiver.posts == []
    await start_service(**callback_settings(receiver))  # a worker comes up later (or again)
    await wait_for(lambda: receiver.accepted())
    assert [p.payload["data"]["status"] for p in receiver.for_message(mid)] == ["permanent-failure"]


async def test_without_a_callback_url_nothing_is_recorded(start_service):
    svc = await start_service()
    _, answer = await svc.case.send("client.referred", referral("C-6001", "fi"))
    await svc.final(answer["messages"][0])
    _, answer = await svc.case.send("client.referred", referral("C-6002", "fi", email=None))
    assert not await svc.runtime.redis.keys("notifier:callbacks:*")


async def test_call_outcomes_and_first_acknowledgements_are_called_back(start_service, receiver):
    from datetime import timedelta

    from tests.support.kickoff import HELSINKI, attendance, invitee, scheduled, started
    from tests.support.staff import GENERAL, SIGNING_SECRET, TURKU_FI, post_change, put_staff

    from notifier.staff.links import Links
    from notifier.staff.directory import StaffDirectory

    svc = await start_service(signing_secrets=(SIGNING_SECRET,), **callback_settings(receiver))
    starts = datetime.now(HELSINKI) + timedelta(minutes=1)
    await svc.case.send("kickoff.scheduled", scheduled("S-CB-1", [invitee("C-7001", phone="040 1234567")], starts_at=starts))
    started(svc)
    _, answer = await svc.case.send("kickoff.attendance", attendance("S-CB-1", []))
    [prompt_id] = answer["call_prompts"]
    for outcome in ("no-answer", "reached"):
        status, _ = await svc.api("POST", f"/api/call-prompts/{prompt_id}/outcome",
                                  json={"outcome": outcome, "note": "Matti Meikäläinen answered at 040 1234567"})
        assert status == 200

    await put_staff(svc, "ST-9", TURKU_FI)
    change_id = await post_change(svc, GENERAL)
    rt = svc.runtime
    member = await StaffDirectory(rt.redis, rt.store.sealer, rt.settings.signing_secrets).get("ST-9")
    link = Links(rt.settings.signing_secrets, svc.url).acknowledge(member, change_id)
    for _ in range(2):  # the second acknowledgement changes nothing and calls nothing back
        async with svc.http.post(link) as resp:
            assert resp.status == 200

    await wait_for(lambda: len(receiver.accepted("call_prompt.outcome")) == 2
                   and len(receiver.accepted("practice_change.acknowledged")) == 1)
    assert all(p.verified for p in receiver.posts)
    calls = receiver.accepted("call_prompt.outcome")
    assert [c["data"]["outcome"] for c in calls] == ["no-answer", "reached"]
    assert calls[0]["data"] == {"call_prompt_id": prompt_id, "session_id": "S-CB-1", "client_id": "C-7001",
                                "staff_id": "ST-7", "outcome": "no-answer", "at": calls[0]["data"]["at"]}
    [ack] = receiver.accepted("practice_change.acknowledged")
    assert ack["data"] == {"practice_change_id": change_id, "staff_id": "ST-9", "at": ack["data"]["at"]}
    at = datetime.fromisoformat(ack["data"]["at"])
    assert at.utcoffset() == at.astimezone(HELSINKI).utcoffset()  # Helsinki time, whatever the season
    bodies = json.dumps([p.payload for p in receiver.posts], ensure_ascii=False)
    assert not [word for word in PERSONAL + ["Tiina", "Turunen", "tyollisyysalue.example"] if word in bodies]
    await wait_for(lambda: receiver.accepted("message.status"))  # the no-show SMS and the rest, too
