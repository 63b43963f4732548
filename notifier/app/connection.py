"""Connections to Redis: a plain URL, or a primary found through Redis Sentinel.

With `REDIS_SENTINELS` set, both our client and arq's pool ask the sentinels for the current
primary of `REDIS_SENTINEL_MASTER`, so a failover needs no restart (the worker supervisor in
`server.py` reconnects when the old primary goes away).
"""

from __future__ import annotations

from arq.connections import RedisSettings
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from notifier.app.config import Settings


def redis_client(settings: Settings) -> Redis:
    if settings.redis_sentinels:
        sentinel = Sentinel(list(settings.redis_sentinels), socket_timeout=5)
        return sentinel.master_for(settings.redis_sentinel_master, socket_keepalive=True)
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set")
    return Redis.from_url(settings.redis_url, health_check_interval=10, socket_keepalive=True)


def arq_redis_settings(settings: Settings) -> RedisSettings:
    if settings.redis_sentinels:
        rs = RedisSettings(host=list(settings.redis_sentinels), sentinel=True,  # type: ignore[arg-type]
                           sentinel_master=settings.redis_sentinel_master)
    else:
        assert settings.redis_url
        rs = RedisSettings.from_dsn(settings.redis_url)
    rs.conn_retries = 30
    rs.conn_retry_delay = 1
    return rs
