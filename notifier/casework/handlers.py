"""What each case-system event does: read the state it needs, plan, and say what to store.

Handlers are thin: the decisions are in `planning.py` (pure); the storing is in `intake.py`.
Each event type parsed in `events.py` has its line in `EVENTS`: its handler and the state it reads.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from notifier.casework.events import ClientReferred
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


def _client(event: Any) -> str:
    return client_key(event.client_id)


def _session(event: Any) -> str:
    return session_key(event.session_id)


#: Each event type: its handler, and the state hash its decision reads (the key its outcome's
#: `watch` names), from the event itself: adding an event type is one line here (see `watched`).
EVENTS: dict[str, tuple[Handler, Callable[[Any], str]]] = {
    "client.referred": (client_referred, lambda event: client_key(event.client.id)),
    "kickoff.scheduled": (kickoff_scheduled, lambda event: session_key(event.session.id)),
    "kickoff.attendance": (kickoff_attendance, _session),
    "kickoff.cancelled": (kickoff_cancelled, _session),
    # notifier/coaching/handlers.py: each decides on the state of the client it names
    **{event_type: (handler, _client) for event_type, handler in COACHING_HANDLERS.items()},
}

HANDLERS: dict[str, Handler] = {event_type: handler for event_type, (handler, _key) in EVENTS.items()}


def watched(event: Any) -> list[str]:
    """The state hash each event's decision reads, known from the event itself (`EVENTS`).

    Given to `intake.commit` as `watch`, it is watched before the decision, which is then made
    once; without it the key is only learnt from the outcome and the event is decided twice
    (two reads of the state and two plans per webhook, measured in `bench/README.md`). The
    outcomes still name the same key, so a handler that reads another key is decided again. The
    webhook has these hashes read with its idempotency key in one round trip (`Reads`).
    """
    entry = EVENTS.get(event.type)
    return [entry[1](event)] if entry else []
