"""The work stream's consumer group (`notifier/messages/consumer.py`) against a real Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from notifier.clock import utcnow
from notifier.messages.consumer import WorkConsumer
from notifier.messages.queue import DUE, GROUP, STREAM, add_job, encode, queue_length
from tests.support.service import wait_for


class Recorder:
    """A handler that records its items and answers per item from `answers` (default True)."""

    def __init__(self) -> None:
        self.seen: list[list[Any]] = []
        self.answers: dict[str, bool | None] = {}

    async def __call__(self, items: list[list[Any]]) -> list[bool | None]:
        self.seen += items
        return [self.answers.get(item[0], True) for item in items]


async def _queue(redis: Redis, *ids: str, later: timedelta | None = None) -> None:
    now = utcnow()
    async with redis.pipeline(transaction=True) as pipe:
        for i in ids:
            add_job(pipe, "work", i, job_id=f"work:{i}", now=now, run_at=now + later if later else None)
        await pipe.execute()


async def test_items_are_run_in_batches_and_acknowledged(redis_url):
    redis = Redis.from_url(redis_url)
    try:
        await _queue(redis, *[f"m{i}" for i in range(10)])
        handler = Recorder()
        await WorkConsumer(redis, {"work": handler}, max_jobs=4, burst=True).run()
        assert sorted(i for [i] in handler.seen) == sorted(f"m{i}" for i in range(10))
        assert await queue_length(redis) == 0  # acknowledged and deleted
        assert (await redis.xpending(STREAM, GROUP))["pending"] == 0
    finally:
        await redis.aclose()


async def test_work_due_later_waits_in_the_due_set(redis_url):
    redis = Redis.from_url(redis_url)
    try:
        await _queue(redis, "later", later=timedelta(hours=1))
        handler = Recorder()
        await WorkConsumer(redis, {"work": handler}, burst=True).run()
        assert handler.seen == [] and await redis.zcard(DUE) == 1
        await _queue(redis, "now", later=timedelta(milliseconds=-1))  # due already: straight onto the stream
        await WorkConsumer(redis, {"work": handler}, burst=True).run()
        assert handler.seen == [["now"]]
    finally:
        await redis.aclose()


async def test_a_dead_consumers_items_are_taken_over_after_the_lease(redis_url):
    redis = Redis.from_url(redis_url)
    try:
        await WorkConsumer.ensure_group(redis)
        await _queue(redis, "a", "b")
        # A worker reads both items and dies before acknowledging them.
        await redis.xreadgroup(GROUP, "dead-worker", {STREAM: ">"}, count=10)
        handler = Recorder()
        alive = WorkConsumer(redis, {"work": handler}, reclaim_after_seconds=0.2, block_seconds=0.01)
        task = asyncio.create_task(alive.run())
        try:
            await wait_for(lambda: len(handler.seen) == 2, timeout=10)
            await wait_for(lambda: _settled(redis), timeout=10)
        finally:
            await alive.stop(timeout=1)
            await task
        assert sorted(handler.seen) == [["a"], ["b"]]
    finally:
        await redis.aclose()


async def test_an_item_someone_else_holds_stays_pending(redis_url):
    redis = Redis.from_url(redis_url)
    try:
        await _queue(redis, "held", "free")
        handler = Recorder()
        handler.answers["held"] = False  # its message's lease belongs to another worker
        await WorkConsumer(redis, {"work": handler}, burst=True).run()
        assert (await redis.xpending(STREAM, GROUP))["pending"] == 1 and await redis.xlen(STREAM) == 1
    finally:
        await redis.aclose()


async def _settled(redis: Redis) -> bool:
    return (await redis.xpending(STREAM, GROUP))["pending"] == 0 and await redis.xlen(STREAM) == 0


async def test_a_redis_that_lost_its_scripts_still_moves_due_work(redis_url):
    """The move of due work is sent by SHA (no `SCRIPT EXISTS` per read); a Redis without it in
    its script cache (restarted) gets it loaded again, and nothing due is left behind."""
    redis = Redis.from_url(redis_url)
    try:
        await redis.zadd(DUE, {encode("work:due", "work", ["due"]): 1})  # due long ago
        await redis.script_flush()
        handler = Recorder()
        await WorkConsumer(redis, {"work": handler}, burst=True).run()
        assert handler.seen == [["due"]] and await redis.zcard(DUE) == 0
        assert await queue_length(redis) == 0
    finally:
        await redis.aclose()
