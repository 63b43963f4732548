"""Plain dataclasses for messages: what planning decides and what the store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Channels a message can go out on. NO_CHANNEL marks a message planned as a permanent failure.
EMAIL = "email"
SMS = "sms"
LETTER = "letter"  # a PDF letter in the outbox, for manual printing and posting
SUOMIFI = "suomifi"  # a letter through Suomi.fi Messages: electronic, or printed and posted by Posti
NO_CHANNEL = "none"


@dataclass(frozen=True)
class Recipient:
    """Who a message goes to. Everything here is personal data: sealed at rest, never logged."""

    name: str
    language: str
    email: str | None = None
    phone: str | None = None  # E.164 once planning has normalised it
    address: dict[str, str] | None = None
    personal_id: str | None = None  # henkilötunnus, for Suomi.fi Messages

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Recipient":
        return cls(**{k: d.get(k) for k in ("name", "language", "email", "phone", "address", "personal_id")})


@dataclass(frozen=True)
class PlannedMessage:
    """One message planning decided to send; nothing has been stored or sent yet.

    `refs` are non-personal ids (client_id, staff_id, session_id, …) that index the message and
    may appear in logs. `context` feeds the template and may hold personal data.
    `failure` set means the message is recorded straight away as `permanent-failure` with that
    reason (e.g. `no-channel`), so that the case system can see it was never sent.
    `name_fallback` lists the fields (`office.name`, `location.street`, …) given only in the other
    language than the recipient's, so the text uses that form (shown in the API's message record).
    """

    template: str
    channel: str
    recipient: Recipient
    context: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    send_at: datetime | None = None
    failure: str | None = None
    name_fallback: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Message:
    id: str
    template: str
    channel: str
    language: str
    status: str
    created_at: datetime
    recipient: Recipient
    context: dict[str, Any]
    refs: dict[str, str]
    history: tuple[StatusChange, ...] = ()
    send_at: datetime | None = None
    attempts: int = 0
    reason: str = ""
    provider_ref: str = ""
    lease_token: str = ""
    name_fallback: tuple[str, ...] = ()
