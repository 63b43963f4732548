"""The staff domain's plain data: directory members, practice changes, announcements and their audience."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping

from notifier.messages.model import EMAIL


@dataclass(frozen=True)
class StaffMember:
    """One person in the staff directory. Name, e-mail and phone are personal data."""

    id: str
    name: str
    email: str
    language: str
    organisation: str
    site: str
    digest: bool = True
    phone: str | None = None  # E.164
    #: Random, set when the record is created: links signed for a deleted and re-created
    #: person with the same id stop working.
    nonce: str = ""


@dataclass(frozen=True)
class PracticeChange:
    """A changed working practice, in Finnish and (optionally) Swedish. Not personal data."""

    id: str
    title: Mapping[str, str]
    body: Mapping[str, str]
    effective_from: date
    posted_at: datetime  # aware
    sites: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Audience:
    """Who an announcement is for: sites and organisations narrow each other; staff ids add."""

    sites: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    staff_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Announcement:
    id: str
    subject: Mapping[str, str]
    body: Mapping[str, str]
    audience: Audience
    channels: tuple[str, ...] = (EMAIL,)
    send_at: datetime | None = None
