"""Shapes of the secrets the service is given, checked the same way at start-up and by `notifier check`."""

from __future__ import annotations

import base64
import binascii


def webhook_secret_problem(secret: str) -> str | None:
    """Why `secret` is not a usable Standard Webhooks secret (`whsec_` + base64 of 24–64 bytes), or None."""
    if not secret.startswith("whsec_"):
        return "must start with 'whsec_'"
    body = secret[len("whsec_"):].rstrip("=")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return "is not base64 after 'whsec_'"
    if not 24 <= len(raw) <= 64:
        return f"must hold 24 to 64 random bytes (base64 after 'whsec_'), not {len(raw)}"
    return None


def fresh_secrets() -> dict[str, str]:
    """A complete, fresh set of the service's secrets, by variable name (`notifier secrets`).

    Web and worker processes must all be given the same set: the data key seals what one process
    stores for another, and the signing secret makes links that any web process must accept."""
    import secrets

    from cryptography.fernet import Fernet

    def whsec() -> str:
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()

    return {
        "NOTIFIER_DATA_KEY": Fernet.generate_key().decode(),
        "NOTIFIER_WEBHOOK_SECRET": whsec(),
        "NOTIFIER_API_TOKEN": secrets.token_urlsafe(32),
        "NOTIFIER_COORDINATOR_TOKEN": secrets.token_urlsafe(32),
        "NOTIFIER_SIGNING_SECRET": secrets.token_urlsafe(32),
        "NOTIFIER_STATUS_CALLBACK_SECRET": whsec(),
        "NOTIFIER_SMS_CALLBACK_TOKEN": secrets.token_urlsafe(32),
    }
