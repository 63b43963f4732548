"""Reading a request body as JSON, strictly: size-limited, UTF-8, no duplicate keys, not too deep."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from notifier.web.problems import Problem

MAX_DEPTH = 32


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, f"body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        body.extend(chunk)
        if len(body) > limit:
            raise Problem(413, f"body larger than {limit} bytes")
    return bytes(body)


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "body is not valid UTF-8") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_json(text: str) -> Any:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise Problem(400, f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise Problem(400, f"body is not valid JSON: {exc}") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise Problem(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def require_json_content_type(request: web.Request) -> None:
    if request.content_type not in ("application/json", "application/webhook+json") and not request.content_type.endswith("+json"):
        raise Problem(415, "Content-Type must be application/json")


async def json_body(request: web.Request, limit: int) -> Any:
    require_json_content_type(request)
    return parse_json(decode_utf8(await read_body(request, limit)))
