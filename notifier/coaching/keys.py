"""Redis key layout of `notifier.coaching`: every key this domain reads or writes is named here."""

from __future__ import annotations

from notifier.keyspace import PREFIX

#: Set of the ids of clients whose coaching is active (the console's overview).
ACTIVE_CLIENTS = f"{PREFIX}coaching:active"
#: Set of coach ids that have (or had) clients: the weekly e-mail's fan-out.
COACHES = f"{PREFIX}coaching:coaches"
#: Sorted set of ended services, scored by the end (ms): JSON members with a random id, the reason,
#: the coach's id and site; no client id (the figures page counts them per site and reason).
ENDED = f"{PREFIX}coaching:ended"


def client_key(client_id: str) -> str:
    """Hash: meta (JSON, ids and times), personal (sealed JSON: client, coach, parties)."""
    return f"{PREFIX}coaching:client:{client_id}"


def coach_clients_key(coach_id: str) -> str:
    """Set of the active clients of one coach."""
    return f"{PREFIX}coaching:coach:{coach_id}:clients"


def weekly_claims_key(coach_id: str) -> str:
    """Hash: ISO week -> JSON claim of that week's "your clients" e-mail (exactly once per week)."""
    return f"{PREFIX}coaching:coach:{coach_id}:weekly"
