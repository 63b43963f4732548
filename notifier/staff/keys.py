"""Redis key layout of `notifier.staff`: every key this domain reads or writes is named here."""

from __future__ import annotations

from notifier.keyspace import PREFIX


CHANGES = f"{PREFIX}changes"


ANNOUNCEMENTS = f"{PREFIX}announcements"


def change_key(change_id: str) -> str:
    return f"{PREFIX}change:{change_id}"


def acks_key(change_id: str) -> str:
    return f"{PREFIX}change:{change_id}:acks"


def announcement_key(announcement_id: str) -> str:
    return f"{PREFIX}announcement:{announcement_id}"


RUNS = f"{PREFIX}digest:runs"


def run_key(run_id: str) -> str:
    return f"{PREFIX}digest:run:{run_id}"


def run_messages_key(run_id: str) -> str:
    return f"{PREFIX}digest:run:{run_id}:messages"


def reminders_key(change_id: str) -> str:
    return f"{PREFIX}change:{change_id}:reminders"


ALL = f"{PREFIX}staff:all"


EMAIL_INDEX = f"{PREFIX}staff:by-email"


VERSION = f"{PREFIX}staff:version"


def staff_key(staff_id: str) -> str:
    return f"{PREFIX}staff:{staff_id}"


def digests_key(staff_id: str) -> str:
    return f"{PREFIX}staff:{staff_id}:digests"


def pending_key(pending_id: str) -> str:
    return f"{PREFIX}subscribe:pending:{pending_id}"


def subscribe_confirmed_key(pending_id: str) -> str:
    """Which staff member a used confirmation link subscribed (an id only; as long as the link lives)."""
    return f"{PREFIX}subscribe:pending:{pending_id}:done"


def subscribe_recent_key(email_hash: str) -> str:
    """Set while a subscription confirmation to this address was sent recently (no repeats)."""
    return f"{PREFIX}subscribe:recent:{email_hash}"
