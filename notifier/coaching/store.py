"""Each referred client's coaching state in Redis (layout in `keys.py`).

The state is written only inside `intake.commit`'s transaction (`stage_state`), watched by the
handler that read it, so two events for one client at once are decided one after the other.
Personal data (the client's name and addresses, the coach's name and e-mail) is sealed; the meta
part holds ids, codes and times only. A client's state expires `KEEP_AFTER_END` after the service
ended; the ended index (`ENDED`: reason, coach id and site, no client id) keeps each end for
`ENDED_KEEP` for the figures page (`site_facts`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, TYPE_CHECKING

import msgspec
from msgspec.structs import asdict
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.casework.addressing import Address
from notifier.casework.events import Client, Coach, Party
from notifier.clock import new_id, to_ms
from notifier.coaching.keys import ACTIVE_CLIENTS, COACHES, ENDED, client_key, coach_clients_key
from notifier.coaching.model import CoachingState
from notifier.coaching.site_figures import ActiveClient, EndedService
from notifier.sealing import Sealer

if TYPE_CHECKING:
    from notifier.messages.intake import HashReader

KEEP_AFTER_END = timedelta(days=180)
#: Ends this much older than the one being recorded leave the ended index: twice the
#: figures page's longest period.
ENDED_KEEP = timedelta(days=800)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _client_dict(c: Client) -> dict[str, Any]:
    d = asdict(c)
    d["address"] = c.address.to_dict() if c.address else None
    return d


def stage_state(pipe: Pipeline, sealer: Sealer, state: CoachingState, previous: CoachingState | None) -> None:
    """Queue the write of a client's state and its place in the indexes (inside the caller's MULTI).

    `previous` is the state as stored (read under the caller's WATCH), or None when there is none.
    """
    cid = state.client.id
    meta = {
        "client_id": cid, "coach_id": state.coach.id if state.coach else None,
        "coach_site": state.coach.site if state.coach else None,
        "referred_at": _iso(state.referred_at), "last_contact_at": _iso(state.last_contact_at),
        "last_plan_at": _iso(state.last_plan_at), "contacts": state.contacts,
        "ended_at": _iso(state.ended_at), "end_reason": state.end_reason, "reminders": state.reminders,
    }
    personal = {
        "client": _client_dict(state.client),
        "coach": asdict(state.coach) if state.coach else None,
        "office": msgspec.to_builtins(state.office) if state.office else None,  # a name in fi and/or sv
        "provider": msgspec.to_builtins(state.provider) if state.provider else None,
    }
    key = client_key(cid)
    pipe.hset(key, mapping={"meta": json.dumps(meta, separators=(",", ":")), "personal": sealer.seal(personal)})
    old_coach = previous.coach.id if previous and previous.coach and previous.active else None
    new_coach = state.coach.id if state.coach and state.active else None
    if old_coach and old_coach != new_coach:
        pipe.srem(coach_clients_key(old_coach), cid)
    if state.active:
        if previous is not None and not previous.active:  # only an ended client's state expires
            pipe.persist(key)
        pipe.sadd(ACTIVE_CLIENTS, cid)
        if new_coach:
            pipe.sadd(coach_clients_key(new_coach), cid)
            pipe.sadd(COACHES, new_coach)
    else:
        pipe.srem(ACTIVE_CLIENTS, cid)
        pipe.expireat(key, int(((state.ended_at or state.referred_at) + KEEP_AFTER_END).timestamp()))
        if state.ended_at and (previous is None or previous.active):  # the end itself, once
            entry = {"id": new_id(), "reason": state.end_reason, "coach": meta["coach_id"], "site": meta["coach_site"]}
            pipe.zadd(ENDED, {json.dumps(entry, separators=(",", ":")): to_ms(state.ended_at)})
            pipe.zremrangebyscore(ENDED, "-inf", f"({to_ms(state.ended_at - ENDED_KEEP)}")


def _state(fields: dict[bytes, bytes], sealer: Sealer) -> CoachingState:
    meta = json.loads(fields[b"meta"])
    personal = sealer.open(fields[b"personal"])
    c = personal["client"]
    client = Client(**{**c, "address": Address.from_dict(c.get("address"))})
    party = lambda d: msgspec.convert(d, Party) if d else None  # noqa: E731
    return CoachingState(
        client=client,
        referred_at=datetime.fromisoformat(meta["referred_at"]),
        coach=Coach(**personal["coach"]) if personal.get("coach") else None,
        office=party(personal.get("office")),
        provider=party(personal.get("provider")),
        last_contact_at=_dt(meta.get("last_contact_at")),
        last_plan_at=_dt(meta.get("last_plan_at")),
        contacts=int(meta.get("contacts", 0)),
        ended_at=_dt(meta.get("ended_at")),
        end_reason=meta.get("end_reason"),
        reminders=dict(meta.get("reminders", {})),
    )


async def load_state(redis: HashReader, sealer: Sealer, client_id: str) -> CoachingState | None:
    """A client's coaching state; `redis` may be a commit's `Reads` (read already with the webhook's key)."""
    fields = await redis.hgetall(client_key(client_id))
    return _state(fields, sealer) if fields else None


async def load_states(redis: Redis, sealer: Sealer, client_ids: list[str]) -> list[CoachingState]:
    if not client_ids:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for cid in client_ids:
            pipe.hgetall(client_key(cid))
        raw = await pipe.execute()
    return [_state(f, sealer) for f in raw if f]


async def active_client_ids(redis: Redis, coach_id: str | None = None) -> list[str]:
    key = coach_clients_key(coach_id) if coach_id else ACTIVE_CLIENTS
    return sorted(m.decode() for m in await redis.smembers(key))


async def coach_ids(redis: Redis) -> list[str]:
    return sorted(m.decode() for m in await redis.smembers(COACHES))


async def coaches_with_clients(redis: Redis) -> list[str]:
    """The coaches who have an active client now, in one round trip after the list of coaches."""
    coaches = await coach_ids(redis)
    async with redis.pipeline(transaction=False) as pipe:
        for coach_id in coaches:
            pipe.scard(coach_clients_key(coach_id))
        counts = await pipe.execute()
    return [c for c, n in zip(coaches, counts) if n]


async def site_facts(redis: Redis, start: datetime, end: datetime) -> tuple[list[ActiveClient], list[EndedService]]:
    """The active clients (now) and the services ended in [start, end), from the clear parts only:
    nothing sealed is opened, so the figures page stays fast with thousands of clients."""
    ids = [m.decode() for m in await redis.smembers(ACTIVE_CLIENTS)]
    metas: list[bytes | None] = []
    if ids:
        async with redis.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.hget(client_key(cid), "meta")
            metas = await pipe.execute()
    active = []
    for raw in metas:
        if raw:
            m = json.loads(raw)
            active.append(ActiveClient(m.get("coach_id"), m.get("coach_site"), datetime.fromisoformat(m["referred_at"]),
                                       _dt(m.get("last_contact_at")), _dt(m.get("last_plan_at"))))
    entries = await redis.zrangebyscore(ENDED, to_ms(start), f"({to_ms(end)}")
    ended = [EndedService(e["reason"], e.get("coach"), e.get("site")) for e in map(json.loads, entries)]
    return active, ended
