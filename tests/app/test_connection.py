"""`redis_client`: the connection class per URL scheme, and hiredis packing the very bytes redis-py's
own (Python) packing makes."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection

from notifier.app.config import Settings
from notifier.app.connection import redis_client


@pytest.mark.parametrize("url, kind", [
    ("redis://:pw@127.0.0.1:6379/0", "_TcpConnection"),
    ("unix://:pw@/run/redis/redis.sock?db=0", "_UnixConnection"),
    ("rediss://:pw@redis.example:6380/0", "_TlsConnection"),
])
async def test_each_scheme_gets_a_connection_that_packs_with_hiredis(url, kind):
    client = redis_client(Settings(redis_url=url))
    try:
        assert client.connection_pool.connection_class.__name__ == kind
        assert client.connection_pool.connection_kwargs["health_check_interval"] == 10
    finally:
        await client.aclose()


@pytest.mark.parametrize("args", [
    ("GET", "k"),
    ("HSET", "notifier:msg:1", "meta", '{"id":"1"}', "personal", b"gAAAA\x00\xff", "attempts", 0),
    ("ZADD", "notifier:active", 1796047722.556291, "m"),
    ("SET", "k", "Meikäläinen – €", "EX", 604800),
    ("SET", "k", ""),
    ("CONFIG GET", "maxmemory"),
    (b"SCRIPT LOAD", "return 1"),
    ("XADD", "notifier:work", "*", "job", "x" * 10_000),
])
def test_hiredis_packs_what_redis_py_packs(args):
    ours = redis_client(Settings(redis_url="redis://127.0.0.1:6379/0")).connection_pool.connection_class()
    theirs = Connection()
    assert b"".join(ours.pack_command(*args)) == b"".join(theirs.pack_command(*args))
