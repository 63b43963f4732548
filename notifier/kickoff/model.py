"""The kickoff domain's plain data: a session with its invitees and attendance, and a planned call prompt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from notifier.casework.events import Client, KickoffSession

SCHEDULED = "scheduled"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class KickoffState:
    """What is stored about one session. `reminders` and `prompts` map client id -> id."""

    session: KickoffSession
    invitees: tuple[Client, ...]
    status: str = SCHEDULED
    reminders: dict[str, str] = field(default_factory=dict)
    notified: frozenset[str] = frozenset()  # clients who got the no-show message
    absent: tuple[str, ...] = ()  # per the latest attendance
    attendance_count: int = 0
    prompts: dict[str, str] = field(default_factory=dict)

    def invitee(self, client_id: str) -> Client | None:
        return next((c for c in self.invitees if c.id == client_id), None)


@dataclass(frozen=True)
class PlannedPrompt:
    """A call prompt for staff: whom to call (phone as E.164 when it parses) and in which language."""

    client_id: str
    name: str
    first_name: str
    language: str
    phone: str | None
    context: dict[str, Any]




