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
from notifier.messages.intake import HashReader, Outcome
from notifier.messages.model import PlannedMessage
from notifier.kickoff.planning import (
    CALL_PROMPTS,
    NO_SHOW,
    NO_SHOW_EMAIL,
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
from notifier.kickoff.tokens import CallListLinks
from notifier.kickoff.rebooking import first_upcoming, link_expiry, link_url, new_code, stage_link
from notifier.clock import new_id, utcnow
from notifier.validation import FieldError, Invalid


def office(rt: Runtime) -> Party:
    return rt.settings.office


def provider(rt: Runtime) -> Party:
    """The configured provider: a no-show's number to call when the session's staff has none."""
    return rt.settings.provider


async def _existing(rt: Runtime, session_id: str, reads: HashReader | None = None) -> KickoffState:
    state = await load_session(reads or rt.redis, rt.store.sealer, session_id)
    if state is None:
        raise Invalid([FieldError("data.session_id", "no kickoff session with this id has been scheduled")])
    return state


async def kickoff_scheduled(event: KickoffScheduled, rt: Runtime, reads: HashReader | None = None) -> Outcome:
    sid = event.session.id
    existing = await load_session(reads or rt.redis, rt.store.sealer, sid)
    plan = plan_scheduled(event, existing, office(rt), rt.settings.timezone, utcnow(), provider(rt))

    def stage(pipe: Pipeline, ids: list[str]) -> None:
        reminders = {m.refs["client"]: i for m, i in zip(plan.messages, ids) if m.template == REMINDER and not m.failure}
        state = replace(plan.state, reminders={**plan.state.reminders, **reminders})
        stage_session(pipe, rt.store.sealer, state, utcnow())

    return Outcome(messages=plan.messages, stage=stage, watch=[session_key(sid)], answer={"session_id": sid})


async def kickoff_attendance(event: KickoffAttendance, rt: Runtime, reads: HashReader | None = None) -> Outcome:
    state = await _existing(rt, event.session_id, reads)
    plan = plan_attendance(event, state, office(rt), provider(rt), now=rt.clock(), tz=rt.settings.timezone)
    # Each newly told client's no-show SMS/e-mail carries their own rebooking link (`rebooking.py`).
    codes = {m.refs["client"]: new_code() for m in plan.messages if m.template in (NO_SHOW, NO_SHOW_EMAIL)}
    plan = replace(plan, messages=[with_rebooking_link(rt, with_call_list(rt, m), codes) for m in plan.messages])
    prompt_ids = [new_id() for _ in plan.prompts]
    now = utcnow()
    upcoming = await first_upcoming(rt.redis, state.session.site, now, state.session.id) if codes else None
    expires = link_expiry(now, event.next_session_starts_at, upcoming)

    def stage(pipe: Pipeline, ids: list[str]) -> None:
        now = utcnow()
        for prompt_id, prompt in zip(prompt_ids, plan.prompts):
            stage_prompt(pipe, rt.store.sealer, prompt_id, prompt, state.session, now)
        new = {p.client_id: pid for pid, p in zip(prompt_ids, plan.prompts)}
        prompts = {**plan.state.prompts, **new}
        stage_session(pipe, rt.store.sealer, replace(plan.state, prompts=prompts), now)
        for client_id, code in codes.items():
            client = state.invitee(client_id)
            stage_link(pipe, code, client_id=client_id, session_id=state.session.id, prompt_id=prompts.get(client_id, ""),
                       site=state.session.site, language=client.language if client else "fi", expires_at=expires)

    return Outcome(messages=plan.messages, stage=stage, watch=[session_key(event.session_id)],
                   answer={"session_id": event.session_id, "call_prompts": prompt_ids})


def with_call_list(rt: Runtime, message: PlannedMessage) -> PlannedMessage:
    """The staff member's call-prompt e-mail links to the session's call list (when links can be signed)."""
    links = CallListLinks.from_settings(rt.settings)
    if message.template != CALL_PROMPTS or not links.available:
        return message
    url = links.url(message.refs["session"], message.refs["staff"])
    return replace(message, context={**message.context, "call_list_url": url})


def with_rebooking_link(rt: Runtime, message: PlannedMessage, codes: dict[str, str]) -> PlannedMessage:
    code = codes.get(message.refs.get("client", "")) if message.template in (NO_SHOW, NO_SHOW_EMAIL) else None
    if code is None:
        return message
    return replace(message, context={**message.context, "rebook_url": link_url(rt.settings.public_url, code)})


async def kickoff_cancelled(event: KickoffCancelled, rt: Runtime, reads: HashReader | None = None) -> Outcome:
    state = await _existing(rt, event.session_id, reads)
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
