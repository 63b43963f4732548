"""Per-channel send rates shared by every worker through Redis (GCRA, one Lua call per send).

Each send reserves the next free slot of its channel, 1/rate seconds after the previous one,
using Redis's clock so that workers on different machines agree. A send whose slot is further
away than `max_wait` does not reserve it: its job is deferred instead, so that no job sits
sleeping past its timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.messages.keys import rate_key
from redis.asyncio import Redis

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
local wait = start - now
if wait > max_wait then return -wait end
redis.call('SET', KEYS[1], tostring(start + interval), 'PX', math.ceil(wait + interval) + 1000)
return wait
"""


@dataclass(frozen=True)
class Slot:
    wait_seconds: float
    reserved: bool


class RateLimiter:
    def __init__(self, redis: Redis, rates: dict[str, float], max_wait: float = 5.0) -> None:
        self.redis = redis
        self.rates = {k: v for k, v in rates.items() if v and v > 0}
        self.max_wait_ms = int(max_wait * 1000)
        self._script = redis.register_script(_RESERVE)

    async def reserve(self, channel: str) -> Slot:
        rate = self.rates.get(channel)
        if rate is None:
            return Slot(0.0, True)
        interval_ms = 1000.0 / rate
        wait = int(await self._script(keys=[rate_key(channel)], args=[interval_ms, self.max_wait_ms]))
        return Slot(abs(wait) / 1000.0, wait >= 0)
