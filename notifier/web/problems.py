"""Error answers as RFC 9457 problem details (`application/problem+json`)."""

from __future__ import annotations

import json
from typing import Iterable

from aiohttp import web

from notifier.validation import FieldError

PROBLEM_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


def problem(status: int, detail: str, errors: Iterable[FieldError] = (), **extra: object) -> web.Response:
    body: dict[str, object] = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status, "detail": detail}
    errs = [e.to_dict() for e in errors]
    if errs:
        body["errors"] = errs
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False), content_type=PROBLEM_TYPE, headers=headers)


class Problem(Exception):
    """Raise from a handler to answer with a problem; `problem_middleware` turns it into one."""

    def __init__(self, status: int, detail: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, list(errors)

    def response(self) -> web.Response:
        return problem(self.status, self.detail, self.errors)
