"""Redis key layout of `notifier.kickoff`: every key this domain reads or writes is named here."""

from __future__ import annotations

from notifier.keyspace import PREFIX


def session_key(session_id: str) -> str:
    return f"{PREFIX}kickoff:{session_id}"


def prompt_key(prompt_id: str) -> str:
    return f"{PREFIX}prompt:{prompt_id}"


def outcomes_key(prompt_id: str) -> str:
    return f"{PREFIX}prompt:{prompt_id}:outcomes"


def follow_up_key(prompt_id: str) -> str:
    """The id of the prompt that follows an unanswered one (set once)."""
    return f"{PREFIX}prompt:{prompt_id}:next"


def follow_ups_key(session_id: str) -> str:
    """List of a session's follow-up prompt ids (second and later attempts), oldest first."""
    return f"{PREFIX}followups:{session_id}"


def unreachable_key(session_id: str) -> str:
    """Hash: client id -> JSON {reason, prompt, at} of a session's unreachable clients."""
    return f"{PREFIX}unreachable-clients:{session_id}"


#: Sorted set of unreachable clients (JSON with ids only) by when they became so, for the daily e-mail.
UNREACHABLE = f"{PREFIX}unreachable"
#: Until when (ms) the daily e-mail has reported; and the day (local date) of the last one.
UNREACHABLE_REPORTED = f"{PREFIX}unreachable:reported"


def site_sessions_key(site: str) -> str:
    """Sorted set of a site's session ids by start time (ms): the sessions rebooking may offer."""
    return f"{PREFIX}site-sessions:{site}"


def rebook_key(code_hash: str) -> str:
    """A client's rebooking link, by the SHA-256 of its code (the code itself is not stored)."""
    return f"{PREFIX}rebook:{code_hash}"


def call_requests_key(session_id: str) -> str:
    """Hash: client id -> when they chose "call me instead" on their rebooking link."""
    return f"{PREFIX}call-requests:{session_id}"

#: Sorted set of call prompts with no call recorded yet, by when they became due (ms): the
#: coordinators' "Needs attention" queue lists those untouched for over a working day.
OPEN_PROMPTS = f"{PREFIX}prompts:open"

#: Sorted set of rebookings (JSON with ids and the site) by when they were made: the figures page.
REBOOKED = f"{PREFIX}rebooked"
