"""Connections to Redis: a plain URL, or a primary found through Redis Sentinel.

With `REDIS_SENTINELS` set, both our client and arq's pool ask the sentinels for the current
primary of `REDIS_SENTINEL_MASTER`, so a failover needs no restart (the worker supervisor in
`server.py` reconnects when the old primary goes away).

Authentication and TLS: a `REDIS_URL` carries its own (`redis://:password@host:6379/0`,
`rediss://` for TLS, `REDIS_TLS_CA_FILE` for a private CA). Through sentinels,
`REDIS_SENTINEL_PASSWORD` is the sentinels' own password, `REDIS_PASSWORD` the primary's, and
`REDIS_SENTINEL_TLS=on` speaks TLS to both. arq's `RedisSettings` cannot give the sentinels a
password, so for Sentinel the worker gets a ready pool (arq's public `redis_pool` parameter).
"""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import Redis
from redis.asyncio.connection import (
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
    parse_url,
)
from redis.connection import HiredisRespSerializer
from redis.asyncio.sentinel import Sentinel

from notifier.app.config import Settings
from notifier.messages.queue import QUEUE_NAME, job_deserializer, job_serializer


def _tls(settings: Settings) -> dict[str, Any]:
    return {"ssl": True, "ssl_ca_certs": settings.redis_tls_ca_file} if settings.redis_sentinel_tls else {}


def _sentinel(settings: Settings, **primary: Any) -> Sentinel:
    """Sentinels with their own password and TLS; `primary` (and the password) go to the primary's connections."""
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": 5, **_tls(settings)}
    if settings.redis_sentinel_password:
        sentinel_kwargs["password"] = settings.redis_sentinel_password
    return Sentinel(list(settings.redis_sentinels), sentinel_kwargs=sentinel_kwargs,
                    password=settings.redis_password, **_tls(settings), **primary)


class _HiredisPacking:
    """Commands packed by hiredis (C) instead of redis-py's asyncio connection (Python).

    redis-py's own synchronous client packs with hiredis (`redis.connection.HiredisRespSerializer`);
    its asyncio client, in the 5.x series arq allows (`redis<6`), packs every argument in Python:
    17 µs for a message's HSET against 3 µs, the same bytes, and a webhook's transaction has 14
    commands (bench/README.md). `pack_command` is the connection classes' public method, and
    `connection_class` the pool's documented way to choose the class.
    """

    _serializer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        return self._serializer.pack(*args)


class _TcpConnection(_HiredisPacking, Connection):
    pass


class _UnixConnection(_HiredisPacking, UnixDomainSocketConnection):
    pass


class _TlsConnection(_HiredisPacking, SSLConnection):
    pass


#: Ours for each scheme redis-py's `parse_url` takes (it refuses any other).
_CONNECTION_CLASSES: dict[str, type[Connection]] = {
    "redis": _TcpConnection, "unix": _UnixConnection, "rediss": _TlsConnection}


def redis_client(settings: Settings) -> Redis:
    if settings.redis_sentinels:
        return _sentinel(settings, socket_timeout=5).master_for(settings.redis_sentinel_master, socket_keepalive=True)
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set")
    options: dict[str, Any] = {**parse_url(settings.redis_url), "health_check_interval": 10}
    scheme = settings.redis_url.partition("://")[0]
    if scheme == "rediss" and settings.redis_tls_ca_file:
        options["ssl_ca_certs"] = settings.redis_tls_ca_file
    if scheme != "unix":  # TCP keepalive: a dead peer is noticed
        options["socket_keepalive"] = True
    # The pool made here, with our connection class (`Redis.from_url` lets the URL's scheme choose
    # the class for unix:// and rediss://).
    options["connection_class"] = _CONNECTION_CLASSES[scheme]
    return Redis.from_pool(ConnectionPool(**options))


def arq_pool(settings: Settings) -> ArqRedis | None:
    """For Sentinel: arq's pool on the primary, with our passwords and TLS (None: arq makes its own)."""
    if not settings.redis_sentinels:
        return None
    pool = _sentinel(settings).master_for(settings.redis_sentinel_master, redis_class=ArqRedis)
    # The attributes arq's own `create_pool` sets on the pools it makes.
    pool.job_serializer = job_serializer
    pool.job_deserializer = job_deserializer
    pool.default_queue_name = QUEUE_NAME
    return pool


def arq_redis_settings(settings: Settings) -> RedisSettings:
    if settings.redis_sentinels:
        rs = RedisSettings(host=list(settings.redis_sentinels), sentinel=True,  # type: ignore[arg-type]
                           sentinel_master=settings.redis_sentinel_master)
    else:
        assert settings.redis_url
        rs = RedisSettings.from_dsn(settings.redis_url)
        if rs.ssl and settings.redis_tls_ca_file:
            rs.ssl_ca_certs = settings.redis_tls_ca_file
    rs.conn_retries = 30
    rs.conn_retry_delay = 1
    return rs
