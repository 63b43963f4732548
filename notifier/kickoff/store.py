"""Kickoff sessions and call prompts in Redis.

Layout (prefix `notifier:`):
  kickoff:<session_id>      hash: meta (JSON: ids, status, bookkeeping; no personal data),
                            personal (sealed JSON: the session's place and staff member, invitees)
  prompt:<prompt_id>        hash: meta (JSON: ids, language, created_at), personal (sealed: name,
                            phone, what the call script needs)
  prompt:<prompt_id>:outcomes  list of sealed JSON {outcome, note, at}: every call recorded

A session is written only inside `intake.commit`'s transaction (`stage_session`), watched by the
handler that read it, so that two concurrent attendance corrections cannot both send. Keys expire
`KEEP_AFTER_SESSION` after the session ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TYPE_CHECKING

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.casework.addressing import Address
from notifier.casework.events import Client, KickoffSession, Location, SessionStaff
from notifier.casework.names import Bilingual, Party
from notifier.kickoff.model import KickoffState, PlannedPrompt
from notifier.sealing import Sealer

if TYPE_CHECKING:
    from notifier.messages.intake import HashReader
from notifier.kickoff.keys import OPEN_PROMPTS, session_key, prompt_key, outcomes_key, site_sessions_key

KEEP_AFTER_SESSION = timedelta(days=180)


def _client_dict(c: Client) -> dict[str, Any]:
    return {"id": c.id, "first_name": c.first_name, "last_name": c.last_name, "language": c.language,
            "email": c.email, "phone": c.phone,
            # the postal address of an invitee reached by letter, for a cancellation letter (issue 6)
            "address": c.address.to_dict() if c.address and not (c.email or c.phone) else None}


def _client(d: dict[str, Any]) -> Client:
    return Client(**{**d, "address": Address.from_dict(d.get("address"))})


def _location(d: dict[str, Any]) -> Location:
    """A stored location; names stored before they had two forms are plain strings."""
    return Location(Bilingual.from_json(d["name"]) or Bilingual.same(""), Bilingual.from_json(d.get("street")),
                    d.get("postal_code"), Bilingual.from_json(d.get("city")))


def _party(d: dict[str, Any] | None) -> Party | None:
    name = Bilingual.from_json(d.get("name")) if d else None
    return Party(name, d.get("phone"), d.get("email")) if d and name else None


def _expire_at(session: KickoffSession) -> int:
    return int((session.ends_at + KEEP_AFTER_SESSION).timestamp())


# -- sessions -------------------------------------------------------------------------------------


def stage_session(pipe: Pipeline, sealer: Sealer, state: KickoffState, now: datetime) -> None:
    """Queue the write of a session's state into `pipe` (inside the caller's MULTI)."""
    s = state.session
    meta = {
        "id": s.id, "site": s.site, "staff_id": s.staff.id, "status": state.status,
        "starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat(),
        "invitee_ids": [c.id for c in state.invitees],
        "reminders": state.reminders, "notified": sorted(state.notified), "absent": list(state.absent),
        "attendance_count": state.attendance_count, "prompts": state.prompts,
        "updated_at": now.astimezone(timezone.utc).isoformat(), "capacity": s.capacity,
    }
    loc, staff = s.location, s.staff
    personal = {
        "location": {"name": loc.name.to_json(), "street": loc.street.to_json() if loc.street else None,
                     "postal_code": loc.postal_code, "city": loc.city.to_json() if loc.city else None},
        "staff": {"name": staff.name, "email": staff.email, "language": staff.language, "phone": staff.phone},
        "provider": ({"name": s.provider.name.to_json(), "phone": s.provider.phone, "email": s.provider.email}
                     if s.provider else None),
        "invitees": [_client_dict(c) for c in state.invitees],
    }
    key = session_key(s.id)
    pipe.hset(key, mapping={"meta": json.dumps(meta, separators=(",", ":")), "personal": sealer.seal(personal)})
    pipe.expireat(key, _expire_at(s))
    # The site's sessions by start time: what rebooking offers (`rebooking.py`). Ids only.
    pipe.zadd(site_sessions_key(s.site), {s.id: int(s.starts_at.timestamp() * 1000)})
    pipe.zremrangebyscore(site_sessions_key(s.site), "-inf", int((now - KEEP_AFTER_SESSION).timestamp() * 1000))


async def load_session(redis: HashReader, sealer: Sealer, session_id: str) -> KickoffState | None:
    """A session's state; `redis` may be a commit's `Reads` (read already with the webhook's key)."""
    fields = await redis.hgetall(session_key(session_id))
    if not fields:
        return None
    meta = json.loads(fields[b"meta"])
    personal = sealer.open(fields[b"personal"])
    staff = personal["staff"]
    session = KickoffSession(
        id=meta["id"],
        starts_at=datetime.fromisoformat(meta["starts_at"]),
        ends_at=datetime.fromisoformat(meta["ends_at"]),
        site=meta["site"],
        location=_location(personal["location"]),
        staff=SessionStaff(meta["staff_id"], staff["name"], staff["email"], staff["language"], staff.get("phone")),
        provider=_party(personal.get("provider")),
        capacity=meta.get("capacity"),
    )
    return KickoffState(
        session=session,
        invitees=tuple(_client(c) for c in personal["invitees"]),
        status=meta["status"],
        reminders=dict(meta.get("reminders", {})),
        notified=frozenset(meta.get("notified", [])),
        absent=tuple(meta.get("absent", [])),
        attendance_count=int(meta.get("attendance_count", 0)),
        prompts=dict(meta.get("prompts", {})),
    )


# -- call prompts ---------------------------------------------------------------------------------

OUTCOMES = ("reached", "no-answer", "wrong-number", "rescheduled")


@dataclass(frozen=True)
class CallOutcome:
    outcome: str
    note: str
    at: datetime


@dataclass(frozen=True)
class CallPrompt:
    """A task for staff: call an absent client. Name, phone and context are personal data."""

    id: str
    session_id: str
    client_id: str
    staff_id: str
    language: str
    name: str
    first_name: str
    phone: str | None
    context: dict[str, Any]
    created_at: datetime
    outcomes: tuple[CallOutcome, ...] = field(default=())
    attempt: int = 1  # 2, 3, … for follow-ups of unanswered calls (`attempts.py`)
    due_at: datetime | None = None  # a follow-up is due from this time (the next working day)
    previous: str | None = None  # the unanswered prompt this one follows


def stage_prompt(pipe: Pipeline, sealer: Sealer, prompt_id: str, planned: PlannedPrompt, session: KickoffSession,
                 now: datetime, *, attempt: int = 1, due_at: datetime | None = None, previous: str | None = None) -> None:
    meta: dict[str, Any] = {"id": prompt_id, "session_id": session.id, "client_id": planned.client_id,
                            "staff_id": session.staff.id, "language": planned.language,
                            "created_at": now.astimezone(timezone.utc).isoformat()}
    if attempt > 1:
        meta.update(attempt=attempt, previous=previous,
                    due_at=due_at.astimezone(timezone.utc).isoformat() if due_at else None)
    personal = {"name": planned.name, "first_name": planned.first_name, "phone": planned.phone,
                "context": planned.context}
    key = prompt_key(prompt_id)
    pipe.hset(key, mapping={"meta": json.dumps(meta, separators=(",", ":")), "personal": sealer.seal(personal)})
    pipe.expireat(key, _expire_at(session))
    pipe.zadd(OPEN_PROMPTS, {prompt_id: int((due_at or now).timestamp() * 1000)})


async def load_prompts(redis: Redis, sealer: Sealer, prompt_ids: list[str]) -> list[CallPrompt]:
    if not prompt_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for pid in prompt_ids:
            pipe.hgetall(prompt_key(pid))
            pipe.lrange(outcomes_key(pid), 0, -1)
        raw = await pipe.execute()
    prompts = []
    for fields, outcomes in zip(raw[::2], raw[1::2]):
        if not fields:
            continue
        meta = json.loads(fields[b"meta"])
        personal = sealer.open(fields[b"personal"])
        recorded = tuple(
            CallOutcome(o["outcome"], o.get("note", ""), datetime.fromisoformat(o["at"]))
            for o in (sealer.open(blob) for blob in outcomes)
        )
        prompts.append(CallPrompt(
            id=meta["id"], session_id=meta["session_id"], client_id=meta["client_id"], staff_id=meta["staff_id"],
            language=meta["language"], name=personal["name"], first_name=personal["first_name"],
            phone=personal.get("phone"), context=personal.get("context", {}),
            created_at=datetime.fromisoformat(meta["created_at"]), outcomes=recorded,
            attempt=int(meta.get("attempt", 1)), previous=meta.get("previous"),
            due_at=datetime.fromisoformat(meta["due_at"]) if meta.get("due_at") else None,
        ))
    return prompts


def stage_outcome(pipe: Pipeline, sealer: Sealer, prompt: CallPrompt, outcome: str, note: str, at: datetime,
                  ttl: int | None) -> None:
    """Queue the append of a call's outcome (inside the caller's MULTI); `ttl` is the prompt's."""
    entry = {"outcome": outcome, "note": note, "at": at.astimezone(timezone.utc).isoformat()}
    key = outcomes_key(prompt.id)
    pipe.rpush(key, sealer.seal(entry))
    if ttl and ttl > 0:
        pipe.expire(key, ttl)
    pipe.zrem(OPEN_PROMPTS, prompt.id)
