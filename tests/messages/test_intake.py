"""`intake.commit` against a real Redis: what a decision reads, and how many round trips it costs."""

from __future__ import annotations

import threading

import redis as redis_sync
from redis.asyncio import Redis

from notifier.messages.intake import Outcome, Reads, Replay, commit
from notifier.messages.store import MessageStore
from notifier.sealing import Sealer, generate_key
from tests.support.service import referral


async def test_prefetched_state_is_read_fresh_when_it_changed_before_the_commit(redis_url):
    """The watched hash comes with the idempotency key in one round trip; a change made after that
    read (by another request) fails the transaction, and the decision is made again on fresh reads."""
    redis = Redis.from_url(redis_url)
    other = Redis.from_url(redis_url)
    try:
        store = MessageStore(redis, Sealer((generate_key(),)))
        await redis.hset("test:state", mapping={"n": "1"})
        reads = Reads(redis)
        seen: list[bytes] = []

        async def decide() -> Outcome:
            fields = await reads.hgetall("test:state")
            seen.append(fields[b"n"])
            if len(seen) == 1:
                await other.hset("test:state", "n", "2")  # another request commits meanwhile
            return Outcome(stage=lambda pipe, ids: pipe.hset("test:state", "decided", fields[b"n"]),
                           answer={"n": fields[b"n"].decode()})

        answer = await commit(store, decide, idem_key="test:idem", watch=["test:state"], prefetch=reads)
        assert seen == [b"1", b"2"] and answer["n"] == "2"
        assert await redis.hget("test:state", "decided") == b"2"
        again = await commit(store, decide, idem_key="test:idem", watch=["test:state"], prefetch=Reads(redis))
        assert isinstance(again, Replay) and again["n"] == "2" and len(seen) == 2
    finally:
        await redis.aclose()
        await other.aclose()


def _monitor(url: str, lines: list[str], ready: threading.Event) -> None:
    client = redis_sync.Redis.from_url(url)
    with client.monitor() as m:
        ready.set()
        for command in m.listen():
            if command.get("client_type") != "lua":  # what a script runs is not a round trip
                lines.append(command["command"])
            if "STOP-MONITOR" in command["command"]:
                return


async def test_a_referral_webhook_costs_three_round_trips_to_redis(start_service, redis_url):
    """WATCH; the webhook-id and the client's state in one script; the transaction (with the
    answer's count). A budget, so that a change which adds a round trip is seen."""
    svc = await start_service(worker=False)
    assert (await svc.case.send("client.referred", referral("C-RT0")))[0] == 202  # warm: scripts loaded
    await svc.runtime.redis.script_flush()  # and once without the script in Redis's cache
    for client_id in ("C-RT1", "C-RT2"):
        lines: list[str] = []
        ready = threading.Event()
        watcher = threading.Thread(target=_monitor, args=(redis_url, lines, ready))
        watcher.start()
        assert ready.wait(10)  # set once MONITOR's OK is read: every later command is seen, in order
        assert (await svc.case.send("client.referred", referral(client_id)))[0] == 202
        redis_sync.Redis.from_url(redis_url).get("STOP-MONITOR")
        watcher.join(10)
        names = [line.split(" ", 1)[0].strip('"').upper() for line in lines if "STOP-MONITOR" not in line]
        names = [n for n in names if n != "AUTH"]
        outside = names[:names.index("MULTI")] + names[names.index("EXEC") + 1:]
        if client_id == "C-RT1":  # the script was flushed: loaded again on the watched connection
            assert outside == ["WATCH", "EVALSHA", "SCRIPT", "EVALSHA"], names
        else:
            assert outside == ["WATCH", "EVALSHA"], names
