"""A Suomi.fi Messages stand-in: a real aiohttp server on loopback speaking the REST API subset the
letter channel uses (token, attachments, messages with 409 on a repeated externalId, paged events).

It checks what a real server would refuse (bad credentials, missing or stale bearer tokens,
unknown attachment ids) and validates every message body against the published v2 schemas
(below, from https://api.messages.suomi.fi/api-docs), answering 400 with `validationErrors` as
Suomi.fi does (`{"reason", "validationErrors": [{"error", "errorCode"}]}`). It records everything
it accepted for the tests to assert.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from aiohttp import web

# -- the published v2 request schemas (the parts the service uses), as JSON Schema ------------------
# Field names, required lists and enums as in the v2 OpenAPI document; lengths where it sets them
# (`PostiMessaging`: username 6..6, password 4..4, contactDetails.email 5..256).

_TEXT = {"type": "string", "minLength": 1}
_ATTACHMENTS = {"type": "array", "minItems": 1, "items": {
    "type": "object", "required": ["attachmentId"], "properties": {"attachmentId": _TEXT}}}
ADDRESS = {
    "type": "object",
    "required": ["name", "streetAddress", "zipCode", "city", "countryCode"],
    "properties": {"name": _TEXT, "additionalName": {"type": "string"}, "streetAddress": _TEXT,
                   "zipCode": _TEXT, "city": _TEXT, "countryCode": {"type": "string", "pattern": "^[A-Z]{2}$"}},
}
MESSAGE_SERVICE_TYPE = {"enum": ["Normal", "Verifiable"]}
ELECTRONIC_PART = {
    "type": "object",
    "required": ["attachments", "body", "bodyFormat", "messageServiceType", "notifications", "replyAllowedBy",
                 "title", "visibility"],
    "properties": {
        "attachments": _ATTACHMENTS,
        "body": _TEXT,
        "bodyFormat": {"enum": ["Text", "Markdown"]},
        "messageServiceType": MESSAGE_SERVICE_TYPE,
        "notifications": {
            "type": "object",
            "required": ["senderDetailsInNotifications", "unreadMessageNotification"],
            "properties": {
                "senderDetailsInNotifications": {"enum": ["Organisation and service name", "None"]},
                "unreadMessageNotification": {"type": "object", "required": ["reminder"], "properties": {
                    "reminder": {"enum": ["Default reminder", "No reminders"]}}},
            },
        },
        "replyAllowedBy": {"enum": ["Anyone", "No one"]},
        "title": _TEXT,
        "visibility": {"enum": ["Normal", "Recipient only"]},
        "inReplyToMessageId": {"type": "integer"},
    },
}
POSTI_MESSAGING = {
    "type": "object",
    "required": ["username", "password", "contactDetails"],
    "properties": {
        "username": {"type": "string", "minLength": 6, "maxLength": 6},
        "password": {"type": "string", "minLength": 4, "maxLength": 4},
        "contactDetails": {"type": "object", "required": ["email"], "properties": {
            "email": {"type": "string", "minLength": 5, "maxLength": 256}}},
    },
}
PAPER_MAIL_PART = {
    "type": "object",
    "required": ["attachments", "colorPrinting", "createAddressPage", "messageServiceType",
                 "printingAndEnvelopingService", "recipient", "rotateLandscapePages", "sender", "twoSidedPrinting"],
    "properties": {
        "attachments": _ATTACHMENTS,
        "colorPrinting": {"type": "boolean"},
        "createAddressPage": {"type": "boolean"},
        "messageServiceType": MESSAGE_SERVICE_TYPE,
        "printingAndEnvelopingService": {"type": "object", "required": ["postiMessaging"], "properties": {
            "postiMessaging": POSTI_MESSAGING, "costPool": {"type": "string"}}},
        "recipient": {"type": "object", "required": ["address"], "properties": {"address": ADDRESS}},
        "rotateLandscapePages": {"type": "boolean"},
        "sender": {"type": "object", "required": ["address"], "properties": {"address": ADDRESS}},
        "twoSidedPrinting": {"type": "boolean"},
    },
}
_COMMON = {
    "externalId": _TEXT,
    "recipient": {"type": "object", "required": ["id"], "properties": {"id": _TEXT}},
    "sender": {"type": "object", "required": ["serviceId"], "properties": {"serviceId": _TEXT}},
    "electronic": ELECTRONIC_PART,
}
#: `POST /v2/messages`
MULTICHANNEL_MESSAGE_REQUEST_BODY = {
    "type": "object", "required": ["externalId", "recipient", "sender", "electronic", "paperMail"],
    "properties": {**_COMMON, "paperMail": PAPER_MAIL_PART},
}
#: `POST /v2/messages/electronic`
ELECTRONIC_MESSAGE_REQUEST_BODY = {
    "type": "object", "required": ["externalId", "recipient", "sender", "electronic"], "properties": _COMMON,
}
SCHEMAS = {"/v2/messages": MULTICHANNEL_MESSAGE_REQUEST_BODY,
           "/v2/messages/electronic": ELECTRONIC_MESSAGE_REQUEST_BODY}


def schema_errors(path: str, body: Any) -> list[dict[str, Any]]:
    """`validationErrors` for `body` sent to `path` (empty: valid). Schema errors carry no errorCode."""
    validator = jsonschema.Draft202012Validator(SCHEMAS[path])
    return [{"error": f"{'.'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}", "errorCode": None}
            for e in validator.iter_errors(body)]

USERNAME = "notifier-api"
PASSWORD = "correct horse battery staple"
SERVICE_ID = "te-turku-notifier"

#: A valid personal identity code (the checksum example from DVV's documentation) and a bad one.
HETU = "131052-308T"
BAD_HETU = "131052-308U"


@dataclass
class FakeSuomiFi:
    expires_in: int = 3600
    tokens: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # externalId -> {path, body, id}
    message_posts: list[tuple[str, int]] = field(default_factory=list)  # (externalId, status answered)
    refused: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)  # (path, validationErrors)
    fail_messages: list[int] = field(default_factory=list)  # statuses to answer the next POSTs with
    #: continuation token given (None: none) -> (events, next token)
    event_pages: dict[str | None, tuple[list[dict[str, Any]], str]] = field(default_factory=dict)
    event_requests: list[str | None] = field(default_factory=list)
    #: recipient ids without an active electronic mailbox (electronic-only: 400 MAILBOX_NOT_IN_USE)
    no_mailbox: set[str] = field(default_factory=set)
    #: status to answer every token request with (None: check the credentials)
    refuse_login: int | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(900001))

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[len("Bearer "):] in self.valid_tokens

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if self.refuse_login is not None:
            return web.json_response({"reason": "Forbidden"}, status=self.refuse_login)
        body = await request.json()
        if body != {"username": USERNAME, "password": PASSWORD}:
            return web.json_response({"reason": "Invalid credentials"}, status=400)
        token = f"token-{len(self.tokens) + 1}"
        self.tokens.append(token)
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": self.expires_in})

    async def attachment(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"reason": "Unauthorized"}, status=401)
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != "file":
            return web.json_response({"reason": "file is required"}, status=400)
        data = await part.read()  # type: ignore[union-attr]
        attachment_id = str(uuid.uuid4())
        self.attachments[attachment_id] = {
            "filename": part.filename,  # type: ignore[union-attr]
            "content_type": part.headers.get("Content-Type"),
            "data": bytes(data),
        }
        return web.json_response({"attachmentId": attachment_id})

    async def message(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"reason": "Unauthorized"}, status=401)
        body = await request.json()
        external_id = body.get("externalId")
        if self.fail_messages:
            status = self.fail_messages.pop(0)
            self.message_posts.append((external_id, status))
            return web.json_response({"reason": "failure requested by the test"}, status=status)
        problems = schema_errors(request.path, body)
        for part in ("electronic", "paperMail"):
            for ref in (body.get(part) or {}).get("attachments", []) if isinstance(body.get(part), dict) else []:
                if isinstance(ref, dict) and ref.get("attachmentId") not in self.attachments:
                    problems.append({"error": f"{part}.attachments: unknown attachmentId", "errorCode": None})
        if not problems and request.path == "/v2/messages/electronic" and body["recipient"]["id"] in self.no_mailbox:
            problems.append({"error": "recipient has no active mailbox", "errorCode": "MAILBOX_NOT_IN_USE"})
        if problems:
            self.message_posts.append((external_id, 400))
            self.refused.append((request.path, problems))
            return web.json_response({"reason": "Bad request", "validationErrors": problems}, status=400)
        if external_id in self.messages:
            self.message_posts.append((external_id, 409))
            return web.json_response(
                {"reason": "Message with the same externalId already exists",
                 "messageId": self.messages[external_id]["id"]}, status=409)
        message_id = next(self._ids)
        self.messages[external_id] = {"path": request.path, "body": body, "id": message_id}
        self.message_posts.append((external_id, 200))
        return web.json_response({"messageId": message_id})

    async def events(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"reason": "Unauthorized"}, status=401)
        token = request.query.get("continuationToken")
        self.event_requests.append(token)
        events, next_token = self.event_pages.get(token, ([], token or "end"))
        return web.json_response({"events": events, "continuationToken": next_token})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/token", self.token)
        app.router.add_post("/v2/attachments", self.attachment)
        app.router.add_post("/v2/messages", self.message)
        app.router.add_post("/v2/messages/electronic", self.message)
        app.router.add_get("/v2/events", self.events)
        return app


def event(event_type: str, external_id: str, message_id: int = 1, service_id: str = SERVICE_ID) -> dict[str, Any]:
    return {"type": event_type, "eventTime": "2026-12-01T10:00:00.000Z",
            "metadata": {"messageId": message_id, "serviceId": service_id, "externalId": external_id}}
