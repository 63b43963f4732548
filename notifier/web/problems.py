"""Error answers as RFC 9457 problem details (`application/problem+json`)."""

from __future__ import annotations

import http
import json
from typing import Iterable, Mapping

from aiohttp import web

from notifier.validation import FieldError

PROBLEM_TYPE = "application/problem+json"


def title_for(status: int) -> str:
    """RFC 9457 4.2.1: with `type: about:blank` the title is the status code's phrase."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(status: int, detail: str, errors: Iterable[FieldError] = (), *,
            headers: Mapping[str, str] | None = None, **extra: object) -> web.Response:
    """A problem answer; `headers` are kept (e.g. the `Allow` of a 405, RFC 9110 15.5.6)."""
    body: dict[str, object] = {"type": "about:blank", "title": title_for(status), "status": status, "detail": detail}
    errs = [e.to_dict() for e in errors]
    if errs:
        body["errors"] = errs
    body.update(extra)
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in ("content-type", "content-length")}
    if status == 401:
        out.setdefault("WWW-Authenticate", "Bearer")
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False), content_type=PROBLEM_TYPE,
                        headers=out or None)


class Problem(Exception):
    """Raise from a handler to answer with a problem; `problem_middleware` turns it into one."""

    def __init__(self, status: int, detail: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, list(errors)

    def response(self) -> web.Response:
        return problem(self.status, self.detail, self.errors)
