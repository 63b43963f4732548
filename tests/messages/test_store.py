"""The message store's compare-and-set status moves, against a real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from notifier.messages import status as st
from notifier.messages.keys import msg_key
from notifier.messages.model import PlannedMessage, Recipient
from notifier.sealing import Sealer, generate_key
from notifier.messages.store import MessageStore
from notifier.clock import new_id, utcnow


@pytest.fixture
async def store(redis_url):
    redis = Redis.from_url(redis_url)
    yield MessageStore(redis, Sealer((generate_key(),)))
    await redis.aclose()


async def _new(store: MessageStore) -> str:
    mid = new_id()
    async with store.redis.pipeline(transaction=True) as pipe:
        store.stage(pipe, mid, PlannedMessage("referral", "email", Recipient("A B", "fi", email="a@b.fi"), {}, {"client": "C-1"}), utcnow())
        await pipe.execute()
    return mid


@pytest.mark.parametrize("final", [st.DELIVERED, st.PERMANENT_FAILURE, st.TECHNICAL_FAILURE, st.CANCELLED])
async def test_final_status_is_never_overwritten(store, final):
    mid = await _new(store)
    now = utcnow()
    if final != st.CANCELLED:
        assert (await store.move(mid, st.SENDING, lease_until=now + timedelta(seconds=30), lease_token="t")).moved
    if final == st.DELIVERED:
        assert (await store.move(mid, st.SENT, lease_token="t")).moved
    assert (await store.move(mid, final, "why", lease_token="t")).moved
    for target in st.ALLOWED_FROM:
        result = await store.move(mid, target, "late", lease_until=now - timedelta(seconds=1), lease_token="t")
        assert not result.moved and result.previous == final
    m = await store.get(mid)
    assert m.status == final and m.history[-1].status == final


async def test_live_lease_cannot_be_taken_over_but_expired_one_can(store):
    mid = await _new(store)
    now = utcnow()
    assert (await store.move(mid, st.SENDING, now=now, lease_until=now + timedelta(seconds=30), lease_token="a")).moved
    assert not (await store.move(mid, st.SENDING, now=now, lease_until=now + timedelta(seconds=30), lease_token="b")).moved
    later = now + timedelta(seconds=31)
    takeover = await store.move(mid, st.SENDING, now=later, lease_until=later + timedelta(seconds=30), lease_token="b")
    assert takeover.moved and takeover.previous == st.SENDING
    # The first worker's late result no longer counts: the message belongs to the second.
    assert not (await store.move(mid, st.TEMPORARY_FAILURE, "late", now=later, lease_token="a")).moved
    assert (await store.move(mid, st.SENT, now=later, lease_token="b")).moved
    assert (await store.get(mid)).attempts == 2


async def test_delivery_report_after_sent_and_no_way_back(store):
    mid = await _new(store)
    now = utcnow()
    await store.move(mid, st.SENDING, lease_until=now + timedelta(seconds=30), lease_token="t")
    await store.move(mid, st.SENT, lease_token="t", provider_ref="gw-1")
    assert not (await store.move(mid, st.TEMPORARY_FAILURE, "late transient report")).moved
    assert (await store.move(mid, st.DELIVERED)).moved
    m = await store.get(mid)
    assert m.status == st.DELIVERED and m.provider_ref == "gw-1"


async def test_batch_claims_after_redis_lost_its_scripts(store):
    """Claims are sent by SHA (no `SCRIPT EXISTS` round trip per batch); a Redis that lost its
    script cache gets the script again, and each claim is still made exactly once."""
    ids = [await _new(store) for _ in range(3)]
    await store.redis.script_flush()
    now = utcnow()
    claims = await store.claim_many(ids, now=now, lease_until=now + timedelta(seconds=30), lease_tokens=["a", "b", "c"])
    assert [(c.moved, m.id if m else None) for c, m in claims] == [(True, i) for i in ids]
    again = await store.claim_many(ids, now=now, lease_until=now + timedelta(seconds=30), lease_tokens=["x", "y", "z"])
    assert [(c.moved, c.previous, m) for c, m in again] == [(False, st.SENDING, None)] * 3


async def _calls(redis: Redis, command: str) -> int:
    return (await redis.info("commandstats")).get(f"cmdstat_{command}", {}).get("calls", 0)


async def test_heads_read_meta_only_for_records_older_than_labels(store):
    """`labels` names the channel; a record written before it (only `meta`) is still read, and
    only such a record costs a read of `meta` (one round trip more, for those alone)."""
    new, old = await _new(store), await _new(store)
    await store.redis.hdel(msg_key(old), "labels")  # as written before `labels` existed
    now = utcnow()
    await store.move(old, st.SENDING, now=now, lease_until=now + timedelta(seconds=30), lease_token="t")
    await store.move(old, st.SENT, lease_token="t", provider_ref="gw-7")
    hget = await _calls(store.redis, "hget")
    assert await store.heads([new, "no-such-id"]) == [("email", st.CREATED, ""), None]
    assert await _calls(store.redis, "hget") == hget  # no `meta` read for records with `labels`
    assert await store.heads([old, new, "no-such-id"]) == [("email", st.SENT, "gw-7"), ("email", st.CREATED, ""), None]
    assert await _calls(store.redis, "hget") == hget + 1  # `meta` of the old record only
