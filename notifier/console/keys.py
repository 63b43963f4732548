"""Redis key layout of `notifier.console`: every key this domain reads or writes is named here."""

from __future__ import annotations

from notifier.keyspace import PREFIX


def sign_in_key(nonce: str) -> str:
    return f"{PREFIX}console:sign-in:{nonce}"


def session_key(session_id: str) -> str:
    return f"{PREFIX}console:session:{session_id}"


def sign_in_sent_key(address_hash: str) -> str:
    return f"{PREFIX}console:sign-in-sent:{address_hash}"
