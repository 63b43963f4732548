"""The message store: every message's record and status history in Redis.

Layout (prefix `notifier:`):
  msg:<id>            hash: meta (JSON, no personal data), personal (sealed JSON), status,
                      reason, attempts, lease_until, lease_token, provider_ref, updated_at
  msg:<id>:history    list of JSON {status, at, reason}
  idx:<ref>:<value>   sorted set of message ids by creation time (client, staff, session, …)
  active              sorted set: unsettled messages by the time after which they count as
                      stuck (the sweeper re-queues those; see `sweeper.py`)
  settled             sorted set: messages in `sent` or a final status, by when they got there
                      (retention erases their personal part after NOTIFIER_RETENTION_DAYS)
  idem:webhook:<id>   the answer given to a case-system webhook, for idempotent retries

Status moves are compare-and-set in one Lua script, so a final status can never be overwritten,
whoever writes and in whatever order.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, NamedTuple

import logging

import msgspec
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.messages import callbacks as cb
from notifier.messages import metrics
from notifier.messages import status as st
from notifier.messages.model import Message, PlannedMessage, Recipient, StatusChange
from notifier.messages.scripts import ShaScript
from notifier.clock import utcnow
from notifier.sealing import Sealer
from notifier.messages.keys import msg_key, history_key, index_key, ACTIVE, SETTLED, CONTACT_MESSAGES

log = logging.getLogger("notifier.store")

_TRANSITION = """
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return {0, ''} end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == cur then allowed = true end
end
if not allowed then return {0, cur} end
local now_ms = tonumber(ARGV[6])
if cur == 'sending' then
  local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
  local owner = redis.call('HGET', KEYS[1], 'lease_token') or ''
  if ARGV[1] == 'sending' then
    if lease > now_ms then return {0, cur} end
  elseif ARGV[7] ~= '' and owner ~= ARGV[7] then
    return {0, cur}
  end
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[3], 'reason', ARGV[4])
if ARGV[1] == 'sending' then
  redis.call('HSET', KEYS[1], 'lease_until', ARGV[5], 'lease_token', ARGV[7])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'provider_ref', ARGV[8]) end
local n = redis.call('RPUSH', KEYS[2], cjson.encode({status=ARGV[1], at=ARGV[3], reason=ARGV[4]}))
if ARGV[9] == '' then
  redis.call('ZREM', KEYS[3], ARGV[10])
  redis.call('ZADD', KEYS[4], now_ms, ARGV[10])
else
  redis.call('ZADD', KEYS[3], tonumber(ARGV[9]), ARGV[10])
end
local labels = redis.call('HGET', KEYS[1], 'labels')
local meta = nil
if not labels then
  meta = cjson.decode(redis.call('HGET', KEYS[1], 'meta'))
  labels = meta.template .. '|' .. meta.channel
end
redis.call('HINCRBY', KEYS[5], labels .. '|' .. ARGV[1], 1)
if ARGV[12] ~= '' then
  local channel = string.match(labels, '[^|]+$')
  redis.call('HINCRBY', KEYS[6], channel .. '|' .. ARGV[12], 1)
  redis.call('HINCRBY', KEYS[6], channel .. '|sum_us', ARGV[13])
end
if ARGV[11] == '1' then
  if not meta then meta = cjson.decode(redis.call('HGET', KEYS[1], 'meta')) end
__CALLBACK__end
return {1, cur}
"""

_TRANSITION = _TRANSITION.replace("__CALLBACK__", cb.LUA_RECORD_MESSAGE_STATUS)

#: The worker's claim: the same compare-and-set, answering with the record as it is after the
#: move, so that reading a message and claiming it for sending take one round trip, not two.
_CLAIM = _TRANSITION.replace("return {1, cur}\n", "return {1, cur, redis.call('HGETALL', KEYS[1])}\n")
assert _CLAIM != _TRANSITION
#: By SHA in the batch's pipeline: a `Script` object costs a `SCRIPT EXISTS` round trip before
#: every pipeline (`scripts.py`).
_CLAIM_SCRIPT = ShaScript(_CLAIM)


#: A message not settled this long after it was due is "stuck" and swept back onto the queue.
STUCK_AFTER_SECONDS = 120
#: Statuses after which a message needs no more work from us.
SETTLED_STATUSES = st.FINAL | {st.SENT}


#: JSON on the hot path (every message's record is written once and read at each claim).
_json = msgspec.json.encode
_unjson = msgspec.json.decode


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()



class Head(NamedTuple):
    """What a message's record says without its sealed part (`MessageStore.heads`)."""

    channel: str
    status: str
    provider_ref: str


@dataclass(frozen=True)
class Transition:
    moved: bool
    previous: str


class MessageStore:
    def __init__(self, redis: Redis, sealer: Sealer, *, callbacks: bool = False) -> None:
        self.redis = redis
        self.sealer = sealer
        #: Record `message.status` events for the case system (`callbacks.py`) with each move.
        self.callbacks = callbacks
        #: Status changes queued into a transaction, logged once it has run (`log_executed`).
        self._queued: weakref.WeakKeyDictionary[Pipeline, list[tuple[int | None, str, str, str, str]]] = weakref.WeakKeyDictionary()
        #: A redis-py `Script`, not a `ShaScript`: `move(pipe=...)` queues it into transactions, where
        #: an EVALSHA of a script Redis lacks would fail only at EXEC (`scripts.py`); redis-py
        #: loads it before the MULTI.
        self._transition = redis.register_script(_TRANSITION)

    # -- writing new messages ---------------------------------------------------------------

    def stage(self, pipe: Pipeline, message_id: str, planned: PlannedMessage, now: datetime) -> None:
        """Queue the commands that store a new message into `pipe` (inside the caller's MULTI)."""
        created = _iso(now)
        meta = {
            "id": message_id,
            "template": planned.template,
            "channel": planned.channel,
            "language": planned.recipient.language,
            "refs": planned.refs,
            "created_at": created,
            "send_at": _iso(planned.send_at) if planned.send_at else None,
        }
        if planned.name_fallback:
            meta["name_fallback"] = list(planned.name_fallback)  # field names only: no personal data
        personal = {"recipient": planned.recipient.to_dict(), "context": planned.context}
        status = st.PERMANENT_FAILURE if planned.failure else st.CREATED
        pipe.hset(
            msg_key(message_id),
            mapping={
                "meta": _json(meta),
                "personal": self.sealer.seal(personal),
                "status": status,
                "reason": planned.failure or "",
                "attempts": 0,
                "updated_at": created,
                "labels": f"{planned.template}|{planned.channel}",  # metrics labels, read by the move script
            },
        )
        history = [{"status": st.CREATED, "at": created, "reason": ""}]
        if planned.failure:
            history.append({"status": st.PERMANENT_FAILURE, "at": created, "reason": planned.failure})
        pipe.rpush(history_key(message_id), *(_json(h) for h in history))
        labels = f"{planned.template}|{planned.channel}|"
        previous = ""
        for h in history:
            pipe.hincrby(metrics.MESSAGES, labels + h["status"], 1)
            self._queued.setdefault(pipe, []).append((None, message_id, h["status"], h["reason"], previous))
            previous = h["status"]
        if planned.failure and self.callbacks:
            cb.stage_event(pipe, cb.message_stream(message_id), cb.message_status_event(
                message_id, len(history), st.PERMANENT_FAILURE, planned.failure, now, planned.template,
                planned.channel, planned.refs), now)
        score = now.timestamp()
        for ref, value in planned.refs.items():
            pipe.zadd(index_key(ref, value), {message_id: score})
        due = planned.send_at or now
        if "client" in planned.refs:
            pipe.zadd(CONTACT_MESSAGES, {message_id: int(due.timestamp() * 1000)})
        if planned.failure:
            pipe.zadd(SETTLED, {message_id: int(now.timestamp() * 1000)})
        else:
            pipe.zadd(ACTIVE, {message_id: int((due.timestamp() + STUCK_AFTER_SECONDS) * 1000)})

    # -- reading ------------------------------------------------------------------------------

    async def get(self, message_id: str) -> Message | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(msg_key(message_id))
            pipe.lrange(history_key(message_id), 0, -1)
            fields, history = await pipe.execute()
        if not fields:
            return None
        return self._decode(fields, history)

    async def get_many(self, ids: Iterable[str]) -> list[Message]:
        ids = list(ids)
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(msg_key(i))
                pipe.lrange(history_key(i), 0, -1)
            raw = await pipe.execute()
        out = []
        for fields, history in zip(raw[::2], raw[1::2]):
            if fields:
                out.append(self._decode(fields, history))
        return out

    async def ids_for(self, ref: str, value: str, limit: int = 1000) -> list[str]:
        return [i.decode() for i in await self.redis.zrange(index_key(ref, value), 0, limit - 1)]

    async def find(self, ref: str, value: str, limit: int = 1000) -> list[Message]:
        return await self.get_many(await self.ids_for(ref, value, limit))

    async def heads(self, ids: list[str]) -> list[Head | None]:
        """Each message's channel, status and provider reference (None: no such message), in one
        round trip, without opening its sealed part: what pacing a batch by channel, or matching a
        delivery report, needs. The channel is in `labels` ("<template>|<channel>"); records
        written before it have it only in `meta`, read for those alone in one round trip more."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hmget(msg_key(i), "labels", "status", "provider_ref")
            rows = await pipe.execute()
        old = [i for i, (labels, status, _ref) in zip(ids, rows) if status and not labels]
        metas: dict[str, bytes | None] = {}
        if old:
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in old:
                    pipe.hget(msg_key(i), "meta")
                metas = dict(zip(old, await pipe.execute()))
        out: list[Head | None] = []
        for i, (labels, status, provider_ref) in zip(ids, rows):
            meta = metas.get(i)
            if status and labels:
                channel = labels.decode().partition("|")[2]
            elif status and meta:
                channel = _unjson(meta)["channel"]
            else:
                out.append(None)
                continue
            out.append(Head(channel, status.decode(), (provider_ref or b"").decode()))
        return out

    async def statuses_of(self, ids: list[str]) -> list[str | None]:
        return await statuses_of(self.redis, ids)

    def _decode(self, fields: dict[bytes, bytes], history: list[bytes]) -> Message:
        meta = _unjson(fields[b"meta"])
        personal = self.sealer.open(fields[b"personal"]) if fields.get(b"personal") else {}
        recipient = personal.get("recipient") or {"name": "", "language": meta["language"]}
        return Message(
            id=meta["id"],
            template=meta["template"],
            channel=meta["channel"],
            language=meta["language"],
            status=fields[b"status"].decode(),
            created_at=datetime.fromisoformat(meta["created_at"]),
            send_at=datetime.fromisoformat(meta["send_at"]) if meta.get("send_at") else None,
            recipient=Recipient.from_dict(recipient),
            context=personal.get("context", {}),
            refs=meta.get("refs", {}),
            history=tuple(
                StatusChange(h["status"], datetime.fromisoformat(h["at"]), h.get("reason", ""))
                for h in map(_unjson, history)
            ),
            attempts=int(fields.get(b"attempts", b"0")),
            reason=fields.get(b"reason", b"").decode(),
            provider_ref=fields.get(b"provider_ref", b"").decode(),
            lease_token=fields.get(b"lease_token", b"").decode(),
            name_fallback=tuple(meta.get("name_fallback", ())),
        )

    # -- moving status ----------------------------------------------------------------------

    async def move(
        self,
        message_id: str,
        target: str,
        reason: str = "",
        *,
        now: datetime | None = None,
        lease_until: datetime | None = None,
        lease_token: str = "",
        provider_ref: str = "",
        pipe: Pipeline | None = None,
        next_due: datetime | None = None,
        send_seconds: float | None = None,
    ) -> Transition | None:
        """Move a message to `target` if the state machine allows it from its current status.

        `next_due` is when the message should next be worked on (a retry time); the sweeper
        treats it as stuck some time after that. `send_seconds` is how long the channel took (for
        the send-duration histogram). Inside a pipeline the script is only queued and None is
        returned.
        """
        keys, args = _transition_call(message_id, target, reason, now or utcnow(), lease_until, lease_token,
                                      provider_ref, next_due, self.callbacks, send_seconds)
        if pipe is not None:
            position = len(pipe.command_stack)
            await self._transition(keys=keys, args=args, client=pipe)
            self._queued.setdefault(pipe, []).append((position, message_id, target, reason, ""))
            return None
        moved, previous = await self._transition(keys=keys, args=args)
        result = Transition(bool(moved), previous.decode() if isinstance(previous, bytes) else previous)
        if result.moved:
            log_move(message_id, result.previous, target, reason)
        return result

    async def claim_many(
        self, message_ids: list[str], *, lease_until: datetime, lease_tokens: list[str], now: datetime | None = None,
    ) -> list[tuple[Transition, Message | None]]:
        """`claim` for a batch of messages (each with its own lease token), in one round trip.

        Each claim is its own compare-and-set: one message refused leaves the others claimed.
        """
        now = now or utcnow()
        calls = [_transition_call(message_id, st.SENDING, "", now, lease_until, token, "", None, self.callbacks, None)
                 for message_id, token in zip(message_ids, lease_tokens)]
        async with self.redis.pipeline(transaction=False) as pipe:
            queued = [_CLAIM_SCRIPT.queue(pipe, keys, args) for keys, args in calls]
            replies = await _CLAIM_SCRIPT.execute(pipe, queued)
        out: list[tuple[Transition, Message | None]] = []
        for message_id, raw in zip(message_ids, replies):
            previous = raw[1].decode() if isinstance(raw[1], bytes) else raw[1]
            result = Transition(bool(raw[0]), previous)
            if not result.moved:
                out.append((result, None))
                continue
            log_move(message_id, result.previous, st.SENDING, "")
            flat = raw[2]
            out.append((result, self._decode(dict(zip(flat[::2], flat[1::2])), [])))
        return out

    def log_executed(self, pipe: Pipeline, results: list[Any]) -> None:
        """Log the status changes `stage` and `move(pipe=...)` queued into `pipe`, now that it ran.

        Call it with `pipe.execute()`'s results: a move the script refused is not logged.
        """
        for position, message_id, target, reason, previous in self._queued.pop(pipe, []):
            if position is None:  # written by `stage`: always happened if the transaction ran
                log_move(message_id, previous, target, reason)
                continue
            result = results[position] if position < len(results) else None
            if isinstance(result, list) and result and result[0]:
                previous = result[1].decode() if isinstance(result[1], bytes) else str(result[1])
                log_move(message_id, previous, target, reason)

    async def erase_personal(self, message_id: str) -> None:
        """Retention: drop the sealed personal part; ids, status and history stay."""
        await self.redis.hset(msg_key(message_id), "personal", self.sealer.seal({"erased": True}))


async def statuses_of(redis: Redis, ids: list[str]) -> list[str | None]:
    """Each message's status (None: no such message), in one round trip; no sealed data read."""
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for i in ids:
            pipe.hget(msg_key(i), "status")
        return [s.decode() if s is not None else None for s in await pipe.execute()]


def _transition_call(
    message_id: str, target: str, reason: str, now: datetime, lease_until: datetime | None, lease_token: str,
    provider_ref: str, next_due: datetime | None, callbacks: bool = False, send_seconds: float | None = None,
) -> tuple[list[str], list[str]]:
    """KEYS and ARGV of the transition script (and of the claim, which is the same move)."""
    if target in SETTLED_STATUSES:
        active_score = ""
    else:
        due = next_due or lease_until or now
        active_score = str(int((due.timestamp() + STUCK_AFTER_SECONDS) * 1000))
    args = [
        target,
        ",".join(sorted(st.ALLOWED_FROM[target])),
        _iso(now),
        reason,
        str(int(lease_until.timestamp() * 1000)) if lease_until else "",
        str(int(now.timestamp() * 1000)),
        lease_token,
        provider_ref,
        active_score,
        message_id,
        "1" if callbacks and target in cb.MESSAGE_STATUSES else "",
        metrics.bucket_label(send_seconds) if send_seconds is not None else "",
        str(int(send_seconds * 1_000_000)) if send_seconds is not None else "",
    ]
    return [msg_key(message_id), history_key(message_id), ACTIVE, SETTLED, metrics.MESSAGES, metrics.SEND,
            cb.DUE, cb.queue_key(cb.message_stream(message_id))], args


#: Statuses on the way to an outcome: logged at DEBUG, so that INFO has one line per outcome.
_ON_THE_WAY = frozenset({st.CREATED, st.SENDING})


def log_move(message_id: str, previous: str, target: str, reason: str) -> None:
    """One `message.status` log event per status change (ids and statuses only, never personal data).

    At INFO only outcomes (sent, delivered, failures, cancelled): one line per message outcome;
    `created` and `sending` are DEBUG. Nothing is formatted unless the level is on.
    """
    level = logging.DEBUG if target in _ON_THE_WAY else logging.INFO
    if not log.isEnabledFor(level):
        return
    log.log(
        level, "message %s %s%s", message_id, f"{previous} -> {target}" if previous else target,
        f" ({reason})" if reason else "",
        extra={"event": "message.status", "message_id": message_id, "status": target,
               "previous": previous, "reason": reason},
    )
