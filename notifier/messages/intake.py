"""Intake: storing planned messages and queueing their sends in one Redis transaction.

Used by the webhook and by the API endpoints that create messages. Either everything an
answer promises is stored and queued, or nothing is (and the caller answers an error).
An idempotency key (the webhook-id) makes a repeat of the same request return the first answer.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Protocol, Sequence

from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from notifier.messages.model import PlannedMessage
from notifier.messages.queue import add_job, deliver_job_id
from notifier.messages.scripts import ShaScript
from notifier.messages.store import MessageStore
from notifier.clock import new_id, utcnow

#: Extra writes that belong in the same transaction, given the new message ids in plan order.
#: May be async (to queue scripts such as `MessageStore.move(..., pipe=pipe)`).
Stager = Callable[[Pipeline, list[str]], "None | Awaitable[None]"]


@dataclass
class Outcome:
    """What handling a request decided: messages to create, and state to write with them.

    `watch` lists keys the decision was based on; if any changes before the commit the request
    is decided again (optimistic concurrency), so two concurrent corrections cannot both act.
    """

    messages: list[PlannedMessage] = field(default_factory=list)
    stage: Stager | None = None
    watch: list[str] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=dict)


#: KEYS: the idempotency key (or none: ARGV[1] is "0"), then hashes. Returns the key's value
#: and each hash's fields: the reads of a decision in one round trip on the watched connection.
_PREFETCH = """
local out = {}
local first = 1
if ARGV[1] == '1' then
  out[1] = redis.call('GET', KEYS[1])
  first = 2
else
  out[1] = false
end
for i = first, #KEYS do
  out[#out + 1] = redis.call('HGETALL', KEYS[i])
end
return out
"""
_PREFETCH_SCRIPT = ShaScript(_PREFETCH)


class HashReader(Protocol):
    """What reads a state hash: a Redis client, or `Reads` inside a commit."""

    async def hgetall(self, name: str) -> dict[bytes, bytes]: ...


class Reads:
    """The state hashes a decision reads, fetched by `commit(prefetch=...)` with the idempotency
    key right after the WATCH (one round trip instead of one each); other keys are read from Redis
    as they are asked for. Pass it where a store function takes a `HashReader`."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.fetched: dict[str, dict[bytes, bytes]] = {}

    async def hgetall(self, name: str) -> dict[bytes, bytes]:
        if name in self.fetched:
            return self.fetched[name]
        return await self.redis.hgetall(name)


async def _prefetch(pipe: Pipeline, idem_key: str | None, hashes: list[str], reads: Reads) -> bytes | None:
    """GET the idempotency key and HGETALL each watched hash in one script, on the watched
    connection (by SHA, loaded when Redis lacks it: `scripts.ShaScript`; a `Script` object would
    make the transaction send `SCRIPT EXISTS` first). Returns the idempotency key's value."""
    keys = [*([idem_key] if idem_key else []), *hashes]
    reply = await _PREFETCH_SCRIPT(pipe, keys, ["1" if idem_key else "0"])
    reads.fetched = {key: dict(zip(flat[::2], flat[1::2])) for key, flat in zip(hashes, reply[1:])}
    return reply[0]


class Conflict(Exception):
    """The watched state kept changing; the caller should ask the client to retry."""


class Reused(Exception):
    """The idempotency key was already used for a request with a different fingerprint (body)."""


class Replay(dict):  # type: ignore[type-arg]
    """The stored answer of an earlier request with the same idempotency key (nothing was done)."""


def _stored(answer: dict[str, Any], fingerprint: str | None) -> str:
    return json.dumps({"answer": answer, "fingerprint": fingerprint} if fingerprint else answer)


def _earlier(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """The answer and fingerprint stored under an idempotency key (answers stored before
    fingerprints were kept are bare answers, always with "messages")."""
    value = json.loads(raw)
    if "answer" in value and "messages" not in value:
        return value["answer"], value.get("fingerprint")
    return value, None


async def commit(
    store: MessageStore,
    decide: Callable[[], Any],
    *,
    idem_key: str | None = None,
    idem_ttl: int = 7 * 86400,
    attempts: int = 5,
    watch: Sequence[str] = (),
    fingerprint: str | None = None,
    also: Callable[[Pipeline], None] | None = None,
    prefetch: Reads | None = None,
) -> dict[str, Any]:
    """Decide (async callable returning an Outcome), then store it atomically; return the answer.

    With `idem_key`, a stored earlier answer is returned as it was (a `Replay`) and nothing is
    done again. With a `fingerprint` too (a hash of the request body), it is stored with the
    answer, and a later request with the same key but another fingerprint raises `Reused`.
    `watch` names keys the decision reads, when the caller knows them before deciding: they are
    watched first and the decision is made once. Keys an outcome names in its own `watch` are
    only known after a decision, which is then made again under the WATCH. `also` queues writes
    that belong to the request rather than the decision (the webhook's answer counter) into the
    same transaction: one round trip less than writing them after. With `prefetch`, the `watch`
    keys are hashes the decision reads: they are read with the idempotency key in one round trip
    after the WATCH, into `prefetch` (which the decision reads them from).
    """
    redis = store.redis
    for _ in range(attempts):
        async with redis.pipeline(transaction=True) as pipe:
            # WATCH before anything is read: a change after it, by anyone, makes EXEC fail and
            # the request is decided afresh. One round trip less than reading the answer first.
            watched = list(dict.fromkeys([*watch, *([idem_key] if idem_key else [])]))
            if watched:
                await pipe.watch(*watched)
            if prefetch is not None:
                earlier = await _prefetch(pipe, idem_key, [k for k in watched if k != idem_key], prefetch)
            elif idem_key:
                earlier = await pipe.get(idem_key)
            if idem_key:
                if earlier is not None:
                    await pipe.reset()
                    answer, first = _earlier(earlier)
                    if fingerprint and first and first != fingerprint:
                        raise Reused(idem_key)
                    return Replay(answer)
            outcome: Outcome = await decide()
            late = [k for k in outcome.watch if k not in watched]
            if late:
                # The decision read these before they were watched, so a change made in between
                # would go unnoticed: watch them now and decide again.
                await pipe.watch(*late)
                watched += late
                outcome = await decide()
                if not set(outcome.watch) <= set(watched):
                    await pipe.reset()
                    continue
            pipe.multi()
            now = utcnow()
            ids = stage_messages(pipe, store, outcome.messages, now)
            if outcome.stage is not None:
                staged = outcome.stage(pipe, ids)
                if inspect.isawaitable(staged):
                    await staged
            answer = {"messages": ids, **outcome.answer}
            if idem_key:
                pipe.set(idem_key, _stored(answer, fingerprint), ex=idem_ttl)
            if also is not None:
                also(pipe)
            try:
                results = await pipe.execute()
            except WatchError:
                continue
            store.log_executed(pipe, results)
            return answer
    raise Conflict("state changed during the request; retry")


def stage_messages(pipe: Pipeline, store: MessageStore, planned: list[PlannedMessage], now: datetime) -> list[str]:
    """Store each planned message and queue its first send (at its `send_at`, if any)."""
    ids = []
    for p in planned:
        message_id = new_id()
        store.stage(pipe, message_id, p, now)
        if p.failure is None:
            add_job(pipe, "deliver", message_id, job_id=deliver_job_id(message_id), now=now, run_at=p.send_at)
        ids.append(message_id)
    return ids
