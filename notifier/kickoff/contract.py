"""The kickoff domain's API bodies, declared once as msgspec Structs (the kickoff events themselves
are the case system's: `casework/events.py`).

`POST /api/call-prompts/{id}/outcome` takes `CallOutcomeInput`; `notifier.validation.validate`
reads it, naming every bad field, and `web/openapi.py` generates its schema.
"""

from __future__ import annotations

from msgspec import Struct

from notifier.kickoff.store import OUTCOMES
from notifier.validation import Choice, Text


Note = Text(2000, lines=True, description="Free text for staff; never sent to case systems.")


class CallOutcomeInput(Struct, frozen=True):
    """How a call to a no-show client went; every call is kept, the latest is the prompt's outcome."""

    outcome: Choice(*OUTCOMES)  # type: ignore[valid-type]
    note: Note | None = None  # type: ignore[valid-type]
