"""Redis key layout of `notifier.console`: every key this domain reads or writes is named here."""

from __future__ import annotations

from notifier.keyspace import PREFIX


def sign_in_key(nonce: str) -> str:
    return f"{PREFIX}console:sign-in:{nonce}"


def session_key(session_id: str) -> str:
    return f"{PREFIX}console:session:{session_id}"


def sign_in_sent_key(address_hash: str) -> str:
    return f"{PREFIX}console:sign-in-sent:{address_hash}"


def sign_ins_from_client_key(client_hash: str) -> str:
    """Sign-in links asked for from one client address today."""
    return f"{PREFIX}console:sign-ins:client:{client_hash}"


def sign_ins_for_address_key(address_hash: str) -> str:
    """Sign-in links asked for one typed e-mail address today."""
    return f"{PREFIX}console:sign-ins:email:{address_hash}"
#: Hash: a "Needs attention" line's key -> JSON {by, at}: coordinators marked it handled.
ATTENTION_HANDLED = f"{PREFIX}console:attention:handled"
