"""Status callbacks to the case system: Standard-Webhooks-signed events out, in order, retried.

With `NOTIFIER_STATUS_CALLBACK_URL` set, every change the case systems care about is recorded as
an event **in the same Redis write as the change itself** (the status move's Lua script in
`store.py`, the call outcome's and the acknowledgement's transactions), so an event can be
neither lost nor sent for a change that did not happen. Workers then post the events.

Layout (prefix `notifier:`):
  callbacks:q:<stream>   list of pending events (JSON), oldest first. A stream is one subject:
                         `msg:<message id>`, `prompt:<call prompt id>`, `ack:<change>:<staff>`
  callbacks:due          sorted set: stream -> when its head event may be posted next (ms). A
                         worker that takes a stream pushes its score a lease into the future,
                         so no other worker posts the same head meanwhile
  callbacks:tries        hash: stream -> failed attempts at its head event

Only the head of a stream is ever posted, and the next one only after the head was answered 2xx
or given up on: events of one message arrive in order. Streams are independent of each other.
The state lives in Redis, so a worker restart (or a dead worker: its lease runs out) loses
nothing; an event may then be posted twice, with the same `webhook-id`, which receivers use to
drop duplicates (Standard Webhooks).

Answers (Standard Webhooks, "Delivery success and failure": "A webhook delivery is considered
successful if it was responded to with a `2xx` status code ..., and it is considered a failure in
any other scenario"; "`3xx`: Failure"; "`410 Gone`: ... Sender should disable the webhook endpoint,
and stop sending it messages"):
  2xx            delivered.
  410 Gone       the endpoint is **disabled**: `callbacks:disabled` (hash: url, at) is set and
                 nothing more is posted. Decision: events are **kept queued**, not dropped (the
                 head that got the 410 included); the case system gets them, in order, once
                 someone re-enables the endpoint (`notifier callbacks enable`, or a new
                 `NOTIFIER_STATUS_CALLBACK_URL`: a different endpoint starts enabled).
                 `notifier check` fails and `notifier_status_callbacks_disabled` is 1 meanwhile.
  anything else  (3xx, 4xx, 429, 5xx, timeouts, connection errors) a failed attempt, retried with
                 the message backoff (`NOTIFIER_RETRY_BASE_SECONDS`, `_MAX_SECONDS`, jitter;
                 `Retry-After` honoured) until `NOTIFIER_STATUS_CALLBACK_RETRY_WINDOW_SECONDS`
                 (default 3 days: the spec recommends "a retry schedule spanning multiple days")
                 after the event, then dropped and logged (`callback.expired`). The window
                 counts from the event, also while the endpoint is disabled: events that waited
                 longer than it get one attempt each once it is enabled again.

`webhook-id`s are opaque ("not be allowed to include any `.`", Standard Webhooks "Signature
scheme"), at most 256 characters, and the same for every attempt at one event (`wire_id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from standardwebhooks.webhooks import Webhook

from notifier.messages import status as st
from notifier.app.config import Settings
from notifier.messages.retry import next_attempt_at
from notifier.messages.keys import CALLBACK_METRICS as METRICS
from notifier.messages.keys import CALLBACK_QUEUE_PREFIX as QUEUE_PREFIX
from notifier.messages.keys import CALLBACK_TRIES as TRIES
from notifier.messages.keys import CALLBACKS_DUE as DUE
from notifier.messages.keys import CALLBACKS_DISABLED as DISABLED

log = logging.getLogger("notifier.callbacks")


MESSAGE_STATUS = "message.status"
CALL_PROMPT_OUTCOME = "call_prompt.outcome"
PRACTICE_CHANGE_ACKNOWLEDGED = "practice_change.acknowledged"
EVENT_TYPES = (MESSAGE_STATUS, CALL_PROMPT_OUTCOME, PRACTICE_CHANGE_ACKNOWLEDGED)

#: The message statuses a case system is told about (the others are our own bookkeeping).
MESSAGE_STATUSES = frozenset({st.SENT, st.DELIVERED, st.PERMANENT_FAILURE, st.TECHNICAL_FAILURE})

#: Streams one poll takes at most; they are posted concurrently.
BATCH = 32
#: Seconds between polls while nothing is due.
IDLE_SECONDS = 0.2


def queue_key(stream: str) -> str:
    return f"{QUEUE_PREFIX}{stream}"


def message_stream(message_id: str) -> str:
    return f"msg:{message_id}"


def prompt_stream(prompt_id: str) -> str:
    return f"prompt:{prompt_id}"


def acknowledgement_stream(change_id: str, staff_id: str) -> str:
    return f"ack:{change_id}:{staff_id}"


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


# -- recording events (inside the caller's transaction) ---------------------------------------------

#: Lua for the status-move script in `store.py`: append a `message.status` event to the
#: message's stream. Expects `meta` (the decoded record meta), `n` (the history length after the
#: move) and KEYS[7] (DUE), KEYS[8] (the message's queue), ARGV[1] status, ARGV[3] time,
#: ARGV[4] reason, ARGV[6] now (ms), ARGV[10] message id. Must build the same record as
#: `message_status_event`.
LUA_RECORD_MESSAGE_STATUS = """
  redis.call('RPUSH', KEYS[8], cjson.encode({id='msg_' .. ARGV[10] .. '_' .. n, type='message.status',
    at=ARGV[3], data={message_id=ARGV[10], status=ARGV[1], reason=ARGV[4], template=meta.template,
    channel=meta.channel, refs=meta.refs}}))
  redis.call('ZADD', KEYS[7], 'NX', ARGV[6], 'msg:' .. ARGV[10])
"""


def message_status_event(message_id: str, n: int, status: str, reason: str, at: datetime, template: str,
                         channel: str, refs: dict[str, str]) -> dict[str, Any]:
    """The record the status-move script appends (for statuses written outside it, at intake)."""
    return {"id": f"msg_{message_id}_{n}", "type": MESSAGE_STATUS, "at": _iso(at),
            "data": {"message_id": message_id, "status": status, "reason": reason, "template": template,
                     "channel": channel, "refs": refs}}


def call_outcome_event(prompt_id: str, session_id: str, client_id: str, staff_id: str, outcome: str,
                       at: datetime) -> dict[str, Any]:
    """A recorded call. The staff member's note is free text and may name people: never sent."""
    return {"id": f"cpo_{prompt_id}_{uuid.uuid4().hex}", "type": CALL_PROMPT_OUTCOME, "at": _iso(at),
            "data": {"call_prompt_id": prompt_id, "session_id": session_id, "client_id": client_id,
                     "staff_id": staff_id, "outcome": outcome}}


_WIRE_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")


def wire_id(event_id: str) -> str:
    """The `webhook-id` for an event: the stored id when it is plain (letters, digits, `_`, `-`; up to
    256), else a digest of it, so ids holding a `.` (as acknowledgement ids recorded by older versions
    could) or longer ones still go out opaque and the same on every attempt."""
    if _WIRE_ID.fullmatch(event_id):
        return event_id
    return "evt_" + hashlib.sha256(event_id.encode()).hexdigest()[:40]


def acknowledgement_event(change_id: str, staff_id: str, at: datetime) -> dict[str, Any]:
    """One per person and change (the first acknowledgement): the id is a digest of both, because
    staff ids may hold `.` and `:`, which a `webhook-id` must not."""
    digest = hashlib.sha256(f"{change_id}\n{staff_id}".encode()).hexdigest()[:40]
    return {"id": f"ack_{digest}", "type": PRACTICE_CHANGE_ACKNOWLEDGED, "at": _iso(at),
            "data": {"practice_change_id": change_id, "staff_id": staff_id}}


def stage_event(pipe: Pipeline, stream: str, event: dict[str, Any], now: datetime) -> None:
    """Queue `event` on `stream` inside the caller's MULTI (behind any the stream already has)."""
    pipe.rpush(queue_key(stream), json.dumps(event, separators=(",", ":"), ensure_ascii=False))
    pipe.zadd(DUE, {stream: to_ms(now)}, nx=True)


def public_payload(event: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    """What the case system receives: `{"type", "timestamp", "data"}`, times in `tz`, ids only."""
    at = datetime.fromisoformat(event["at"]).astimezone(tz).isoformat()
    data = dict(event["data"])
    if event["type"] == MESSAGE_STATUS:
        refs = data.pop("refs", None) or {}
        data = {
            "message_id": data["message_id"],
            **{f"{ref}_id": value for ref, value in sorted(refs.items())},
            "template": data["template"], "channel": data["channel"], "status": data["status"],
            "reason": data.get("reason") or None,
        }
    data["at"] = at
    return {"type": event["type"], "timestamp": at, "data": data}


# -- posting them (in the worker) -------------------------------------------------------------------

_CLAIM = """
local streams = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, s in ipairs(streams) do
  local head = redis.call('LINDEX', ARGV[4] .. s, 0)
  if head then
    redis.call('ZADD', KEYS[1], ARGV[2], s)
    out[#out + 1] = s
    out[#out + 1] = head
    out[#out + 1] = redis.call('HGET', KEYS[2], s) or '0'
  else
    redis.call('ZREM', KEYS[1], s)
    redis.call('HDEL', KEYS[2], s)
  end
end
return out
"""

# The head was answered (or given up on): drop it and make the stream's next event due now.
# Nothing happens if the head is no longer the event we posted (another worker finished it).
_DONE = """
redis.call('HINCRBY', KEYS[4], ARGV[5], 1)
if redis.call('LINDEX', KEYS[3], 0) ~= ARGV[2] then return 0 end
redis.call('LPOP', KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
if redis.call('LLEN', KEYS[3]) > 0 then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
"""

# 410 Gone: keep the head where it is (not a try: the endpoint is off, not the event) and make it due
# at once, so that it goes first when the endpoint is enabled again.
_PARK = """
redis.call('HINCRBY', KEYS[4], ARGV[5], 1)
if redis.call('LINDEX', KEYS[3], 0) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
return 1
"""

# A temporary failure: count the try and make the head due again at the retry time.
_RETRY = """
redis.call('HINCRBY', KEYS[4], ARGV[5], 1)
if redis.call('LINDEX', KEYS[3], 0) ~= ARGV[2] then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
return 1
"""


@dataclass(frozen=True)
class Claimed:
    stream: str
    raw: bytes
    tries: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.raw)


@dataclass(frozen=True)
class Answer:
    """How one post went: `delivered`, `retry` or `gone`, and the HTTP status or error kind."""

    result: str
    code: str
    retry_after: float | None = None


def classify(status: int) -> str:
    """`delivered` (2xx), `gone` (410: disable the endpoint) or `retry` (every other answer, 3xx included)."""
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    return "retry"


async def disabled_since(redis: Redis) -> dict[str, str] | None:
    """The endpoint's 410 record (`url`, `at`, `answer`), or None while callbacks are enabled."""
    raw = await redis.hgetall(DISABLED)
    return {k.decode(): v.decode() for k, v in raw.items()} if raw else None


async def enable(redis: Redis) -> bool:
    """Post again (`notifier callbacks enable`): what is queued goes out in order. True if it was off."""
    removed = int(await redis.delete(DISABLED))
    if removed:
        log.warning("status callbacks enabled again", extra={"event": "callback.enabled"})
    return bool(removed)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds (a number of seconds, or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max((when - now).total_seconds(), 0.0)
    return None


class CallbackDispatcher:
    """Posts due events to `NOTIFIER_STATUS_CALLBACK_URL`; one per worker, all sharing Redis."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        assert settings.status_callback_url and settings.status_callback_secret
        self.settings = settings
        self.redis = redis
        self.url = settings.status_callback_url
        self.webhook = Webhook(settings.status_callback_secret)
        self.timeout = settings.send_timeout_seconds
        self.lease_seconds = self.timeout + 30
        self._claim = redis.register_script(_CLAIM)
        self._done = redis.register_script(_DONE)
        self._retry = redis.register_script(_RETRY)
        self._park = redis.register_script(_PARK)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            headers={"User-Agent": "notifier-status-callbacks"},
        )
        self._task = asyncio.create_task(self.run(), name="status-callbacks")

    async def stop(self) -> None:
        """Finish the posts in flight (they are bounded by the timeout), then stop."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, self.timeout + 5)
        if self._http is not None:
            await self._http.close()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = await self.run_once()
            except (RedisError, OSError) as exc:  # Redis away: the worker's supervisor deals with it
                log.warning("status callbacks: Redis unavailable (%s)", type(exc).__name__)
                worked = 0
            except Exception:  # a bug must not stop the callbacks of every other subject for good
                log.exception("status callbacks: unexpected error; going on")
                worked = 0
            if not worked:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), IDLE_SECONDS)

    async def is_disabled(self) -> bool:
        """A 410 from this URL disables it; one recorded for another URL is stale (the setting changed)."""
        url = await self.redis.hget(DISABLED, "url")
        if url is None:
            return False
        if url.decode() != self.url:
            await self.redis.delete(DISABLED)
            log.warning("status callbacks: the endpoint that answered 410 is no longer configured; posting to the new one")
            return False
        return True

    async def run_once(self) -> int:
        """Post the head of every due stream once; returns how many were posted (0 while disabled)."""
        if await self.is_disabled():
            return 0
        claimed = await self.claim()
        results = await asyncio.gather(*(self.deliver(c) for c in claimed), return_exceptions=True)
        for c, result in zip(claimed, results):
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                # The stream's lease runs out and its head is tried again then.
                log.error("status callback for %s failed unexpectedly (%s)", c.stream, type(result).__name__)
        return len(claimed)

    async def claim(self, limit: int = BATCH) -> list[Claimed]:
        now = datetime.now(timezone.utc)
        raw = await self._claim(
            keys=[DUE, TRIES],
            args=[to_ms(now), to_ms(now + timedelta(seconds=self.lease_seconds)), limit, QUEUE_PREFIX],
        )
        return [Claimed(raw[i].decode(), raw[i + 1], int(raw[i + 2])) for i in range(0, len(raw), 3)]

    async def post(self, event: dict[str, Any]) -> Answer:
        assert self._http is not None
        body = json.dumps(public_payload(event, self.settings.timezone), separators=(",", ":"), ensure_ascii=False)
        now = datetime.now(timezone.utc)
        webhook_id = wire_id(event["id"])
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(webhook_id, now, body),
            "content-type": "application/json",
        }
        try:
            async with self._http.post(self.url, data=body.encode(), headers=headers, allow_redirects=False) as resp:
                await resp.read()
                return Answer(classify(resp.status), str(resp.status),
                              retry_after_seconds(resp.headers.get("Retry-After"), now))
        except asyncio.TimeoutError:
            return Answer("retry", "timeout")
        except aiohttp.ClientError as exc:
            return Answer("retry", f"error-{type(exc).__name__}")

    async def deliver(self, claimed: Claimed) -> str:
        """Post one stream's head and record the outcome; returns it (delivered, retry, disabled, expired)."""
        event = claimed.event
        answer = await self.post(event)
        keys = [DUE, TRIES, queue_key(claimed.stream), METRICS]
        now = datetime.now(timezone.utc)
        answer_field = f"answer|{answer.code}"
        if answer.result == "delivered":
            await self._done(keys=keys, args=[claimed.stream, claimed.raw, to_ms(now), f"{event['type']}|delivered", answer_field])
            log.debug("status callback %s (%s) delivered", event["id"], event["type"])
            return "delivered"
        if answer.result == "gone":
            await self.redis.hset(DISABLED, mapping={"url": self.url, "at": _iso(now), "answer": answer.code})
            await self._park(keys=keys, args=[claimed.stream, claimed.raw, to_ms(now), f"{event['type']}|disabled", answer_field])
            log.error("status callback %s (%s) answered 410 Gone: the endpoint is disabled and callbacks are kept "
                      "queued until `notifier callbacks enable`", event["id"], event["type"],
                      extra={"event": "callback.disabled", "callback_id": event["id"], "answer": answer.code})
            return "disabled"
        s = self.settings
        at = next_attempt_at(claimed.tries + 1, datetime.fromisoformat(event["at"]), now,
                             base=s.retry_base_seconds, cap=s.retry_max_seconds,
                             window=s.status_callback_retry_window_seconds)
        if at is not None and answer.retry_after:
            at = max(at, now + timedelta(seconds=min(answer.retry_after, s.retry_max_seconds)))
        if at is None:
            await self._done(keys=keys, args=[claimed.stream, claimed.raw, to_ms(now), f"{event['type']}|expired", answer_field])
            log.warning("status callback %s (%s) given up after %d tries (last: %s)",
                        event["id"], event["type"], claimed.tries + 1, answer.code,
                        extra={"event": "callback.expired", "callback_id": event["id"], "answer": answer.code})
            return "expired"
        await self._retry(keys=keys, args=[claimed.stream, claimed.raw, to_ms(at), f"{event['type']}|retried", answer_field])
        log.info("status callback %s (%s) answered %s; retry at %s", event["id"], event["type"], answer.code,
                 at.isoformat())
        return "retry"


async def pending(redis: Redis) -> int:
    """Streams with events still to post (a gauge for `/metrics`)."""
    return int(await redis.zcard(DUE))
