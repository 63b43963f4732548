"""Secrets for a single-machine `notifier run`: generated once into the data dir and reused.

Production sets them in the environment; `notifier run` and `notifier demo` must work with
nothing set, without ever running with an empty secret.
"""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from notifier.app.config import Settings
from notifier.sealing import generate_key


def _read_or_create(path: Path, make) -> str:  # type: ignore[no-untyped-def]
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(value + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return value


def local_settings(settings: Settings) -> tuple[Settings, list[str]]:
    notes: list[str] = []
    changes: dict[str, object] = {}
    d = settings.data_dir
    if not settings.webhook_secret:
        path = d / "webhook-secret"
        changes["webhook_secret"] = _read_or_create(path, lambda: "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
        notes.append(f"webhook secret (NOTIFIER_WEBHOOK_SECRET) is in {path}")
    if not settings.api_token:
        path = d / "api-token"
        changes["api_token"] = _read_or_create(path, lambda: secrets.token_urlsafe(32))
        notes.append(f"API token (NOTIFIER_API_TOKEN) is in {path}")
    if not settings.coordinator_token:
        path = d / "coordinator-token"
        changes["coordinator_token"] = _read_or_create(path, lambda: secrets.token_urlsafe(32))
        notes.append(f"coordinators' API token (NOTIFIER_COORDINATOR_TOKEN) is in {path}")
    if not settings.data_keys:
        path = d / "data-key"
        changes["data_keys"] = (_read_or_create(path, generate_key),)
        notes.append(f"data encryption key (NOTIFIER_DATA_KEY) is in {path}")
    if not settings.signing_secrets:
        path = d / "signing-secret"
        changes["signing_secrets"] = (_read_or_create(path, lambda: secrets.token_urlsafe(32)),)
        notes.append(f"link signing secret (NOTIFIER_SIGNING_SECRET) is in {path}")
    return settings.with_(**changes), notes
