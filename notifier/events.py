"""Case-system events: the webhook contract, parsed into plain dataclasses.

`parse_event(document)` returns a typed event or raises `Invalid` naming every offending field.
Each event type has one parser registered in `PARSERS`; planning (`planning.py`) decides what
each event means for whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .validation import Invalid, Reader


@dataclass(frozen=True)
class Party:
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Client:
    id: str
    first_name: str
    last_name: str
    language: str
    email: str | None = None
    phone: str | None = None  # as the case system sent it; planning normalises it

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
    name = sub.string("name")
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
    if None in (cid, first, last, language):
        return None
    return Client(cid, first, last, language, email, phone)  # type: ignore[arg-type]


def parse_client_referred(data: Reader) -> ClientReferred | None:
    client_r = data.child("client")
    client = read_client(client_r) if client_r else None
    referred_at = data.datetime("referred_at")
    office = read_party(data, "office")
    provider = read_party(data, "provider")
    if client is None or referred_at is None:
        return None
    return ClientReferred(client, referred_at, office, provider)


Event = Any
PARSERS: dict[str, Callable[[Reader], Event | None]] = {
    "client.referred": parse_client_referred,
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
