"""Bearer tokens for `/api/*`, one per role, compared in constant time.

Two roles use the API: **case systems** (`NOTIFIER_API_TOKEN`: follow messages, call prompts,
contact logs) and **coordinators** (`NOTIFIER_COORDINATOR_TOKEN`: staff directory, practice
changes, announcements, digest runs; they may also read what case systems read). Without a
coordinator token the API token serves both roles (one-token mode, for a single organisation);
`notifier run` generates both, so the roles are separate by default.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from notifier.app.config import Settings
from notifier.web.problems import Problem

CASE_SYSTEM = "case-system"
COORDINATOR = "coordinator"


def _matches(token: str, expected: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())  # type: ignore[union-attr]


def bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def roles_of(token: str, settings: Settings) -> set[str]:
    roles = set()
    coordinator_token = settings.coordinator_token or settings.api_token
    if token and _matches(token, coordinator_token):
        roles |= {COORDINATOR, CASE_SYSTEM}
    if token and _matches(token, settings.api_token):
        roles.add(CASE_SYSTEM)
    return roles


def require_role(request: web.Request, settings: Settings, role: str) -> None:
    roles = roles_of(bearer(request), settings)
    if not roles:
        raise Problem(401, "missing or wrong bearer token")
    if role not in roles:
        raise Problem(403, f"this token's role may not do this; it needs the {role} token")


def require_token(request: web.Request, expected: str | None) -> None:
    """Check a bearer token against one expected value (kept for single-purpose tokens)."""
    if not _matches(bearer(request), expected):
        raise Problem(401, "missing or wrong bearer token")
