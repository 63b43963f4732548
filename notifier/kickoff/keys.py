"""Redis key layout of `notifier.kickoff`: every key this domain reads or writes is named here."""

from __future__ import annotations

from notifier.keyspace import PREFIX


def session_key(session_id: str) -> str:
    return f"{PREFIX}kickoff:{session_id}"


def prompt_key(prompt_id: str) -> str:
    return f"{PREFIX}prompt:{prompt_id}"


def outcomes_key(prompt_id: str) -> str:
    return f"{PREFIX}prompt:{prompt_id}:outcomes"
