"""Planning: who gets which message, on which channel, decided by pure functions.

Nothing here touches Redis, the network or the clock: each function takes an event (and the
few settings it needs) and returns `PlannedMessage`s. The web handler stores what is planned;
the worker renders and sends it. Tests cover these functions without I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import ClientReferred, Party
from .messages import EMAIL, NO_CHANNEL, PlannedMessage, Recipient

REFERRAL = "referral"


@dataclass(frozen=True)
class Defaults:
    """What planning needs from configuration: the parties named when an event does not."""

    office: Party
    provider: Party


def party_dict(party: Party | None, default: Party) -> dict[str, Any]:
    p = party or default
    return {"name": p.name, "phone": p.phone or "", "email": p.email or ""}


def plan_referral(event: ClientReferred, defaults: Defaults) -> list[PlannedMessage]:
    """The referral info letter: by e-mail when the client has one, else recorded as no-channel."""
    client = event.client
    recipient = Recipient(name=client.name, language=client.language, email=client.email)
    context = {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "referred_at": event.referred_at.isoformat(),
        "office": party_dict(event.office, defaults.office),
        "provider": party_dict(event.provider, defaults.provider),
    }
    refs = {"client": client.id}
    if client.email:
        return [PlannedMessage(REFERRAL, EMAIL, recipient, context, refs)]
    return [PlannedMessage(REFERRAL, NO_CHANNEL, recipient, context, refs, failure="no-channel")]
