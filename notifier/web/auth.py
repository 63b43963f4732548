"""Bearer-token checks for `/api/*`, in constant time."""

from __future__ import annotations

import hmac

from aiohttp import web

from .problems import Problem


def require_token(request: web.Request, expected: str | None) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Problem(401, "missing or wrong bearer token")
