"""Planning: who gets which message, on which channel, decided by pure functions.

Nothing here touches Redis, the network or the clock: each function takes an event (and the
few settings it needs) and returns `PlannedMessage`s. The web handler stores what is planned;
the worker renders and sends it. Tests cover these functions without I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notifier.casework.events import Client, ClientReferred, Party
from notifier.casework.names import Localizer
from notifier.messages.model import EMAIL, LETTER, NO_CHANNEL, SUOMIFI, PlannedMessage, Recipient

REFERRAL = "referral"


@dataclass(frozen=True)
class Defaults:
    """What planning needs from configuration: the parties named when an event does not, and
    whether letters can go through Suomi.fi Messages (NOTIFIER_LETTER_BACKEND=suomifi)."""

    office: Party
    provider: Party
    suomifi: bool = False


def party_dict(party: Party | None, default: Party, localize: Localizer, field: str) -> dict[str, Any]:
    """The party as a template reads it: its name in the recipient's language (`localize`)."""
    p = party or default
    return {"name": localize(p.name, f"{field}.name"), "phone": p.phone or "", "email": p.email or ""}


def referral_letter_channel(client: Client, suomifi: bool) -> str:
    """How the referral info letter reaches `client`, best first.

    Suomi.fi Messages when it is configured and the client has a personal identity code (it
    delivers electronically, or prints and posts the PDF); otherwise e-mail; otherwise a PDF letter
    in the outbox for manual posting when there is an address; otherwise no channel at all.
    """
    if suomifi and client.personal_id:
        return SUOMIFI
    if client.email:
        return EMAIL
    if client.address is not None:
        return LETTER
    return NO_CHANNEL


def letter_recipient(client: Client, channel: str) -> Recipient:
    """The recipient as stored: a letter's address and identity code only when its channel needs them."""
    letter = channel in (LETTER, SUOMIFI)
    return Recipient(
        name=client.name,
        language=client.language,
        email=client.email,
        address=client.address.to_dict() if letter and client.address else None,
        personal_id=client.personal_id if channel == SUOMIFI else None,
    )


def plan_referral(event: ClientReferred, defaults: Defaults) -> list[PlannedMessage]:
    """The referral info letter, on the channel `referral_letter_channel` picks (or no-channel)."""
    client = event.client
    channel = referral_letter_channel(client, defaults.suomifi)
    recipient = letter_recipient(client, channel)
    localize = Localizer(client.language)
    context = {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "referred_at": event.referred_at.isoformat(),
        "office": party_dict(event.office, defaults.office, localize, "office"),
        "provider": party_dict(event.provider, defaults.provider, localize, "provider"),
    }
    refs = {"client": client.id}
    fallback = tuple(localize.fallbacks)
    if channel == NO_CHANNEL:
        return [PlannedMessage(REFERRAL, NO_CHANNEL, recipient, context, refs, failure="no-channel",
                               name_fallback=fallback)]
    return [PlannedMessage(REFERRAL, channel, recipient, context, refs, name_fallback=fallback)]
