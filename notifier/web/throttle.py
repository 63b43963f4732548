"""Per-client request limits in Redis, for forms anyone can post (e.g. `/subscribe`).

Fixed one-hour windows counted in Redis, so every web process shares them. The client address
is keyed through an HMAC, so no IP address is stored in the clear.
"""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web
from redis.asyncio import Redis

from notifier.keyspace import PREFIX


def client_key(request: web.Request, secret: str) -> str:
    """The peer address (set `NOTIFIER_TRUST_FORWARDED`-style proxies up to pass the real one)."""
    address = request.remote or "unknown"
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


async def over_limit(redis: Redis, scope: str, key: str, limit: int, window_seconds: int = 3600) -> bool:
    name = f"{PREFIX}throttle:{scope}:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(name, 0, ex=window_seconds, nx=True)  # the window starts with the first request
        pipe.incr(name)
        _, count = await pipe.execute()
    return int(count) > limit
