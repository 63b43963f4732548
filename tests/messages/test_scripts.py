"""`ShaScript`: a Lua script by SHA, alone or in a pipeline, loaded again when Redis has lost it
(`SCRIPT FLUSH`, as after a restart), each call run exactly once; against a real Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from notifier.messages.scripts import ShaScript

#: Counts its runs per key: a call run twice, or not at all, shows in the count.
COUNT = ShaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
FAIL = ShaScript("return redis.error_reply('no good')")


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _script_commands(redis: Redis) -> int:
    """How many SCRIPT commands (EXISTS, LOAD, FLUSH) Redis has run so far."""
    return (await redis.info("commandstats")).get("cmdstat_script", {}).get("calls", 0)


async def test_alone_it_is_loaded_again_after_a_flush(redis):
    assert await COUNT(redis, ["n"], [1]) == 1
    await redis.script_flush()
    assert await COUNT(redis, ["n"], [2]) == 3
    before = await _script_commands(redis)
    assert await COUNT(redis, ["n"], [3]) == 6
    assert await _script_commands(redis) == before  # loaded: EVALSHA alone, no SCRIPT EXISTS


async def test_alone_on_a_watched_pipeline(redis):
    await redis.script_flush()
    async with redis.pipeline(transaction=True) as pipe:
        await pipe.watch("w")
        assert await COUNT(pipe, ["n"], [5]) == 5  # runs at once (after a WATCH), loaded again
        pipe.multi()
        pipe.get("n")
        assert await pipe.execute() == [b"5"]


async def test_in_a_pipeline_each_call_runs_once_after_a_flush(redis):
    for flushed in (True, False):
        await redis.delete("a", "b")
        if flushed:
            await redis.script_flush()
        before = await _script_commands(redis)
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set("other", "x")
            calls = [COUNT.queue(pipe, ["a"], [1]), COUNT.queue(pipe, ["b"], [10])]
            pipe.get("other")
            replies = await COUNT.execute(pipe, calls)
        assert replies == [True, 1, 10, b"x"]
        assert await redis.mget("a", "b") == [b"1", b"10"]
        # Flushed: one SCRIPT LOAD (no SCRIPT EXISTS); loaded: no SCRIPT command at all.
        assert await _script_commands(redis) == before + (1 if flushed else 0)


async def test_other_errors_are_raised(redis):
    await redis.script_flush()
    async with redis.pipeline(transaction=False) as pipe:
        calls = [FAIL.queue(pipe, [], [])]
        pipe.set("after", "1")
        with pytest.raises(ResponseError, match="no good"):
            await FAIL.execute(pipe, calls)
    assert await redis.get("after") == b"1"  # a pipeline is not a transaction
