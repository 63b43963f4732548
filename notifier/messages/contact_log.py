"""The contact log: every message to a client and every call made to them, with times, no content.

The provider reports to the steering group how often each client was contacted; the authority
wants to see that the letters went out. Both read this instead of keeping their own records.

Messages come from the message store (records and histories; the sealed personal part is never
opened). Calls come from call-prompt outcomes, indexed when they are recorded.

Layout (prefix `notifier:`):
  contacts:messages          sorted set: ids of messages to clients, by when they were due
                             (created, or the scheduled send time); written by `store.stage`
  contacts:calls             sorted set: recorded calls (JSON: prompt, session, client, staff,
                             outcome, at) by when they were recorded
  contacts:calls:<client_id> the same, one client's
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, AsyncIterator, Callable, Iterable
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.messages import callbacks as cb
from notifier.messages import status as st
from notifier.messages.keys import CONTACT_MESSAGES, history_key, index_key, msg_key
from notifier.messages.keys import CALLS
from notifier.messages.keys import client_calls_key

MESSAGE = "message"
CALL = "call"
#: Columns of the CSV export, in order; also the keys of each contact in the JSON answer.
COLUMNS = ("client_id", "kind", "id", "at", "template", "channel", "status", "reason", "created_at", "sent_at",
           "delivered_at", "session_id", "staff_id", "outcome")
BATCH = 500
#: Most contacts one client's answer lists (the newest); far above any real client's count.
CLIENT_LIMIT = 5000


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def stage_call(pipe: Pipeline, *, prompt_id: str, session_id: str, client_id: str, staff_id: str, outcome: str,
               at: datetime) -> None:
    """Index a recorded call (inside the transaction that records it). The note stays out."""
    entry = json.dumps({"prompt": prompt_id, "session": session_id, "client": client_id, "staff": staff_id,
                        "outcome": outcome, "at": at.astimezone(timezone.utc).isoformat()}, separators=(",", ":"))
    score = to_ms(at)
    pipe.zadd(CALLS, {entry: score})
    pipe.zadd(client_calls_key(client_id), {entry: score})


def stage_recorded_call(prompt: Any, outcome: str, at: datetime, *, callbacks: bool) -> Callable[[Pipeline], None]:
    """What goes with a recorded call (staged by `kickoff/calls.record_call`): its contact-log entry
    and, when the case system wants them, its `call_prompt.outcome` callback."""
    def stage(pipe: Pipeline) -> None:
        stage_call(pipe, prompt_id=prompt.id, session_id=prompt.session_id, client_id=prompt.client_id,
                   staff_id=prompt.staff_id, outcome=outcome, at=at)
        if callbacks:
            cb.stage_event(pipe, cb.prompt_stream(prompt.id), cb.call_outcome_event(
                prompt.id, prompt.session_id, prompt.client_id, prompt.staff_id, outcome, at), at)
    return stage


@dataclass(frozen=True)
class Contact:
    client_id: str
    kind: str
    id: str
    at: datetime  # when the message was due or the call recorded
    template: str | None = None
    channel: str | None = None
    status: str | None = None
    reason: str | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    session_id: str | None = None
    staff_id: str | None = None
    outcome: str | None = None

    def row(self, tz: ZoneInfo) -> dict[str, str | None]:
        """The contact as strings (times in `tz`), keyed by `COLUMNS`."""
        out: dict[str, str | None] = {}
        for name in COLUMNS:
            value = getattr(self, name)
            out[name] = value.astimezone(tz).isoformat() if isinstance(value, datetime) else value
        return out


def message_contact(meta: dict[str, Any], status: str, reason: str, history: list[dict[str, Any]]) -> Contact:
    """A message's line in the log, from its record and history (pure)."""
    def first(wanted: str) -> datetime | None:
        for h in history:
            if h["status"] == wanted:
                return datetime.fromisoformat(h["at"])
        return None

    created = datetime.fromisoformat(meta["created_at"])
    due = datetime.fromisoformat(meta["send_at"]) if meta.get("send_at") else created
    refs = meta.get("refs") or {}
    return Contact(
        client_id=refs.get("client", ""), kind=MESSAGE, id=meta["id"], at=due, template=meta["template"],
        channel=meta["channel"], status=status, reason=reason or None, created_at=created,
        sent_at=first(st.SENT), delivered_at=first(st.DELIVERED), session_id=refs.get("session"),
        staff_id=refs.get("staff"),
    )


def call_contact(raw: bytes | str) -> Contact:
    e = json.loads(raw)
    return Contact(client_id=e["client"], kind=CALL, id=e["prompt"], at=datetime.fromisoformat(e["at"]),
                   session_id=e["session"], staff_id=e["staff"], outcome=e["outcome"])


async def read_messages(redis: Redis, ids: Iterable[str]) -> list[Contact]:
    ids = list(ids)
    if not ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for i in ids:
            pipe.hmget(msg_key(i), "meta", "status", "reason")
            pipe.lrange(history_key(i), 0, -1)
        raw = await pipe.execute()
    out = []
    for (meta, status, reason), history in zip(raw[::2], raw[1::2]):
        if meta is None:
            continue
        out.append(message_contact(json.loads(meta), status.decode(), (reason or b"").decode(),
                                   [json.loads(h) for h in history]))
    return out


async def client_contacts(redis: Redis, client_id: str) -> list[Contact]:
    """Everything one client was sent and every call made to them, oldest first."""
    ids = [i.decode() for i in await redis.zrange(index_key("client", client_id), -CLIENT_LIMIT, -1)]
    calls = await redis.zrange(client_calls_key(client_id), -CLIENT_LIMIT, -1)
    contacts = await read_messages(redis, ids) + [call_contact(c) for c in calls]
    return sorted(contacts, key=lambda c: (c.at, c.kind, c.id))


def day_range(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """From the start of `start` to the end of `end` (inclusive), local days in `tz`."""
    low = datetime.combine(start, time(0), tzinfo=tz)
    high = datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)
    return low, high


async def contacts_between(redis: Redis, low: datetime, high: datetime) -> AsyncIterator[Contact]:
    """Every client's contacts with `low <= at < high`, in time order, read in batches (the
    export streams them without holding them all in memory)."""
    messages, calls = _messages_in(redis, low, high), _calls_in(redis, low, high)
    m, c = await anext(messages, None), await anext(calls, None)
    while m is not None or c is not None:
        if c is None or (m is not None and m.at <= c.at):
            assert m is not None
            yield m
            m = await anext(messages, None)
        else:
            yield c
            c = await anext(calls, None)


async def _by_score(redis: Redis, key: str, low: datetime, high: datetime) -> AsyncIterator[bytes]:
    """Members of a sorted set with scores in [low, high), in score order, a page at a time.

    Pages start at the last score read (not at an offset), so a contact stored while a long
    export runs cannot shift a page and repeat or skip a row.
    """
    lower = float(to_ms(low))
    seen: set[bytes] = set()  # members already yielded whose score is `lower`
    while True:
        rows = await redis.zrangebyscore(key, lower, f"({to_ms(high)}", start=0, num=BATCH + len(seen), withscores=True)
        fresh = [(member, score) for member, score in rows if not (score == lower and member in seen)]
        for member, _score in fresh:
            yield member
        if len(rows) < BATCH + len(seen) or not fresh:
            return
        last = fresh[-1][1]
        seen = {member for member, score in fresh if score == last} | (seen if last == lower else set())
        lower = last


async def _messages_in(redis: Redis, low: datetime, high: datetime) -> AsyncIterator[Contact]:
    page: list[str] = []
    async for member in _by_score(redis, CONTACT_MESSAGES, low, high):
        page.append(member.decode())
        if len(page) == BATCH:
            for contact in await read_messages(redis, page):
                yield contact
            page = []
    for contact in await read_messages(redis, page):
        yield contact


async def _calls_in(redis: Redis, low: datetime, high: datetime) -> AsyncIterator[Contact]:
    async for raw in _by_score(redis, CALLS, low, high):
        yield call_contact(raw)
