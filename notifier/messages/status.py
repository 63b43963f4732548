"""Message statuses and the only moves between them.

Status names follow GOV.UK Notify. A status only moves forward; final statuses never change.
The store enforces this table atomically in Redis (see `store.py`).
"""

from __future__ import annotations

CREATED = "created"
SENDING = "sending"
SENT = "sent"
DELIVERED = "delivered"
TEMPORARY_FAILURE = "temporary-failure"
PERMANENT_FAILURE = "permanent-failure"
TECHNICAL_FAILURE = "technical-failure"
CANCELLED = "cancelled"

FINAL = frozenset({DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, CANCELLED})
FAILED = frozenset({PERMANENT_FAILURE, TECHNICAL_FAILURE, TEMPORARY_FAILURE})

#: For each target status, the statuses a message may move to it from.
#: `sending -> sending` is a takeover of a send whose worker died (its lease ran out).
ALLOWED_FROM: dict[str, frozenset[str]] = {
    SENDING: frozenset({CREATED, TEMPORARY_FAILURE, SENDING}),
    SENT: frozenset({SENDING}),
    # From temporary-failure too: the gateway took the message although our request timed out;
    # its delivery report settles it, and the queued retry then finds nothing to send.
    DELIVERED: frozenset({SENDING, SENT, TEMPORARY_FAILURE}),
    TEMPORARY_FAILURE: frozenset({SENDING}),
    PERMANENT_FAILURE: frozenset({CREATED, SENDING, SENT, TEMPORARY_FAILURE}),
    TECHNICAL_FAILURE: frozenset({CREATED, SENDING, TEMPORARY_FAILURE}),
    CANCELLED: frozenset({CREATED, TEMPORARY_FAILURE}),
}

ALL = frozenset(ALLOWED_FROM) | {CREATED}


def can_move(current: str, target: str) -> bool:
    return current in ALLOWED_FROM.get(target, frozenset())
