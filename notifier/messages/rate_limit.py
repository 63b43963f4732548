"""Per-channel send rates shared by every worker through Redis (GCRA, one Lua call per batch).

Each send reserves the next free slot of its channel, 1/rate seconds after the previous one,
using Redis's clock so that workers on different machines agree; a worker's batch reserves its
slots in one call. A send whose slot is further away than `max_wait` does not reserve it: its
job is deferred instead, so that no job sits sleeping past its timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from notifier.messages.keys import rate_key
from redis.asyncio import Redis

#: Reserves up to ARGV[3] consecutive slots. Returns {reserved (1/0), wait ms, slot ms} per slot,
#: up to and including the first one further away than `max_wait` (which, and every one after
#: it, is not reserved).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local out = {}
local reserved = 0
for i = 1, count do
  local wait = tat - now
  if wait > max_wait then
    out[#out + 1] = 0
    out[#out + 1] = math.ceil(wait)
    out[#out + 1] = tostring(tat)
    break
  end
  out[#out + 1] = 1
  out[#out + 1] = math.floor(wait)
  out[#out + 1] = tostring(tat)
  tat = tat + interval
  reserved = reserved + 1
end
if reserved > 0 then
  redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000)
end
return out
"""


@dataclass(frozen=True)
class Slot:
    wait_seconds: float
    reserved: bool
    at_ms: float = 0.0  # the slot on Redis's clock (ms since the epoch): what workers agree on


class RateLimiter:
    def __init__(self, redis: Redis, rates: dict[str, float], max_wait: float = 5.0) -> None:
        self.redis = redis
        self.rates = {k: v for k, v in rates.items() if v and v > 0}
        self.max_wait_ms = int(max_wait * 1000)
        self._script = redis.register_script(_RESERVE)

    async def reserve(self, channel: str) -> Slot:
        return (await self.reserve_many(channel, 1))[0]

    async def reserve_many(self, channel: str, count: int) -> list[Slot]:
        """The next `count` slots of `channel`, 1/rate apart, in one round trip (a worker's batch).

        The first slot further away than `max_wait`, and every one after it, is not reserved:
        those sends are deferred (`Slot.reserved` False, with how long until that slot)."""
        rate = self.rates.get(channel)
        if rate is None:
            return [Slot(0.0, True)] * count
        if count <= 0:
            return []
        reply = await self._script(keys=[rate_key(channel)], args=[1000.0 / rate, self.max_wait_ms, count])
        slots = [Slot(int(wait) / 1000.0, bool(int(ok)), float(at))
                 for ok, wait, at in zip(reply[::3], reply[1::3], reply[2::3])]
        if len(slots) < count:
            slots += [slots[-1]] * (count - len(slots))
        return slots
