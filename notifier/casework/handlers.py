"""What each case-system event does: read the state it needs, plan, and say what to store.

Handlers are thin: the decisions are in `planning.py` (pure); the storing is in `intake.py`.
Register a handler for each event type parsed in `events.py`.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from notifier.casework.events import (
    ClientContacted,
    ClientReferred,
    CoachAssigned,
    KickoffAttendance,
    KickoffCancelled,
    KickoffScheduled,
    PlanMade,
    ServiceEnded,
)
from notifier.coaching.keys import client_key
from notifier.coaching.handlers import HANDLERS as COACHING_HANDLERS, referred as coaching_referred
from notifier.kickoff.handlers import kickoff_attendance, kickoff_cancelled, kickoff_scheduled
from notifier.messages.intake import HashReader, Outcome
from notifier.casework.referral import Defaults, plan_referral
from notifier.app.runtime import Runtime
from notifier.kickoff.keys import session_key

#: (event, runtime, where the state is read from: the commit's `Reads`, or Redis when None).
Handler = Callable[[Any, Runtime, "HashReader | None"], Awaitable[Outcome]]


def defaults(rt: Runtime) -> Defaults:
    s = rt.settings
    return Defaults(office=s.office, provider=s.provider, suomifi=s.letter_backend == "suomifi")


async def client_referred(event: ClientReferred, rt: Runtime, reads: HashReader | None = None) -> Outcome:
    # The coaching rhythm keeps every referred client (later events name them by id) and, with a
    # coach, plans the first-contact reminder in the same transaction as the letter.
    return await coaching_referred(event, rt, plan_referral(event, defaults(rt)), reads)


HANDLERS: dict[str, Handler] = {
    "client.referred": client_referred,
    "kickoff.scheduled": kickoff_scheduled,
    "kickoff.attendance": kickoff_attendance,
    "kickoff.cancelled": kickoff_cancelled,
    **COACHING_HANDLERS,  # notifier/coaching/handlers.py
}


def watched(event: Any) -> list[str]:
    """The state hash each event's decision reads, known from the event itself.

    Given to `intake.commit` as `watch`, it is watched before the decision, which is then made
    once; without it the key is only learnt from the outcome and the event is decided twice
    (two reads of the state and two plans per webhook, measured in `bench/README.md`). The
    outcomes still name the same key, so a handler that reads another key is decided again. The
    webhook has these hashes read with its idempotency key in one round trip (`Reads`).
    """
    if isinstance(event, ClientReferred):
        return [client_key(event.client.id)]
    if isinstance(event, KickoffScheduled):
        return [session_key(event.session.id)]
    if isinstance(event, (KickoffAttendance, KickoffCancelled)):
        return [session_key(event.session_id)]
    if isinstance(event, (CoachAssigned, ClientContacted, PlanMade, ServiceEnded)):
        return [client_key(event.client_id)]
    return []
