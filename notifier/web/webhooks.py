"""`POST /webhooks/case-events`: signed case-system events in, message ids out.

Order of checks: size (413), signature and timestamp (401), content type (415), JSON (400),
schema (422), then handling. Nothing is stored unless the answer is 202.
"""

from __future__ import annotations

import logging

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.casework.events import parse_event
from notifier.casework.handlers import HANDLERS
from notifier.messages.intake import Conflict, commit
from notifier.messages.keys import idempotency_key
from notifier.validation import Invalid
from notifier.web.jsonbody import decode_utf8, parse_json, read_body, require_json_content_type
from notifier.web.app_keys import RUNTIME, WEBHOOK
from notifier.web.problems import Problem

log = logging.getLogger("notifier.webhooks")


def verify(webhook: Webhook, body: bytes, headers: dict[str, str]) -> str:
    """Check the Standard Webhooks signature; returns the body as text. 401 on any doubt."""
    text = decode_utf8(body)
    try:
        webhook.verify(text, headers, json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError covers binascii.Error (bad base64)
        raise Problem(401, "missing or invalid webhook signature, or timestamp outside the 5-minute tolerance") from None
    return text


async def case_events(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    body = await read_body(request, rt.settings.max_body_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
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

    async def decide():
        return await HANDLERS[event.type](event, rt)

    try:
        answer = await commit(
            rt.store, decide,
            idem_key=idempotency_key("webhook", webhook_id), idem_ttl=rt.settings.webhook_id_ttl_seconds,
        )
    except Invalid as exc:  # a handler found the event inconsistent with stored state
        raise Problem(422, "the event does not match the stored state", exc.errors) from None
    except Conflict:
        raise Problem(409, "the same session was changed concurrently; retry") from None
    log.info("webhook %s %s -> %d messages", webhook_id, event.type, len(answer["messages"]))
    return web.json_response(answer, status=202)
