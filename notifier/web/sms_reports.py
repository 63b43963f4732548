"""`POST /webhooks/sms-status`: delivery reports from the SMS gateway (GatewayAPI's format).

The callback URL we hand the gateway with each SMS carries `?token=<NOTIFIER_SMS_CALLBACK_TOKEN>`;
a report without the right token is refused (401), and with no token configured every report is.
A report names our message id as `userref` (GatewayAPI's documentation also spells it `user_ref`;
both are read) and the gateway's as `id`:
`{"id": 1000001, "msisdn": 358401234567, "time": 1450000000, "status": "DELIVERED",
"userref": "<message id>", "error": null, "code": null, ...}` (one object, or a list of them).
A report without a userref is matched on `id`, the gateway's message id we kept as the
provider reference (`notifier:sms:ref:<id>`, written when the send succeeded, kept 7 days).

Final statuses: `DELIVERED` moves the message to `delivered`; `ACCEPTED` (final in GatewayAPI's
reports: the operator took the message on the recipient's behalf, and no report follows) also to
`delivered`, reason `gatewayapi-accepted`, so that it is not left `sent` for ever;
`EXPIRED`, `DELETED`, `UNDELIVERABLE`, `REJECTED`, `SKIPPED` to `permanent-failure`. Anything else
(`ENROUTE`, `BUFFERED`, `SCHEDULED`, `UNKNOWN`, …) is in transit and moves nothing. The store
refuses to move a final status, so a late or repeated report changes nothing.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web

from notifier.messages.keys import sms_ref_key

from notifier.messages import status as st
from notifier.messages.model import SMS
from notifier.web.jsonbody import json_body
from notifier.web.app_keys import RUNTIME
from notifier.web.problems import Problem

log = logging.getLogger("notifier.sms_status")

DELIVERED = frozenset({"DELIVERED", "ACCEPTED"})
UNDELIVERED = frozenset({"EXPIRED", "DELETED", "UNDELIVERABLE", "REJECTED", "SKIPPED"})
MAX_REPORTS = 1000


def target_status(gateway_status: str) -> str | None:
    if gateway_status in DELIVERED:
        return st.DELIVERED
    if gateway_status in UNDELIVERED:
        return st.PERMANENT_FAILURE
    return None


def check_token(request: web.Request, expected: str | None) -> None:
    given = request.query.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Problem(401, "missing or wrong callback token")


async def sms_status(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    check_token(request, rt.settings.sms_callback_token)
    document = await json_body(request, 256 * 1024)
    reports = document if isinstance(document, list) else [document]
    if len(reports) > MAX_REPORTS or not all(isinstance(r, dict) for r in reports):
        raise Problem(400, f"expected a delivery report object or a list of at most {MAX_REPORTS}")
    results = [await apply_report(request, report) for report in reports]
    return web.json_response({"results": results})


async def apply_report(request: web.Request, report: dict[str, Any]) -> dict[str, Any]:
    rt = request.app[RUNTIME]
    message_id = report.get("userref") or report.get("user_ref")
    gateway_status = str(report.get("status") or "").upper()
    gateway_id = str(report.get("id")) if report.get("id") is not None else ""
    if not message_id and gateway_id and len(gateway_id) <= 64:
        found = await rt.redis.get(sms_ref_key(gateway_id))
        message_id = found.decode() if found else None
    if not isinstance(message_id, str) or not message_id or len(message_id) > 128:
        return {"userref": None, "result": "ignored"}
    [head] = await rt.store.heads([message_id])  # the record's plain part: nothing personal is opened
    if head is None or head.channel != SMS or (head.provider_ref and gateway_id and gateway_id != head.provider_ref):
        log.info("sms report for unknown message %s ignored", message_id)
        return {"userref": message_id, "result": "ignored"}
    target = target_status(gateway_status)
    if target is None:
        return {"userref": message_id, "result": "in-transit", "status": head.status}
    reason = "" if gateway_status == "DELIVERED" else f"gatewayapi-{gateway_status.lower()}"
    moved = await rt.store.move(message_id, target, reason, provider_ref=gateway_id)
    assert moved is not None  # not in a pipeline
    log.info("sms report %s for message %s: %s", gateway_status, message_id, "moved" if moved.moved else "kept")
    # Moved: the report's status; refused (a final status is never overwritten): the one it has.
    status = target if moved.moved else (moved.previous or None)
    return {"userref": message_id, "result": "moved" if moved.moved else "kept", "status": status}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/webhooks/sms-status", sms_status)
