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
