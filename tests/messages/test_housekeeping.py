"""The sweeper, retention and per-channel rate limits, against a real Redis."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from notifier.messages.queue import STREAM, queue_length

from tests.support.service import referral, wait_for
from notifier.messages.rate_limit import RateLimiter, Slot
from notifier.messages.keys import ACTIVE, SETTLED
from notifier.clock import utcnow
from notifier.messages.housekeeping import erase_expired, sweep


async def test_sweeper_requeues_a_message_whose_job_was_lost(start_service):
    svc = await start_service(worker=False)
    _, answer = await svc.case.send("client.referred", referral("C-7001"))
    [mid] = answer["messages"]
    redis = svc.runtime.redis
    await redis.delete(STREAM)  # the work item is gone (as if lost with Redis's last second)
    assert await sweep(redis) == 0  # not stuck yet
    later = utcnow() + timedelta(minutes=10)
    assert await sweep(redis, now=later) == 1
    assert await queue_length(redis) == 1
    assert await sweep(redis, now=later) == 0  # not re-queued again straight away


async def test_swept_message_is_sent_once(start_service):
    svc = await start_service(worker=False)
    _, answer = await svc.case.send("client.referred", referral("C-7002"))
    [mid] = answer["messages"]
    await sweep(svc.runtime.redis, now=utcnow() + timedelta(minutes=10))  # a second job for it
    svc2 = await start_service(worker=True)
    m = await svc2.final(mid)
    assert m.status == "sent" and [h.status for h in m.history].count("sending") == 1
    assert await svc.runtime.redis.zscore(ACTIVE, mid) is None
    assert await svc.runtime.redis.zscore(SETTLED, mid) is not None


async def test_retention_erases_personal_data_but_keeps_status(start_service):
    svc = await start_service()
    _, answer = await svc.case.send("client.referred", referral("C-7003"))
    [mid] = answer["messages"]
    await svc.final(mid)
    assert await erase_expired(svc.runtime.store, 90) == 0
    assert await erase_expired(svc.runtime.store, 90, now=utcnow() + timedelta(days=91)) == 1
    m = await svc.runtime.store.get(mid)
    assert m.status == "sent" and [h.status for h in m.history] == ["created", "sending", "sent"]
    assert m.recipient.email is None and m.recipient.name == "" and "first_name" not in m.context
    raw = await svc.runtime.redis.hget(f"notifier:msg:{mid}", "personal")
    assert b"C-7003" not in raw


async def test_personal_data_is_encrypted_at_rest(start_service):
    svc = await start_service(worker=False)
    _, answer = await svc.case.send("client.referred", referral("C-7004"))
    redis = svc.runtime.redis
    dump = b"".join([await redis.dump(k) or b"" for k in await redis.keys("notifier:*")])
    assert b"Meik" not in dump and b"c-7004@example.fi" not in dump and b"Matti" not in dump


async def test_rate_limit_is_shared_between_limiters(redis_url):
    from redis.asyncio import Redis

    a, b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        rate = 20.0
        limiters = [RateLimiter(a, {"sms": rate}), RateLimiter(b, {"sms": rate})]
        slots = [await limiters[i % 2].reserve("sms") for i in range(40)]
        # 40 sends at 20/s over two "workers": on Redis's clock (not ours, so however slow this
        # machine is) the slots lie exactly 1/rate apart, none shared, spanning (40 - 1) / rate.
        at = sorted(s.at_ms for s in slots)
        assert all(s.reserved for s in slots)
        assert all(y - x >= 1000 / rate - 0.01 for x, y in zip(at, at[1:]))
        assert at[-1] - at[0] >= (40 - 1) * 1000 / rate - 0.01
        assert (await limiters[0].reserve("email")).wait_seconds == 0  # no rate set: unlimited
    finally:
        await a.aclose()
        await b.aclose()


async def test_far_slot_is_deferred_not_reserved(redis_url):
    from redis.asyncio import Redis

    r = Redis.from_url(redis_url)
    try:
        limiter = RateLimiter(r, {"email": 1.0}, max_wait=2.0)
        waits = [await limiter.reserve("email") for _ in range(4)]
        assert [s.reserved for s in waits] == [True, True, True, False]
    finally:
        await r.aclose()


async def test_email_rate_spaces_sends_through_the_worker(start_service, smtp):
    sink, port = smtp
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, email_rate=10.0)
    started = time.monotonic()
    for i in range(6):
        await svc.case.send("client.referred", referral(f"C-71{i}"))
    await wait_for(lambda: len(sink.messages) == 6, timeout=20)
    # At 10/s the sixth send's slot is at least 0.5 s after the first, which is after `started`:
    # a slow machine can only make this later, never earlier.
    assert sink.arrived_at[-1] - started >= 0.5


async def test_a_batch_reserves_its_slots_at_once_and_defers_from_the_first_far_one(redis_url):
    from redis.asyncio import Redis

    r = Redis.from_url(redis_url)
    try:
        limiter = RateLimiter(r, {"email": 2.0}, max_wait=1.2)
        slots = await limiter.reserve_many("email", 5)
        # 2/s: slots 0, 0.5 and 1.0 s away are within 1.2 s; the fourth (1.5 s) is not, nor the fifth.
        assert [s.reserved for s in slots] == [True, True, True, False, False]
        at = [s.at_ms for s in slots[:3]]
        assert all(y - x >= 500 - 0.01 for x, y in zip(at, at[1:]))
        assert 1.2 < slots[3].wait_seconds <= 1.5 + 0.01
        # Only the three reserved slots were taken: the next one lies 1.5 s after the first.
        (again,) = await limiter.reserve_many("email", 1)
        assert again.at_ms - at[0] >= 1500 - 0.01
        assert await limiter.reserve_many("sms", 3) == [Slot(0.0, True)] * 3  # no rate: unlimited
    finally:
        await r.aclose()


async def test_sends_beyond_the_rates_reach_are_deferred_and_each_sent_once(start_service, smtp, caplog):
    """At 4/s, 24 referrals span 5.75 s of slots: those beyond the worker's 5 s reach are
    deferred (re-queued for their slot's time, not held), and every one arrives exactly once."""
    caplog.set_level(logging.DEBUG, logger="notifier.delivery")
    sink, port = smtp
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, email_rate=4.0)
    started = time.monotonic()
    ids = []
    for i in range(24):
        _, answer = await svc.case.send("client.referred", referral(f"C-72{i:02d}"))
        ids += answer["messages"]
    finals = [await svc.final(mid, timeout=60) for mid in ids]
    assert {m.status for m in finals} == {"sent"}
    assert all([h.status for h in m.history].count("sending") == 1 for m in finals)  # each sent once
    assert len(sink.messages) == len(ids) == len({m["To"] for m in sink.messages})
    assert sink.arrived_at[-1] - started >= (len(ids) - 1) / 4.0 - 0.05  # never earlier than the slots allow
    assert any("for its channel's rate" in r.getMessage() for r in caplog.records)  # some were deferred
