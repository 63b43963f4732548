"""Recording a call to an absent client, from the API or the call list page, and what follows it.

One Redis transaction holds the outcome, its contact-log entry and `call_prompt.outcome`
callback, and what `attempts.after_call` decides: a follow-up prompt for the next working day,
or the client marked unreachable (with its `client.unreachable` callback and a line for the
authority's daily e-mail). The prompt's follow-up marker and the session's unreachable hash are
watched, so two people recording the same call at once cannot schedule two follow-ups.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from redis.exceptions import WatchError

from notifier.app.runtime import Runtime
from notifier.clock import new_id
from notifier.coaching.handlers import record_call_contact
from notifier.kickoff.attempts import after_call
from notifier.kickoff.keys import (
    UNREACHABLE,
    follow_up_key,
    follow_ups_key,
    prompt_key,
    unreachable_key,
)
from notifier.kickoff.model import KickoffState, PlannedPrompt
from notifier.kickoff.store import CallPrompt, load_prompts, load_session, stage_outcome, stage_prompt
from notifier.messages import callbacks as cb
from notifier.messages.contact_log import stage_recorded_call

log = logging.getLogger("notifier.calls")


class CallConflict(Exception):
    """The prompt kept changing under concurrent recordings; the caller asks to try again."""


@dataclass(frozen=True)
class Recorded:
    prompt_id: str
    follow_up: str | None = None
    unreachable: str | None = None


async def session_prompt_ids(rt: Runtime, state: KickoffState) -> list[str]:
    """The session's prompts: the first of each absent client, then follow-ups, oldest first."""
    follow_ups = [i.decode() for i in await rt.redis.lrange(follow_ups_key(state.session.id), 0, -1)]
    return list(state.prompts.values()) + follow_ups


async def session_prompts(rt: Runtime, state: KickoffState) -> list[CallPrompt]:
    return await load_prompts(rt.redis, rt.store.sealer, await session_prompt_ids(rt, state))


async def unreachable_clients(rt: Runtime, session_id: str) -> dict[str, dict[str, str]]:
    raw = await rt.redis.hgetall(unreachable_key(session_id))
    return {k.decode(): json.loads(v) for k, v in raw.items()}


async def record_call(rt: Runtime, prompt: CallPrompt, outcome: str, note: str, at: datetime) -> Recorded:
    """Record one call on `prompt` and schedule what follows (see the module docstring)."""
    s = rt.settings
    state = await load_session(rt.redis, rt.store.sealer, prompt.session_id)
    ttl = await rt.redis.ttl(prompt_key(prompt.id))
    callbacks = bool(s.status_callback_url)
    for _ in range(5):
        async with rt.redis.pipeline(transaction=True) as pipe:
            marker, unreachable = follow_up_key(prompt.id), unreachable_key(prompt.session_id)
            await pipe.watch(marker, unreachable)
            has_follow_up = bool(await pipe.exists(marker))
            already = bool(await pipe.hexists(unreachable, prompt.client_id))
            decision = after_call(outcome, attempt=prompt.attempt, max_attempts=s.call_attempts,
                                  has_follow_up=has_follow_up, already_unreachable=already, now=at, tz=s.timezone,
                                  retry_days=s.call_retry_working_days)
            pipe.multi()
            stage_outcome(pipe, rt.store.sealer, prompt, outcome, note, at, ttl)
            stage_recorded_call(prompt, outcome, at, callbacks=callbacks)(pipe)
            follow_up = None
            if decision.follow_up_due is not None and state is not None:
                follow_up = new_id()
                planned = PlannedPrompt(prompt.client_id, prompt.name, prompt.first_name, prompt.language,
                                        prompt.phone, prompt.context)
                stage_prompt(pipe, rt.store.sealer, follow_up, planned, state.session, at,
                             attempt=prompt.attempt + 1, due_at=decision.follow_up_due, previous=prompt.id)
                pipe.set(marker, follow_up, ex=ttl if ttl and ttl > 0 else None)
                pipe.rpush(follow_ups_key(prompt.session_id), follow_up)
                if ttl and ttl > 0:
                    pipe.expire(follow_ups_key(prompt.session_id), ttl)
            if decision.unreachable is not None:
                entry = {"reason": decision.unreachable, "prompt": prompt.id, "at": at.astimezone(timezone.utc).isoformat()}
                pipe.hset(unreachable, prompt.client_id, json.dumps(entry))
                if ttl and ttl > 0:
                    pipe.expire(unreachable, ttl)
                line = {"session": prompt.session_id, "client": prompt.client_id, "prompt": prompt.id,
                        "staff": prompt.staff_id, "site": state.session.site if state else "",
                        "reason": decision.unreachable, "attempts": prompt.attempt}
                pipe.zadd(UNREACHABLE, {json.dumps(line, sort_keys=True): int(at.timestamp() * 1000)})
                if callbacks:
                    cb.stage_event(pipe, cb.prompt_stream(prompt.id), cb.unreachable_event(
                        prompt.id, prompt.session_id, prompt.client_id, prompt.staff_id, decision.unreachable,
                        prompt.attempt, at), at)
            try:
                await pipe.execute()
            except WatchError:
                continue
        if follow_up:
            log.info("call prompt %s: %s; follow-up %s due %s", prompt.id, outcome, follow_up,
                     decision.follow_up_due.isoformat() if decision.follow_up_due else "-")
        if outcome == "reached":  # a call that reached the client is a contact of the coaching rhythm
            await record_call_contact(rt, prompt.client_id, at)
        if decision.unreachable:
            log.info("call prompt %s: client unreachable (%s)", prompt.id, decision.unreachable,
                     extra={"event": "client.unreachable", "call_prompt_id": prompt.id})
        return Recorded(prompt.id, follow_up, decision.unreachable)
    raise CallConflict(prompt.id)
