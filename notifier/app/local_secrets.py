"""Secrets for a single-machine `notifier run`: generated once into the data dir and reused.

Production sets them in the environment; `notifier run` and `notifier demo` must work with
nothing set, without ever running with an empty secret.

The data dir is the service user's alone (0700), and each secret file is created 0600 in one step
(`os.open(..., O_CREAT | O_EXCL, 0o600)`), never written with the umask's mode and chmod-ed after:
there is no moment at which another local user could open it.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from notifier.app.config import Settings
from notifier.sealing import generate_key


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) for the service's user alone: 0700, also when it existed wider."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def write_secret(path: Path, value: str) -> bool:
    """Write `value` to `path` as a new 0600 file, atomically; False (nothing written) if it exists.

    The content goes to a temporary file created 0600 with O_EXCL, which is then hard-linked into
    place: the link fails if another process got there first, and a reader never sees half a secret.
    """
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _read_or_create(path: Path, make) -> str:  # type: ignore[no-untyped-def]
    if not path.exists():
        write_secret(path, make())
    return path.read_text().strip()


def redis_password(data_dir: Path) -> str:
    """The embedded Redis's password, generated once into the data dir with the other secrets."""
    return _read_or_create(Path(data_dir) / "redis-password", lambda: secrets.token_urlsafe(32))


def local_settings(settings: Settings) -> tuple[Settings, list[str]]:
    notes: list[str] = []
    changes: dict[str, object] = {}
    d = private_dir(settings.data_dir)
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
