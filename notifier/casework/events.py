"""Case-system events: the webhook contract, declared once as msgspec Structs.

`parse_event(document)` returns the event's data as one of the models below, or raises `Invalid`
naming every offending field (`notifier/validation.py`); the OpenAPI document's schemas are
generated from the same classes (`EVENT` is the body of `POST /webhooks/case-events`). To add an
event: declare its data model with a `type` class variable and an envelope tagged with the type,
add the envelope to `EVENT`, and register a handler in `casework/handlers.py`. Planning
(`referral.py`, `kickoff/planning.py`) decides what each event means for whom.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Callable, ClassVar, Union

import msgspec

from msgspec import Meta, Struct

from notifier.casework.addressing import Address, PersonalId
from notifier.casework.names import Name, Party, coerce_fields
from notifier.validation import (
    Count,
    Bad,
    Check,
    Choice,
    Code,
    DateTime,
    Email,
    Identifier,
    IdItem,
    Items,
    Language,
    Phone,
    Text,
    text_value,
    validate,
)

PersonName = Text(200)


class Client(Struct, frozen=True):
    """A client; everything but `id` and `language` is personal data."""

    id: Identifier
    first_name: PersonName  # type: ignore[valid-type]
    last_name: PersonName  # type: ignore[valid-type]
    language: Language
    email: Email | None = None
    phone: Phone | None = None  # as the case system sent it; planning normalises it
    personal_id: PersonalId | None = None  # henkilötunnus, checksum-validated (for Suomi.fi Messages)
    address: Address | None = None  # postal address (for letters on paper)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


CoachSite = Annotated[Code, Meta(
    description="Optional: the site (toimipaikka) the coach works at, e.g. `turku`; counts the coach's clients "
                "under that site on the console's figures page. Without it, the site of the staff member "
                "with the coach's `id` in the staff directory, if any; else \"no site\".",
    examples=["turku"])]


class Coach(Struct, frozen=True):
    """The provider's coach responsible for a client: gets the coaching reminders, in their language.
    `site` places the coach's clients on the figures page (`coaching/site_figures.py`)."""

    id: Identifier
    name: PersonName  # type: ignore[valid-type]
    email: Email
    language: Language
    phone: Phone | None = None
    site: CoachSite | None = None


class ClientReferred(Struct, frozen=True):
    """Sends the referral info letter; with a coach, plans the first-contact reminder (sent at once
    when its day has passed)."""

    type: ClassVar[str] = "client.referred"
    client: Client
    referred_at: DateTime
    office: Party | None = None
    provider: Party | None = None
    coach: Coach | None = None  # the coaching rhythm (notifier/coaching/)


# -- the coaching rhythm (notifier/coaching/) -----------------------------------------------------

#: Why a service ended; the end-of-service letter says so, and for some that the duties go on.
END_REASONS = ("employed", "education", "term-ended", "moved", "other")
#: What kind of contact happened (optional; recorded, never decided on).
CONTACT_KINDS = ("meeting", "phone", "message", "call", "other")

ClientId = Annotated[Identifier, Meta(description="A client referred earlier (`client.referred`); otherwise 422.")]
At = Annotated[DateTime, Meta(description="When it happened; not in the future (5 minutes' tolerance).")]


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise Bad("must be an http(s) URL")
    return value


FeedbackUrl = Annotated[str, Meta(max_length=500, extra_json_schema={"format": "uri"},
                                  description="The letter invites the client to give feedback here "
                                              "(else NOTIFIER_FEEDBACK_URL)."),
                        Check(partial(text_value, max_length=500)), Check(_http_url)]


class CoachAssigned(Struct, frozen=True):
    """Sets or changes a referred client's coach; reminders not yet sent go to the new coach."""

    type: ClassVar[str] = "client.coach_assigned"
    client_id: ClientId
    coach: Coach
    at: At


ContactKind = Choice(*CONTACT_KINDS, description="What kind of contact.")


class ClientContacted(Struct, frozen=True):
    """A contact happened: cancels the reminders it makes moot and plans the monthly one. An older
    `at` than one recorded is recorded without moving deadlines back."""

    type: ClassVar[str] = "client.contacted"
    client_id: ClientId
    at: At
    kind: ContactKind | None = None  # type: ignore[valid-type]


class PlanMade(Struct, frozen=True):
    """The employment plan was made or renewed: its renewal falls due 3 months on."""

    type: ClassVar[str] = "client.plan_made"
    client_id: ClientId
    at: At


class ServiceEnded(Struct, frozen=True):
    """Sends the end-of-service letter (the referral letter's channel rules); no reminders after it.
    A repeat sends nothing."""

    type: ClassVar[str] = "client.service_ended"
    client_id: ClientId
    at: At
    reason: Choice(*END_REASONS)  # type: ignore[valid-type]
    feedback_url: FeedbackUrl | None = None


# -- kickoff info sessions (alkuinfo) -----------------------------------------------------------


class Location(Struct, frozen=True):
    """Where a session is held; name, street and city in fi and/or sv (Ratapihankatu/Bangårdsgatan)."""

    name: Name()  # type: ignore[valid-type]
    street: Name() | None = None  # type: ignore[valid-type]
    postal_code: Text(10) | None = None  # type: ignore[valid-type]
    city: Name(100) | None = None  # type: ignore[valid-type]

    def __post_init__(self) -> None:
        coerce_fields(self, "name", "street", "city")

    @property
    def address(self) -> str:
        """`Työnvälityspiste, Ratapihankatu 36, 20100 Turku` (the Finnish forms of the parts given)."""
        return self.address_in("fi")

    def address_in(self, language: str) -> str:
        """The parts that are given, each in `language` (else in the other one)."""
        town = " ".join(p for p in (self.postal_code, self.city.text(language) if self.city else None) if p)
        street = self.street.text(language) if self.street else None
        return ", ".join(p for p in (self.name.text(language), street, town) if p)


class SessionStaff(Struct, frozen=True):
    """The staff member responsible for a kickoff session (gets its call list)."""

    id: Identifier
    name: PersonName  # type: ignore[valid-type]
    email: Email
    language: Language
    phone: Phone | None = None


#: Seats of a kickoff session (issue 16's rebooking).
Capacity = Count(1, 10_000, description="Optional: seats. A session with as many invitees is full and is not "
                 "offered to clients rebooking after a no-show; without it, sessions are never full.")


class KickoffSession(Struct, frozen=True):
    id: Identifier
    starts_at: Annotated[DateTime, Meta(description="In the future.")]
    ends_at: Annotated[DateTime, Meta(description="After `starts_at`.")]
    site: Annotated[Identifier, Meta(description="The site, e.g. `turku`.")]
    location: Location
    staff: SessionStaff
    provider: Party | None = None  # the provider holding the session, when the event names it
    capacity: Capacity | None = None

    @staticmethod
    def cross_check(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
        starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            fail("ends_at", "must be after starts_at")


class KickoffScheduled(Struct, frozen=True):
    """Sends binding invitations (and plans reminder SMS)."""

    type: ClassVar[str] = "kickoff.scheduled"
    session: KickoffSession
    invitees: Annotated[tuple[Client, ...], Meta(min_length=1, max_length=5000),
                        Items(max_items=5000, empty="must name at least one invitee", unique="id",
                              duplicate="appears twice in invitees")]


class NextSession(Struct, frozen=True):
    starts_at: DateTime


class KickoffAttendance(Struct, frozen=True):
    """Sent once the session has started and check-in closed: absent = invitees not in `attended`."""

    type: ClassVar[str] = "kickoff.attendance"
    session_id: Identifier
    attended: Annotated[tuple[IdItem, ...], Items(dedupe=True)]
    next_session: NextSession | None = None

    def __post_init__(self) -> None:
        if isinstance(self.next_session, datetime):  # built in code with the next start itself
            msgspec.structs.force_setattr(self, "next_session", NextSession(self.next_session))

    @property
    def next_session_starts_at(self) -> datetime | None:
        return self.next_session.starts_at if self.next_session else None


class KickoffCancelled(Struct, frozen=True):
    """Tells every invitee; pending reminders are cancelled."""

    type: ClassVar[str] = "kickoff.cancelled"
    session_id: Identifier


# -- the envelopes: {"type": "<event type>", "data": {...}} ---------------------------------------


class ClientReferredEvent(Struct, frozen=True, tag_field="type", tag=ClientReferred.type):
    data: ClientReferred


class KickoffScheduledEvent(Struct, frozen=True, tag_field="type", tag=KickoffScheduled.type):
    data: KickoffScheduled


class KickoffAttendanceEvent(Struct, frozen=True, tag_field="type", tag=KickoffAttendance.type):
    data: KickoffAttendance


class KickoffCancelledEvent(Struct, frozen=True, tag_field="type", tag=KickoffCancelled.type):
    data: KickoffCancelled


class CoachAssignedEvent(Struct, frozen=True, tag_field="type", tag=CoachAssigned.type):
    data: CoachAssigned


class ClientContactedEvent(Struct, frozen=True, tag_field="type", tag=ClientContacted.type):
    data: ClientContacted


class PlanMadeEvent(Struct, frozen=True, tag_field="type", tag=PlanMade.type):
    data: PlanMade


class ServiceEndedEvent(Struct, frozen=True, tag_field="type", tag=ServiceEnded.type):
    data: ServiceEnded


#: The body of `POST /webhooks/case-events`.
EVENT = Union[ClientReferredEvent, KickoffScheduledEvent, KickoffAttendanceEvent, KickoffCancelledEvent,
              CoachAssignedEvent, ClientContactedEvent, PlanMadeEvent, ServiceEndedEvent]

Event = Any


def parse_event(document: Any) -> Event:
    """The event's data (`ClientReferred`, `KickoffScheduled`, …); Invalid names every bad field."""
    return validate(document, EVENT).data
