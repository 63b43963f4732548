"""What each case-system event does: read the state it needs, plan, and say what to store.

Handlers are thin: the decisions are in `planning.py` (pure); the storing is in `intake.py`.
Register a handler for each event type parsed in `events.py`.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from notifier.casework.events import ClientReferred
from notifier.kickoff.handlers import kickoff_attendance, kickoff_cancelled, kickoff_scheduled
from notifier.messages.intake import Outcome
from notifier.casework.referral import Defaults, plan_referral
from notifier.app.runtime import Runtime

Handler = Callable[[Any, Runtime], Awaitable[Outcome]]


def defaults(rt: Runtime) -> Defaults:
    s = rt.settings
    return Defaults(office=s.office, provider=s.provider, suomifi=s.letter_backend == "suomifi")


async def client_referred(event: ClientReferred, rt: Runtime) -> Outcome:
    return Outcome(messages=plan_referral(event, defaults(rt)))


HANDLERS: dict[str, Handler] = {
    "client.referred": client_referred,
    "kickoff.scheduled": kickoff_scheduled,
    "kickoff.attendance": kickoff_attendance,
    "kickoff.cancelled": kickoff_cancelled,
}
