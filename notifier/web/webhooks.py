"""`POST /webhooks/case-events`: signed case-system events in, message ids out.

Order of checks: size (413), signature and timestamp (401, saying which of them failed), content
type (415), JSON (400), schema (422), then handling. Nothing is stored unless the answer is 202.
A webhook-id seen before with the same body gets the first answer again; with another body, 409.
Every refused webhook is one log line (status and reason, never the body).
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Iterable

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.casework.events import parse_event
from notifier.casework.handlers import HANDLERS, watched
from notifier.messages.intake import Conflict, Reads, Replay, Reused, commit
from notifier.messages.keys import idempotency_key
from notifier.validation import FieldError, Invalid
from notifier.web.jsonbody import decode_utf8, parse_json, read_body, require_json_content_type
from notifier.web.app_keys import ANSWER_COUNTED as COUNTED, RUNTIME, WEBHOOK
from notifier.web.metrics_endpoint import count_accepted
from notifier.web.problems import Problem

log = logging.getLogger("notifier.webhooks")


#: Standard Webhooks' timestamp tolerance, as the library applies it (seconds either way).
TOLERANCE_SECONDS = 300
REQUIRED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Refused(Problem):
    """A refused webhook, with a short reason code for the log line (never the body)."""

    def __init__(self, status: int, reason: str, detail: str, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(status, detail, errors)
        self.reason = reason


def _duration(seconds: int) -> str:
    hours, rest = divmod(abs(seconds), 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"


def diagnose(headers: dict[str, str], now: float) -> Refused:
    """Why the library refused the signature, in words an integrator can act on.

    The library decides; this only explains, from the headers: which are missing, how far the
    timestamp is from this server's clock, or else that the signature does not match."""
    missing = [h for h in REQUIRED_HEADERS if not headers.get(h)]
    if missing:
        return Refused(401, "headers-missing", f"missing Standard Webhooks header(s): {', '.join(missing)} "
                                               f"(every request needs {', '.join(REQUIRED_HEADERS)})")
    raw = headers["webhook-timestamp"].strip()
    if not raw.isdigit():
        return Refused(401, "timestamp-invalid", "webhook-timestamp must be the signing time as whole seconds "
                                                 "since 1970-01-01 UTC (Unix time), e.g. 1764486000")
    skew = int(raw) - int(now)
    if abs(skew) > TOLERANCE_SECONDS:
        if skew > 0:
            why = ("the signer's clock is fast, or it takes local time for UTC (a naive datetime.now() "
                   "in Helsinki is 2 or 3 hours ahead): sign with the Unix time, e.g. int(time.time())")
        else:
            why = "the request was signed long before it was sent (sign each attempt anew), or the signer's clock is slow"
        direction = "ahead of" if skew > 0 else "behind"
        return Refused(401, "timestamp-outside-tolerance",
                       f"webhook-timestamp is {abs(skew)} seconds ({_duration(skew)}) {direction} this server's clock; "
                       f"the tolerance is {TOLERANCE_SECONDS} seconds either way: {why}")
    signatures = headers["webhook-signature"].split(" ")
    if not all(part.count(",") == 1 for part in signatures if part):
        return Refused(401, "signature-malformed", "webhook-signature must be 'v1,<base64 signature>' "
                                                   "(several separated by spaces)")
    return Refused(401, "signature-mismatch",
                   "the signature does not verify: either the secret is not the one this service has "
                   "(NOTIFIER_WEBHOOK_SECRET, including its 'whsec_' prefix), or the body was changed after "
                   "signing (sign exactly the bytes sent, as '<webhook-id>.<webhook-timestamp>.<body>')")


def verify(webhook: Webhook, body: bytes, headers: dict[str, str]) -> str:
    """Check the Standard Webhooks signature; returns the body as text. 401 saying why."""
    text = decode_utf8(body)
    try:
        webhook.verify(text, headers, json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError covers binascii.Error (bad base64)
        raise diagnose(headers, time.time()) from None
    return text


def body_fingerprint(body: bytes) -> str:
    """What makes a repeated webhook-id a replay: the same body (compared by its SHA-256)."""
    return hashlib.sha256(body).hexdigest()


def _refused(webhook_id: str | None, exc: Problem) -> None:
    """One line per refused webhook: status and reason (field names for a 422), never the body."""
    reason = getattr(exc, "reason", None) or {400: "bad-request", 413: "too-large", 415: "content-type",
                                              422: "invalid", 409: "conflict"}.get(exc.status, "refused")
    fields = ",".join(e.field for e in exc.errors)[:500]
    log.warning("webhook %s refused: %d %s%s", (webhook_id or "-")[:256], exc.status, reason,
                f" ({fields})" if fields else "",
                extra={"event": "webhook.refused", "webhook_id": (webhook_id or None) and webhook_id[:256],
                       "status": exc.status, "reason": reason, **({"fields": fields} if fields else {})})


async def case_events(request: web.Request) -> web.Response:
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        return await _case_events(request, headers)
    except Problem as exc:
        _refused(headers.get("webhook-id"), exc)
        raise


async def _case_events(request: web.Request, headers: dict[str, str]) -> web.Response:
    rt = request.app[RUNTIME]
    body = await read_body(request, rt.settings.max_body_bytes)
    text = verify(request.app[WEBHOOK], body, headers)
    webhook_id = headers["webhook-id"]
    if len(webhook_id) > 256:
        raise Problem(400, "webhook-id longer than 256 characters")
    require_json_content_type(request)
    document = parse_json(text)
    try:
        event = parse_event(document)
    except Invalid as exc:
        raise Problem(422, "the event does not match the webhook contract", exc.errors) from None

    reads = Reads(rt.redis)  # the event's state hash, read with the webhook-id in one round trip

    async def decide():
        return await HANDLERS[event.type](event, rt, reads)

    try:
        answer = await commit(
            rt.store, decide, watch=watched(event), prefetch=reads,
            idem_key=idempotency_key("webhook", webhook_id), idem_ttl=rt.settings.webhook_id_ttl_seconds,
            fingerprint=body_fingerprint(body), also=lambda pipe: count_accepted(request, pipe),
        )
    except Invalid as exc:  # a handler found the event inconsistent with stored state
        raise Problem(422, "the event does not match the stored state", exc.errors) from None
    except Reused:
        raise Refused(409, "id-reused", f"webhook-id {webhook_id!r} was already used for a different body: give "
                                        "each new event a new webhook-id (the same id is for resending the same "
                                        "body, which gets the first answer again)") from None
    except Conflict:
        raise Problem(409, "the same session was changed concurrently; retry") from None
    if isinstance(answer, Replay):
        log.info("webhook %s replayed: the first answer is given again, nothing is done", webhook_id,
                 extra={"event": "webhook.replay", "webhook_id": webhook_id})
    else:
        request[COUNTED] = True  # its transaction ran, with the answer's count (`count_accepted`)
        log.info("webhook %s %s -> %d messages", webhook_id, event.type, len(answer["messages"]),
                 extra={"event": "webhook.accepted", "webhook_id": webhook_id})
    return web.json_response(answer, status=202)
