"""Per-client request limits in Redis, for forms anyone can post (e.g. `/subscribe`).

Fixed windows counted in Redis, so every web process shares them. The client address is keyed
through an HMAC, so no IP address is stored in the clear.

Behind a load balancer the peer is the balancer, and a limit per peer would let one person close a
form for everyone. The client is read from `X-Forwarded-For` only when the peer is one of
`NOTIFIER_TRUSTED_PROXIES`: walking the header from the right, the first address that is not a
trusted proxy is the client (what a trusted proxy appended; anything further left the client
could have written itself). From any other peer the header is ignored, so it cannot be forged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Iterable, Sequence

from aiohttp import web
from redis.asyncio import Redis

from notifier.keyspace import PREFIX


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in net for net in trusted if ip.version == net.version)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy (see the module docstring)."""
    address = peer or "unknown"
    if not trusted or not _trusted(address, trusted):
        return address
    hops = [h.strip() for header in forwarded_for for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
        address = hop
    return address


def client_key(request: web.Request, secret: str, trusted: Sequence[Network] = ()) -> str:
    """The client address (see `client_address`) as a keyed hash, for counting."""
    address = client_address(request.remote, request.headers.getall("X-Forwarded-For", []), trusted)
    return hmac.new(secret.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


async def over_limit(redis: Redis, scope: str, key: str, limit: int, window_seconds: int = 3600) -> bool:
    name = f"{PREFIX}throttle:{scope}:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(name, 0, ex=window_seconds, nx=True)  # the window starts with the first request
        pipe.incr(name)
        _, count = await pipe.execute()
    return int(count) > limit
