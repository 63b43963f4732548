"""Rebooking by the client: the short personal link in the no-show SMS and e-mail, the sessions it
offers, and booking one.

The link is `<NOTIFIER_PUBLIC_URL>/r/<code>`: a random 10-character code (about 59 bits), short
enough for the no-show SMS to stay within two GSM-7 parts. Redis keeps only the code's SHA-256,
with ids (client, missed session, call prompt, site) and when the link expires: when the next
session starts (the attendance's `next_session.starts_at`, else the first later session of the
site the service knows), at most 14 days. A link is used by one choice: a session, or "call me
instead"; after that it shows what was chosen.

Booking is one transaction (`intake.commit`), watching the link and the chosen session: the
client becomes an invitee of the session (so a later `kickoff.scheduled` listing them does not
invite them again, and one leaving them out keeps them), gets its invitation and reminder, their
call prompt gets the outcome `rescheduled` (contact log and `call_prompt.outcome` callback as if
staff had recorded it) and the case system gets `client.rebooked`. A session that filled up, was
cancelled or started meanwhile is not booked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from notifier.app.runtime import Runtime
from notifier.kickoff.keys import REBOOKED, call_requests_key, follow_up_key, prompt_key, rebook_key, session_key, site_sessions_key
from notifier.kickoff.model import SCHEDULED, KickoffState
from notifier.kickoff.planning import REMINDER, plan_invitations
from notifier.kickoff.store import load_prompts, load_session, stage_outcome, stage_session
from notifier.messages import callbacks as cb
from notifier.messages.contact_log import stage_recorded_call
from notifier.messages.intake import Outcome, commit

CODE_LENGTH = 10
_ALPHABET = string.ascii_letters + string.digits
MAX_VALIDITY = timedelta(days=14)
#: Most upcoming sessions looked at for an offer.
LOOK_AHEAD = 20
CALL_ME = "call"


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(c in _ALPHABET for c in code)


def link_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/r/{code}"


def link_expiry(now: datetime, next_session: datetime | None, first_upcoming: datetime | None) -> datetime:
    """When the next session starts (the attendance's, else the site's next known one), at most 14 days."""
    candidates = [t for t in (next_session, first_upcoming) if t is not None and t > now]
    return min([*candidates, now + MAX_VALIDITY])


@dataclass(frozen=True)
class RebookLink:
    code: str
    client_id: str
    session_id: str  # the session the client missed
    prompt_id: str
    site: str
    language: str
    expires_at: datetime
    choice: str = ""  # "" until used; then a session id or CALL_ME
    chosen_at: datetime | None = None


def stage_link(pipe: Pipeline, code: str, *, client_id: str, session_id: str, prompt_id: str, site: str,
               language: str, expires_at: datetime) -> None:
    key = rebook_key(code_hash(code))
    pipe.hset(key, mapping={"client": client_id, "session": session_id, "prompt": prompt_id, "site": site,
                            "language": language, "expires": expires_at.astimezone(timezone.utc).isoformat()})
    # Kept a while after it expires, so that an old link says "expired", not "unknown".
    pipe.expireat(key, int((expires_at + timedelta(days=30)).timestamp()))


async def read_link(redis: Redis, code: str) -> RebookLink | None:
    """The link for `code`, or None for a malformed or unknown code (expired ones are returned)."""
    if not well_formed(code):
        return None
    raw = await redis.hgetall(rebook_key(code_hash(code)))
    if not raw:
        return None
    f = {k.decode(): v.decode() for k, v in raw.items()}
    return RebookLink(code, f["client"], f["session"], f.get("prompt", ""), f["site"], f.get("language", "fi"),
                      datetime.fromisoformat(f["expires"]), f.get("choice", ""),
                      datetime.fromisoformat(f["chosen_at"]) if f.get("chosen_at") else None)


async def first_upcoming(redis: Redis, site: str, after: datetime, excluding: str) -> datetime | None:
    """Start of the site's next known session after `after` (other than `excluding`)."""
    ids = await redis.zrangebyscore(site_sessions_key(site), f"({int(after.timestamp() * 1000)}", "+inf",
                                    start=0, num=2, withscores=True)
    for sid, score in ids:
        if sid.decode() != excluding:
            return datetime.fromtimestamp(score / 1000, timezone.utc)
    return None


def offerable(state: KickoffState, link: RebookLink, now: datetime) -> bool:
    s = state.session
    return (state.status == SCHEDULED and s.starts_at > now and s.id != link.session_id and s.site == link.site
            and state.invitee(link.client_id) is None
            and (s.capacity is None or len(state.invitees) < s.capacity))


async def offers(rt: Runtime, link: RebookLink, now: datetime) -> list[KickoffState]:
    """The site's upcoming sessions the client can choose, soonest first."""
    ids = await rt.redis.zrangebyscore(site_sessions_key(link.site), f"({int(now.timestamp() * 1000)}", "+inf",
                                       start=0, num=LOOK_AHEAD)
    found = []
    for sid in ids:
        state = await load_session(rt.redis, rt.store.sealer, sid.decode())
        if state is not None and offerable(state, link, now):
            found.append(state)
    return found


async def current_prompt_id(redis: Redis, prompt_id: str) -> str:
    """The latest attempt of the chain that starts at `prompt_id` (follow-ups of unanswered calls)."""
    for _ in range(20):
        nxt = await redis.get(follow_up_key(prompt_id))
        if not nxt:
            return prompt_id
        prompt_id = nxt.decode()
    return prompt_id


async def book(rt: Runtime, code: str, session_id: str, now: datetime) -> dict[str, Any]:
    """Book the link's client into `session_id`; `{"result": "booked" | "used" | "unavailable" | "expired"}`."""
    link_key = rebook_key(code_hash(code))
    callbacks = bool(rt.settings.status_callback_url)

    async def decide() -> Outcome:
        link = await read_link(rt.redis, code)
        if link is None or link.expires_at <= now:
            return Outcome(answer={"result": "expired"})
        if link.choice:
            return Outcome(answer={"result": "used"})
        target = await load_session(rt.redis, rt.store.sealer, session_id)
        missed = await load_session(rt.redis, rt.store.sealer, link.session_id)
        client = missed.invitee(link.client_id) if missed else None
        if target is None or client is None or not offerable(target, link, now):
            return Outcome(answer={"result": "unavailable"}, watch=[session_key(session_id)])
        messages = plan_invitations(target.session, (client,), rt.settings.office, rt.settings.timezone, now,
                                    rt.settings.provider)
        prompt_id = await current_prompt_id(rt.redis, link.prompt_id) if link.prompt_id else ""
        found = await load_prompts(rt.redis, rt.store.sealer, [prompt_id]) if prompt_id else []
        ttl = await rt.redis.ttl(prompt_key(prompt_id)) if found else None

        def stage(pipe: Pipeline, ids: list[str]) -> None:
            reminders = {m.refs["client"]: i for m, i in zip(messages, ids) if m.template == REMINDER and not m.failure}
            state = replace(target, invitees=target.invitees + (client,),
                            reminders={**target.reminders, **reminders})
            stage_session(pipe, rt.store.sealer, state, now)
            pipe.hset(link_key, mapping={"choice": session_id, "chosen_at": now.astimezone(timezone.utc).isoformat()})
            pipe.zadd(REBOOKED, {json.dumps({"client": link.client_id, "from": link.session_id, "session": session_id,
                                             "site": link.site}, sort_keys=True): int(now.timestamp() * 1000)})
            if found:
                stage_outcome(pipe, rt.store.sealer, found[0], "rescheduled", "", now, ttl)
                stage_recorded_call(found[0], "rescheduled", now, callbacks=callbacks)(pipe)
            if callbacks:
                stream = cb.prompt_stream(prompt_id) if prompt_id else f"client:{link.client_id}"
                cb.stage_event(pipe, stream, cb.rebooked_event(link.client_id, link.session_id, session_id,
                                                               prompt_id or None, now), now)

        return Outcome(messages=messages, stage=stage, watch=[session_key(session_id)],
                       answer={"result": "booked", "session_id": session_id})

    return await commit(rt.store, decide, watch=[link_key])


async def call_me_instead(rt: Runtime, code: str, now: datetime) -> str:
    """The client asks to be called; the call prompt stays open for staff. `called`/`used`/`expired`."""
    link_key = rebook_key(code_hash(code))
    async with rt.redis.pipeline(transaction=True) as pipe:
        await pipe.watch(link_key)
        link = await read_link(rt.redis, code)
        if link is None or link.expires_at <= now:
            await pipe.reset()
            return "expired"
        if link.choice:
            await pipe.reset()
            return "used"
        at = now.astimezone(timezone.utc).isoformat()
        pipe.multi()
        pipe.hset(link_key, mapping={"choice": CALL_ME, "chosen_at": at})
        requests = call_requests_key(link.session_id)
        pipe.hset(requests, link.client_id, at)  # shown on the session's call list
        pipe.expireat(requests, int((now + timedelta(days=180)).timestamp()))
        try:
            await pipe.execute()
        except WatchError:
            return "used"  # another choice on the same link won
    return "called"
