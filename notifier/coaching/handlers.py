"""Handlers of the coaching events, and the coaching part of `client.referred`.

Thin, like the kickoff handlers: load the client's coaching state, let `planning.py` decide, and
return an `Outcome` that writes the new state, the reminders to plan and the cancellations in the
same transaction as the messages (watching the client's key, so concurrent events are decided one
after the other). Reminders are ordinary messages with a `send_at`: retries, status callbacks and
the message log come with them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from redis.asyncio.client import Pipeline

from notifier.app.runtime import Runtime
from notifier.casework.events import ClientReferred, ServiceEnded
from notifier.clock import utcnow
from notifier.coaching.keys import client_key
from notifier.coaching.model import CoachingState, Rules
from notifier.coaching.planning import (
    ReminderPlan,
    after_event,
    after_referral,
    contacted,
    plan_reminders,
    plan_service_ended,
)
from notifier.coaching.store import load_state, stage_state
from notifier.messages import status as st
from notifier.messages.intake import HashReader, Outcome, commit
from notifier.messages.model import PlannedMessage
from notifier.validation import FieldError, Invalid

log = logging.getLogger("notifier.coaching")


def rules(rt: Runtime) -> Rules:
    return rt.settings.coaching


async def _unsent(rt: Runtime, state: CoachingState | None) -> frozenset[str]:
    """The planned reminders still waiting to go (status `created`): only these can be cancelled or
    handed to another coach; one being sent or sent stays as it is."""
    ids = list(state.reminders.values()) if state else []
    statuses = await rt.store.statuses_of(ids)
    return frozenset(i for i, s in zip(ids, statuses) if s in (st.CREATED, st.TEMPORARY_FAILURE))


def _outcome(rt: Runtime, previous: CoachingState | None, new: CoachingState, plan: ReminderPlan,
             leading: list[PlannedMessage], answer: dict[str, Any]) -> Outcome:
    async def stage(pipe: Pipeline, ids: list[str]) -> None:
        now = utcnow()
        for message_id, reason in plan.cancel.items():
            await rt.store.move(message_id, st.CANCELLED, reason, now=now, pipe=pipe)
        planned = dict(zip(plan.keys, ids[len(leading):]))
        reminders = {k: v for k, v in new.reminders.items() if k not in plan.forget}
        state = replace(new, reminders={**reminders, **planned})
        stage_state(pipe, rt.store.sealer, state, previous)

    return Outcome(messages=[*leading, *plan.messages], stage=stage, watch=[client_key(new.client.id)],
                   answer=answer)


async def referred(event: ClientReferred, rt: Runtime, leading: list[PlannedMessage],
                   reads: HashReader | None = None) -> Outcome:
    """`client.referred`: the referral letter (`leading`) plus the client's coaching state and, with a
    coach, the first-contact reminder (at once when the referral is already past its reminder day)."""
    existing = await load_state(reads or rt.redis, rt.store.sealer, event.client.id)
    new = after_referral(event, existing)
    previous = existing if existing is not None and existing.active else None
    plan = plan_reminders(previous, new, rules(rt), rt.settings.timezone, utcnow(), rt.settings.public_url,
                          rt.settings.provider.name, await _unsent(rt, previous))
    return _outcome(rt, existing, new, plan, leading, {})


async def _existing(rt: Runtime, client_id: str, reads: HashReader | None = None) -> CoachingState:
    state = await load_state(reads or rt.redis, rt.store.sealer, client_id)
    if state is None:
        raise Invalid([FieldError("data.client_id", "no client with this id has been referred")])
    return state


async def coaching_event(event: Any, rt: Runtime, reads: HashReader | None = None) -> Outcome:
    """`client.coach_assigned`, `client.contacted`, `client.plan_made`, `client.service_ended`."""
    state = await _existing(rt, event.client_id, reads)
    now = utcnow()
    new = after_event(event, state, now)
    office, provider = rt.settings.office, rt.settings.provider
    plan = plan_reminders(state, new, rules(rt), rt.settings.timezone, now, rt.settings.public_url,
                          provider.name, await _unsent(rt, state))
    leading: list[PlannedMessage] = []
    if isinstance(event, ServiceEnded) and state.active:
        leading = plan_service_ended(new, event, office, provider, rt.settings.letter_backend == "suomifi", rules(rt))
    return _outcome(rt, state, new, plan, leading, {"client_id": event.client_id})


async def record_call_contact(rt: Runtime, client_id: str, at: datetime) -> None:
    """A `reached` call outcome counts as a contact (cancels what it makes moot, plans the next)."""
    async def decide() -> Outcome:
        state = await load_state(rt.redis, rt.store.sealer, client_id)
        if state is None:
            return Outcome()
        new = contacted(state, at)
        plan = plan_reminders(state, new, rules(rt), rt.settings.timezone, utcnow(), rt.settings.public_url,
                              rt.settings.provider.name, await _unsent(rt, state))
        return _outcome(rt, state, new, plan, [], {})

    await commit(rt.store, decide, watch=[client_key(client_id)])
    log.info("call outcome recorded as a contact for client %s", client_id)


HANDLERS = {
    "client.coach_assigned": coaching_event,
    "client.contacted": coaching_event,
    "client.plan_made": coaching_event,
    "client.service_ended": coaching_event,
}
