"""Handlers for `kickoff.scheduled`, `kickoff.attendance` and `kickoff.cancelled`.

Thin, like `handlers.py`: load the session, let `planning_kickoff.py` decide, and return an
`Outcome` that stores the session's new state (and call prompts, and cancelled reminders) in the
same transaction as the messages. Each outcome watches the session key, so a session changed by a
concurrent request between reading and committing is decided again.
"""

from __future__ import annotations

from dataclasses import replace

from redis.asyncio.client import Pipeline

from notifier.messages import status as st
from notifier.casework.events import KickoffAttendance, KickoffCancelled, KickoffScheduled, Party
from notifier.messages.intake import Outcome
from notifier.kickoff.planning import (
    REMINDER,
    KickoffPlan,
    plan_attendance,
    plan_cancellation,
    plan_scheduled,
)
from notifier.kickoff.model import KickoffState
from notifier.app.runtime import Runtime
from notifier.kickoff.store import load_session, stage_prompt, stage_session
from notifier.kickoff.keys import session_key
from notifier.clock import new_id, utcnow
from notifier.validation import FieldError, Invalid


def office(rt: Runtime) -> Party:
    return rt.settings.office


def provider(rt: Runtime) -> Party:
    """The configured provider: a no-show's number to call when the session's staff has none."""
    return rt.settings.provider


async def _existing(rt: Runtime, session_id: str) -> KickoffState:
    state = await load_session(rt.redis, rt.store.sealer, session_id)
    if state is None:
        raise Invalid([FieldError("data.session_id", "no kickoff session with this id has been scheduled")])
    return state


async def kickoff_scheduled(event: KickoffScheduled, rt: Runtime) -> Outcome:
    sid = event.session.id
    existing = await load_session(rt.redis, rt.store.sealer, sid)
    plan = plan_scheduled(event, existing, office(rt), rt.settings.timezone, utcnow(), provider(rt))

    def stage(pipe: Pipeline, ids: list[str]) -> None:
        reminders = {m.refs["client"]: i for m, i in zip(plan.messages, ids) if m.template == REMINDER and not m.failure}
        state = replace(plan.state, reminders={**plan.state.reminders, **reminders})
        stage_session(pipe, rt.store.sealer, state, utcnow())

    return Outcome(messages=plan.messages, stage=stage, watch=[session_key(sid)], answer={"session_id": sid})


async def kickoff_attendance(event: KickoffAttendance, rt: Runtime) -> Outcome:
    state = await _existing(rt, event.session_id)
    plan = plan_attendance(event, state, office(rt), provider(rt))
    prompt_ids = [new_id() for _ in plan.prompts]

    def stage(pipe: Pipeline, ids: list[str]) -> None:
        now = utcnow()
        for prompt_id, prompt in zip(prompt_ids, plan.prompts):
            stage_prompt(pipe, rt.store.sealer, prompt_id, prompt, state.session, now)
        new = {p.client_id: pid for pid, p in zip(prompt_ids, plan.prompts)}
        stage_session(pipe, rt.store.sealer, replace(plan.state, prompts={**plan.state.prompts, **new}), now)

    return Outcome(messages=plan.messages, stage=stage, watch=[session_key(event.session_id)],
                   answer={"session_id": event.session_id, "call_prompts": prompt_ids})


async def kickoff_cancelled(event: KickoffCancelled, rt: Runtime) -> Outcome:
    state = await _existing(rt, event.session_id)
    plan: KickoffPlan = plan_cancellation(event, state, office(rt), utcnow(), provider(rt))

    async def stage(pipe: Pipeline, ids: list[str]) -> None:
        now = utcnow()
        for message_id in plan.cancel:
            # A reminder already being sent or sent stays as it is: the store refuses the move.
            await rt.store.move(message_id, st.CANCELLED, "session-cancelled", now=now, pipe=pipe)
        if plan.state is not state:
            stage_session(pipe, rt.store.sealer, plan.state, now)

    return Outcome(messages=plan.messages, stage=stage, watch=[session_key(event.session_id)],
                   answer={"session_id": event.session_id})
