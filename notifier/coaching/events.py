"""The coaching events of the webhook contract, parsed into dataclasses (README "The webhook
contract"). Kept small and in this package: the hand-written `Reader` does the field checks, and
every error names its field (`data.client_id`, `data.coach.email`, …)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from notifier.validation import Reader

#: Why a service ended; `employed` and `term-ended` differ in what the letter says next.
END_REASONS = ("employed", "education", "term-ended", "moved", "other")
#: What kind of contact happened (optional; only shown, never decided on).
CONTACT_KINDS = ("meeting", "phone", "message", "call", "other")


@dataclass(frozen=True)
class Coach:
    """The provider's coach responsible for a client (gets the reminders, in their language)."""

    id: str
    name: str
    email: str
    language: str
    phone: str | None = None


@dataclass(frozen=True)
class CoachAssigned:
    type = "client.coach_assigned"
    client_id: str
    coach: Coach
    at: datetime


@dataclass(frozen=True)
class ClientContacted:
    type = "client.contacted"
    client_id: str
    at: datetime
    kind: str | None = None


@dataclass(frozen=True)
class PlanMade:
    type = "client.plan_made"
    client_id: str
    at: datetime


@dataclass(frozen=True)
class ServiceEnded:
    type = "client.service_ended"
    client_id: str
    at: datetime
    reason: str
    feedback_url: str | None = None


def read_coach(r: Reader, key: str = "coach", required: bool = False) -> Coach | None:
    sub = r.child(key, required=required)
    if sub is None:
        return None
    cid = sub.identifier("id")
    name = sub.string("name")
    email = sub.email("email", required=True)
    language = sub.language()
    phone = sub.string("phone", required=False, max_length=40)
    if None in (cid, name, email, language):
        return None
    return Coach(cid, name, email, language, phone)  # type: ignore[arg-type]


def _choice(r: Reader, key: str, allowed: tuple[str, ...], required: bool) -> str | None:
    value = r.string(key, required=required, max_length=32)
    if value is not None and value not in allowed:
        r.fail(key, f"must be one of {', '.join(allowed)}")
        return None
    return value


def _url(r: Reader, key: str) -> str | None:
    value = r.string(key, required=False, max_length=500)
    if value is not None and not value.startswith(("https://", "http://")):
        r.fail(key, "must be an http(s) URL")
        return None
    return value


def parse_coach_assigned(data: Reader) -> CoachAssigned | None:
    client_id, at = data.identifier("client_id"), data.datetime("at")
    coach = read_coach(data, required=True)
    if None in (client_id, at, coach):
        return None
    return CoachAssigned(client_id, coach, at)  # type: ignore[arg-type]


def parse_contacted(data: Reader) -> ClientContacted | None:
    client_id, at = data.identifier("client_id"), data.datetime("at")
    kind = _choice(data, "kind", CONTACT_KINDS, required=False)
    if None in (client_id, at):
        return None
    return ClientContacted(client_id, at, kind)  # type: ignore[arg-type]


def parse_plan_made(data: Reader) -> PlanMade | None:
    client_id, at = data.identifier("client_id"), data.datetime("at")
    if None in (client_id, at):
        return None
    return PlanMade(client_id, at)  # type: ignore[arg-type]


def parse_service_ended(data: Reader) -> ServiceEnded | None:
    client_id, at = data.identifier("client_id"), data.datetime("at")
    reason = _choice(data, "reason", END_REASONS, required=True)
    feedback_url = _url(data, "feedback_url")
    if None in (client_id, at, reason) or data.errors:
        return None
    return ServiceEnded(client_id, at, reason, feedback_url)  # type: ignore[arg-type]


PARSERS: dict[str, Callable[[Reader], Any]] = {
    "client.coach_assigned": parse_coach_assigned,
    "client.contacted": parse_contacted,
    "client.plan_made": parse_plan_made,
    "client.service_ended": parse_service_ended,
}
