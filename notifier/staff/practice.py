"""Practice changes and their acknowledgements: storage (bodies: `contract.py`; announcements: `announcements.py`).

Layout (prefix `notifier:`):
  change:<id>           hash: doc (JSON: title, body, effective_from, sites, organisations),
                        posted_ms (Redis server time of the write)
  changes               sorted set of change ids by posted_ms
  change:<id>:acks      hash: staff id -> when they acknowledged (ISO, UTC; the first time counts)

A change's posting time is taken from Redis's clock inside the script that stores it, so a digest
run whose cutoff is read from the same clock sees every change posted before the cutoff: a
change can never fall between two people's digest windows. Practice changes and announcements
hold no personal data; the messages made from them are sealed like every message.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone
from typing import Any

from redis.asyncio import Redis

from notifier.messages import callbacks as cb
from notifier.staff.model import PracticeChange
from notifier.staff.contract import ChangeInput
from notifier.clock import from_ms, to_ms
from notifier.staff.keys import CHANGES, change_key, acks_key

_ADD_CHANGE = """
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Posting times are strictly increasing, so "newest first" is a total order even for two
-- changes posted in the same millisecond.
local last = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if last[2] and tonumber(last[2]) >= ms then ms = tonumber(last[2]) + 1 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'posted_ms', ms)
redis.call('ZADD', KEYS[2], ms, ARGV[2])
return ms
"""


# The first acknowledgement counts; with it (and only with it) the case system's
# `practice_change.acknowledged` callback is queued, in the same step (`callbacks.py`).
_ACKNOWLEDGE = """
local first = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if first == 1 and ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], 'NX', ARGV[4], ARGV[5])
end
return redis.call('HGET', KEYS[1], ARGV[1])
"""


# -- practice changes ---------------------------------------------------------------------------


class PracticeChanges:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD_CHANGE)
        self._acknowledge = redis.register_script(_ACKNOWLEDGE)

    async def add(self, data: ChangeInput) -> PracticeChange:
        change_id = str(uuid.uuid4())
        doc = {
            "id": change_id, "title": data.title.as_dict(), "body": data.body.as_dict(),
            "effective_from": data.effective_from.isoformat(),
            "sites": list(data.sites), "organisations": list(data.organisations),
        }
        ms = await self._add(keys=[change_key(change_id), CHANGES], args=[json.dumps(doc, ensure_ascii=False), change_id])
        return _change(doc, ms)

    async def get(self, change_id: str) -> PracticeChange | None:
        doc, ms = await self.redis.hmget(change_key(change_id), "doc", "posted_ms")
        return _change(json.loads(doc), ms) if doc else None

    async def posted_between(self, after: datetime | None, until: datetime | None = None) -> list[PracticeChange]:
        """Changes posted after `after` (exclusive) and up to `until` (inclusive), oldest first."""
        low = f"({to_ms(after)}" if after else "-inf"
        high = str(to_ms(until)) if until else "+inf"
        return await self._changes([i.decode() for i in await self.redis.zrangebyscore(CHANGES, low, high)])

    async def latest(self, limit: int = 100) -> list[PracticeChange]:
        """The `limit` most recently posted changes, newest first (the coordinators' console)."""
        return await self._changes([i.decode() for i in await self.redis.zrevrange(CHANGES, 0, limit - 1)])

    async def _changes(self, ids: list[str]) -> list[PracticeChange]:
        """The changes with these ids, in this order, in one round trip (gone ones left out)."""
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hmget(change_key(i), "doc", "posted_ms")
            rows = await pipe.execute()
        return [_change(json.loads(doc), ms) for doc, ms in rows if doc]

    # -- acknowledgements -----------------------------------------------------------------------

    async def acknowledge(self, change_id: str, staff_id: str, at: datetime, *, callbacks: bool = False) -> datetime:
        """Record that `staff_id` has read the change; returns when they first did.

        With `callbacks`, the first acknowledgement also queues the case system's callback.
        """
        stream = cb.acknowledgement_stream(change_id, staff_id)
        event = json.dumps(cb.acknowledgement_event(change_id, staff_id, at), separators=(",", ":")) if callbacks else ""
        first = await self._acknowledge(
            keys=[acks_key(change_id), cb.queue_key(stream), cb.DUE],
            args=[staff_id, at.astimezone(timezone.utc).isoformat(), event, cb.to_ms(at), stream])
        return datetime.fromisoformat(first.decode())

    async def acknowledged_at(self, change_id: str, staff_id: str) -> datetime | None:
        raw = await self.redis.hget(acks_key(change_id), staff_id)
        return datetime.fromisoformat(raw.decode()) if raw else None

    async def acks(self, change_id: str) -> dict[str, datetime]:
        raw = await self.redis.hgetall(acks_key(change_id))
        return {k.decode(): datetime.fromisoformat(v.decode()) for k, v in raw.items()}

    async def acknowledged_by(self, staff_id: str, change_ids: list[str]) -> set[str]:
        [acked] = await self.acknowledged_by_many([(staff_id, change_ids)])
        return acked

    async def acknowledged_by_many(self, asked: list[tuple[str, list[str]]]) -> list[set[str]]:
        """`acknowledged_by` for several people (each with their change ids) in one round trip:
        one HMGET per change for everyone asked about it."""
        who: dict[str, dict[str, None]] = {}  # change id: the people asked about it, once each, in order
        for staff_id, change_ids in asked:
            for c in change_ids:
                who.setdefault(c, {})[staff_id] = None
        if not who:
            return [set() for _ in asked]
        async with self.redis.pipeline(transaction=False) as pipe:
            for c, people in who.items():
                pipe.hmget(acks_key(c), list(people))
            rows = await pipe.execute()
        seen = {(c, staff_id) for (c, people), row in zip(who.items(), rows)
                for staff_id, at in zip(people, row) if at is not None}
        return [{c for c in change_ids if (c, staff_id) in seen} for staff_id, change_ids in asked]


def _change(doc: dict[str, Any], posted_ms: Any) -> PracticeChange:
    return PracticeChange(
        id=doc["id"], title=doc["title"], body=doc["body"],
        effective_from=date.fromisoformat(doc["effective_from"]), posted_at=from_ms(int(posted_ms)),
        sites=tuple(doc.get("sites", ())), organisations=tuple(doc.get("organisations", ())),
    )


# -- announcements ------------------------------------------------------------------------------


