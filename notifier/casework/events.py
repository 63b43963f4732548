"""Case-system events: the webhook contract, parsed into plain dataclasses.

`parse_event(document)` returns a typed event or raises `Invalid` naming every offending field.
Each event type has one parser registered in `PARSERS`; planning (`planning.py`) decides what
each event means for whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from notifier.casework.addressing import Address, read_address, read_personal_id
from notifier.casework.names import Bilingual, Party, coerce_fields, read_bilingual
from notifier.validation import Invalid, Reader


@dataclass(frozen=True)
class Client:
    id: str
    first_name: str
    last_name: str
    language: str
    email: str | None = None
    phone: str | None = None  # as the case system sent it; planning normalises it
    personal_id: str | None = None  # henkilötunnus, checksum-validated (for Suomi.fi Messages)
    address: Address | None = None  # postal address (for letters on paper)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class ClientReferred:
    type = "client.referred"
    client: Client
    referred_at: datetime
    office: Party | None = None
    provider: Party | None = None


def read_party(r: Reader, key: str) -> Party | None:
    sub = r.child(key, required=False)
    if sub is None:
        return None
    name = read_bilingual(sub, "name")
    phone = sub.string("phone", required=False, max_length=40)
    email = sub.email("email")
    return Party(name, phone, email) if name else None


def read_client(r: Reader) -> Client | None:
    """Reads a client object (used by every event that names clients)."""
    cid = r.identifier("id")
    first = r.string("first_name")
    last = r.string("last_name")
    language = r.language()
    email = r.email("email")
    phone = r.string("phone", required=False, max_length=40)
    personal_id = read_personal_id(r)
    address = read_address(r)
    if None in (cid, first, last, language):
        return None
    return Client(cid, first, last, language, email, phone, personal_id, address)  # type: ignore[arg-type]


def parse_client_referred(data: Reader) -> ClientReferred | None:
    client_r = data.child("client")
    client = read_client(client_r) if client_r else None
    referred_at = data.datetime("referred_at")
    office = read_party(data, "office")
    provider = read_party(data, "provider")
    if client is None or referred_at is None:
        return None
    return ClientReferred(client, referred_at, office, provider)


# -- kickoff info sessions (alkuinfo) -----------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where a session is held; name, street and city in fi and/or sv (Ratapihankatu/Bangårdsgatan)."""

    name: Bilingual
    street: Bilingual | None = None
    postal_code: str | None = None
    city: Bilingual | None = None

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


@dataclass(frozen=True)
class SessionStaff:
    """The staff member responsible for a kickoff session (gets its call list)."""

    id: str
    name: str
    email: str
    language: str
    phone: str | None = None


@dataclass(frozen=True)
class KickoffSession:
    id: str
    starts_at: datetime
    ends_at: datetime
    site: str
    location: Location
    staff: SessionStaff
    provider: Party | None = None  # the provider holding the session, when the event names it


@dataclass(frozen=True)
class KickoffScheduled:
    type = "kickoff.scheduled"
    session: KickoffSession
    invitees: tuple[Client, ...]


@dataclass(frozen=True)
class KickoffAttendance:
    """Sent once the session has started and check-in closed: absent = invitees not in `attended`."""

    type = "kickoff.attendance"
    session_id: str
    attended: tuple[str, ...]
    next_session_starts_at: datetime | None = None


@dataclass(frozen=True)
class KickoffCancelled:
    type = "kickoff.cancelled"
    session_id: str


def read_location(r: Reader) -> Location | None:
    name = read_bilingual(r, "name")
    street = read_bilingual(r, "street", required=False)
    postal_code = r.string("postal_code", required=False, max_length=10)
    city = read_bilingual(r, "city", required=False, max_length=100)
    return Location(name, street, postal_code, city) if name else None


def read_staff(r: Reader) -> SessionStaff | None:
    sid = r.identifier("id")
    name = r.string("name")
    email = r.email("email", required=True)
    language = r.language()
    phone = r.string("phone", required=False, max_length=40)
    if None in (sid, name, email, language):
        return None
    return SessionStaff(sid, name, email, language, phone)  # type: ignore[arg-type]


def read_kickoff_session(r: Reader) -> KickoffSession | None:
    sid = r.identifier("id")
    starts_at = r.datetime("starts_at")
    ends_at = r.datetime("ends_at")
    site = r.identifier("site")
    location_r = r.child("location")
    location = read_location(location_r) if location_r else None
    staff_r = r.child("staff")
    staff = read_staff(staff_r) if staff_r else None
    provider = read_party(r, "provider")
    if starts_at and ends_at and ends_at <= starts_at:
        r.fail("ends_at", "must be after starts_at")
        return None
    if None in (sid, starts_at, ends_at, site, location, staff):
        return None
    return KickoffSession(sid, starts_at, ends_at, site, location, staff, provider)  # type: ignore[arg-type]


def parse_kickoff_scheduled(data: Reader) -> KickoffScheduled | None:
    session_r = data.child("session")
    session = read_kickoff_session(session_r) if session_r else None
    items = data.list("invitees", required=True, max_items=5000)
    invitees: list[Client] = []
    seen: set[str] = set()
    for i, item in enumerate(items or []):
        sub = data.item("invitees", i, item)
        client = read_client(sub) if isinstance(item, dict) else None
        if client is not None and client.id in seen:
            sub.fail("id", "appears twice in invitees")
        elif client is not None:
            seen.add(client.id)
            invitees.append(client)
    if items is not None and not items:
        data.fail("invitees", "must name at least one invitee")
    if session is None or items is None:
        return None
    return KickoffScheduled(session, tuple(invitees))


def parse_kickoff_attendance(data: Reader) -> KickoffAttendance | None:
    session_id = data.identifier("session_id")
    attended = data.string_list("attended", required=True)
    next_r = data.child("next_session", required=False)
    next_starts = next_r.datetime("starts_at") if next_r else None
    if session_id is None or attended is None or (next_r is not None and next_starts is None):
        return None
    return KickoffAttendance(session_id, tuple(dict.fromkeys(attended)), next_starts)


def parse_kickoff_cancelled(data: Reader) -> KickoffCancelled | None:
    session_id = data.identifier("session_id")
    return KickoffCancelled(session_id) if session_id else None


Event = Any
PARSERS: dict[str, Callable[[Reader], Event | None]] = {
    "client.referred": parse_client_referred,
    "kickoff.scheduled": parse_kickoff_scheduled,
    "kickoff.attendance": parse_kickoff_attendance,
    "kickoff.cancelled": parse_kickoff_cancelled,
}


def parse_event(document: Any) -> Event:
    root = Reader(document, "")
    if not root.is_object():
        raise Invalid(root.errors)
    etype = root.string("type", max_length=64)
    data = root.child("data")
    if etype is not None and etype not in PARSERS:
        root.fail("type", f"unknown event type; expected one of {', '.join(sorted(PARSERS))}")
    if root.errors or data is None or etype is None:
        raise Invalid(root.errors)
    event = PARSERS[etype](data)
    if root.errors or event is None:
        raise Invalid(root.errors)
    return event
