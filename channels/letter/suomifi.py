"""Suomi.fi Messages (REST API v2): an authority's letter, electronic or on paper.

The request bodies follow the v2 OpenAPI document (https://api.messages.suomi.fi/api-docs,
`docs/messages-api.yaml`); the schema names are quoted where they are built:

- `POST /v2/messages` takes a `MultichannelMessageRequestBody` (`externalId`, `recipient`,
  `sender`, `electronic`, `paperMail`, all required): Suomi.fi delivers it to the citizen's
  electronic mailbox when they have an active one, and otherwise has the PDF printed, enveloped
  and posted by Posti. Its `PaperMailPart` requires `printingAndEnvelopingService.postiMessaging`
  (`PostiMessaging`: `username` exactly 6 characters, `password` exactly 4,
  `contactDetails.email` 5 to 256), i.e. a **printing contract** with Posti.
- `POST /v2/messages/electronic` takes an `ElectronicMessageRequestBody` (`externalId`,
  `recipient`, `sender`, `electronic`): electronic only. Suomi.fi refuses it with 400 and
  `validationErrors[].errorCode` `MAILBOX_NOT_IN_USE` when the recipient has no active mailbox.

**Which one (decision, README "Letters").** With the three Posti settings: the multichannel message
for a client with an address, electronic-only without one. **Without a printing contract** every
letter goes electronic-only; when Suomi.fi answers `MAILBOX_NOT_IN_USE` and the client has a postal
address, the same PDF is written to the letter outbox for manual printing and posting (provider
reference `outbox`), so nobody is left without the letter; without an address the message fails
for good with reason `suomifi-mailbox-not-in-use`.

- Authentication: `POST /v1/token` with username and password gives a bearer token; it is kept
  per worker and fetched again shortly before it expires, or once after a 401.
- The PDF is uploaded first (`POST /v2/attachments`, multipart `file`) and referenced by id
  (`AttachmentReference.attachmentId`) from both parts of the message.
- `externalId` is our message id, so a retry never creates a second letter: Suomi.fi answers 409
  for an externalId it already has, which counts as success.
- Status events (`GET /v2/events`, paged with a continuation token) are read by a scheduled job
  (`notifier/letters.py`).

Errors: connection trouble, timeouts, 429 and 5xx are temporary (retried within the retry
window). A refused login at the token endpoint (400/401/403) is our configuration, not the letter:
temporary, with an alert log line (`suomifi.login-refused`). Other 4xx answers to a letter are
permanent; a 400 with `validationErrors` becomes the reason `suomifi-<errorCode>` (lower case,
`_` as `-`, several joined by `+`), e.g. `suomifi-mailbox-not-in-use`.
Reasons never carry personal data or the API's error text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import aiohttp

from channels.base import PermanentFailure, TemporaryFailure
from channels.letter.model import Letter, PostalAddress
from channels.letter.outbox import write_letter

log = logging.getLogger("channels.suomifi")

#: Fetch a new token when the current one has less than this many seconds left.
TOKEN_MARGIN_SECONDS = 60.0

#: `validationErrors[].errorCode` of `POST /v2/messages/electronic` for a recipient without an
#: active electronic mailbox.
MAILBOX_NOT_IN_USE = "MAILBOX_NOT_IN_USE"

ELECTRONIC_PATH = "/v2/messages/electronic"
MULTICHANNEL_PATH = "/v2/messages"
#: The provider reference of a letter that went to the outbox because the mailbox was not in use.
OUTBOX_REFERENCE = "outbox"


@dataclass(frozen=True)
class PostiMessaging:
    """The sender's printing contract with Posti (`PostiMessaging`), passed on in each paper letter.

    Lengths are checked at start-up (`notifier.config.parse_posti`).
    """

    username: str
    password: str
    email: str


@dataclass(frozen=True)
class SuomiFiEvent:
    type: str
    event_time: str
    external_id: str | None
    message_id: str | None
    service_id: str | None


class SuomiFiError(Exception):
    """The API answered something other than success; `status` is the HTTP status (0: no answer),
    `codes` the `validationErrors[].errorCode` values of the answer (codes only, never `error` texts)."""

    def __init__(self, status: int, what: str, codes: tuple[str, ...] = ()) -> None:
        super().__init__(f"{what}: HTTP {status}" if status else what)
        self.status = status
        self.what = what
        self.codes = codes


def error_codes(answer: Any) -> tuple[str, ...]:
    """`validationErrors[].errorCode` of an error answer (`{"reason", "validationErrors": [{"error",
    "errorCode"}]}`), sorted and without repeats; codes that are not plain identifiers are left out."""
    if not isinstance(answer, dict) or not isinstance(answer.get("validationErrors"), list):
        return ()
    codes = {str(e.get("errorCode")) for e in answer["validationErrors"]
             if isinstance(e, dict) and isinstance(e.get("errorCode"), str)}
    return tuple(sorted(c for c in codes if re.fullmatch(r"[A-Za-z0-9_]{1,64}", c)))


def _address(name: str, address: PostalAddress) -> dict[str, Any]:
    lines = [line.strip() for line in address.street.splitlines() if line.strip()] or [""]
    out: dict[str, Any] = {
        "name": name,
        "streetAddress": lines[-1],
        "zipCode": address.postal_code,
        "city": address.city,
        "countryCode": address.country.upper(),
    }
    if len(lines) > 1:
        out["additionalName"] = ", ".join(lines[:-1])
    return out


def message_request(
    letter: Letter, attachment_id: str, *, service_id: str, posti: PostiMessaging | None = None
) -> tuple[str, dict[str, Any]]:
    """The path and JSON body for sending `letter` (pure: tested without a server).

    Multichannel (`MultichannelMessageRequestBody`) only with a printing contract and an address;
    otherwise electronic only (`ElectronicMessageRequestBody`).
    """
    if not letter.personal_id:
        raise ValueError("a Suomi.fi message needs the recipient's personal identity code")
    attachments = [{"attachmentId": attachment_id}]
    body: dict[str, Any] = {
        "externalId": letter.message_id,
        "recipient": {"id": letter.personal_id},
        "sender": {"serviceId": service_id},
        # `ElectronicPart`: every field but `inReplyToMessageId` is required. Enums: `bodyFormat`
        # Text | Markdown; `messageServiceType` Normal | Verifiable; `replyAllowedBy` Anyone |
        # No one; `visibility` Normal | Recipient only; `notifications.senderDetailsInNotifications`
        # Organisation and service name | None; `unreadMessageNotification.reminder` Default
        # reminder | No reminders.
        "electronic": {
            "title": letter.title,
            "body": letter.body_text,
            "bodyFormat": "Text",
            "messageServiceType": "Normal",
            "replyAllowedBy": "No one",
            "visibility": "Normal",
            "notifications": {
                "senderDetailsInNotifications": "Organisation and service name",
                "unreadMessageNotification": {"reminder": "Default reminder"},
            },
            "attachments": attachments,
        },
    }
    if letter.recipient.address is None or posti is None:
        return ELECTRONIC_PATH, body
    if letter.sender.address is None:
        raise ValueError("a paper letter needs the sender's postal address")
    # `PaperMailPart`: all fields required. `messageServiceType` Normal: no Posti receipt events
    # follow (those are for `Verifiable`), see README "Letters".
    body["paperMail"] = {
        "attachments": attachments,
        "createAddressPage": True,
        "colorPrinting": False,
        "twoSidedPrinting": True,
        "rotateLandscapePages": False,
        "messageServiceType": "Normal",
        "printingAndEnvelopingService": {
            "postiMessaging": {
                "username": posti.username,
                "password": posti.password,
                "contactDetails": {"email": posti.email},
            }
        },
        "recipient": {"address": _address(letter.recipient.name, letter.recipient.address)},
        "sender": {"address": _address(letter.sender.name, letter.sender.address)},
    }
    return MULTICHANNEL_PATH, body


def parse_events(document: Any) -> tuple[list[SuomiFiEvent], str | None]:
    """Events and the next continuation token from a `GET /v2/events` answer.

    `metadata` is read whether it comes as an object or as a JSON string (both are seen).
    """
    events: list[SuomiFiEvent] = []
    if not isinstance(document, dict):
        return events, None
    for raw in document.get("events") or []:
        if not isinstance(raw, dict):
            continue
        meta = raw.get("metadata") or {}
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = {}
        if not isinstance(meta, dict):
            meta = {}

        def text(key: str) -> str | None:
            value = meta.get(key)
            return None if value is None else str(value)

        events.append(SuomiFiEvent(
            type=str(raw.get("type", "")),
            event_time=str(raw.get("eventTime", "")),
            external_id=text("externalId"),
            message_id=text("messageId"),
            service_id=text("serviceId"),
        ))
    token = document.get("continuationToken")
    return events, (str(token) if token else None)


class SuomiFiClient:
    """The REST API subset we use, over one aiohttp session per worker, with its bearer token."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url.rstrip("/")
        self.username, self.password = username, password
        self.timeout = timeout
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("SuomiFiClient.start() was not called")
        return self._session

    async def token(self, *, renew: bool = False) -> str:
        async with self._token_lock:
            if not renew and self._token and self._token_expires - self.clock() > TOKEN_MARGIN_SECONDS:
                return self._token
            started = self.clock()
            async with self.session.post(
                f"{self.url}/v1/token", json={"username": self.username, "password": self.password}
            ) as resp:
                if resp.status != 200:
                    raise SuomiFiError(resp.status, "token")
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    raise SuomiFiError(resp.status, "token") from None
            try:
                self._token = str(answer["access_token"])
                self._token_expires = started + float(answer.get("expires_in") or 0)
            except (KeyError, TypeError, ValueError):
                raise SuomiFiError(resp.status, "token") from None
            return self._token

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One authorised request; on a 401 the token is fetched again and the request repeated once.

        `form` builds a multipart body: one is consumed by sending, so each try gets a fresh one.
        """
        for attempt in (0, 1):
            token = await self.token(renew=attempt == 1)
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            async with self.session.request(
                method, f"{self.url}{path}", headers=headers, params=params,
                json=json_body, data=form() if form is not None else None,
            ) as resp:
                if resp.status == 401 and attempt == 0:
                    continue
                text = await resp.text()
                try:
                    answer = json.loads(text) if text else None
                except ValueError:
                    answer = None
                return resp.status, answer
        raise AssertionError("unreachable")

    async def upload(self, filename: str, data: bytes) -> str:
        def form() -> aiohttp.FormData:
            f = aiohttp.FormData()
            f.add_field("file", data, filename=filename, content_type="application/pdf")
            return f

        status, answer = await self.request("POST", "/v2/attachments", form=form)
        if status not in (200, 201) or not isinstance(answer, dict) or "attachmentId" not in answer:
            raise SuomiFiError(status, "attachment upload")
        return str(answer["attachmentId"])

    async def send_message(self, path: str, body: dict[str, Any]) -> str:
        """Send; returns Suomi.fi's message id ("" when a 409 did not say it)."""
        status, answer = await self.request("POST", path, json_body=body)
        if status in (200, 201, 409):  # 409: this externalId was sent already, by an earlier try
            message_id = answer.get("messageId") if isinstance(answer, dict) else None
            return "" if message_id is None else str(message_id)
        raise SuomiFiError(status, "message", error_codes(answer))

    async def events(self, continuation_token: str | None) -> tuple[list[SuomiFiEvent], str | None]:
        params = {"continuationToken": continuation_token} if continuation_token else None
        status, answer = await self.request("GET", "/v2/events", params=params)
        if status != 200:
            raise SuomiFiError(status, "events")
        return parse_events(answer)


def code_reason(codes: tuple[str, ...]) -> str:
    """`("MAILBOX_NOT_IN_USE",)` -> `suomifi-mailbox-not-in-use` (several joined by `+`)."""
    return "suomifi-" + "+".join(c.lower().replace("_", "-") for c in codes)


def failure_for(exc: BaseException) -> TemporaryFailure | PermanentFailure:
    """What a failed call means for the message: retry it, or give up on it."""
    if isinstance(exc, SuomiFiError):
        s = exc.status
        if exc.what == "token":  # our credentials, not this letter: retry while someone fixes them
            if s in (400, 401, 403):
                log.error("Suomi.fi Messages refused the login of NOTIFIER_SUOMIFI_USERNAME (HTTP %s): check the "
                          "username, the password (it may have been rotated) and that this machine's IP address "
                          "is allow-listed; letters wait and are retried", s,
                          extra={"event": "suomifi.login-refused", "answer": str(s)})
            return TemporaryFailure(f"suomifi-token-{s or 'error'}")
        if s == 0 or s in (401, 408, 425, 429) or s >= 500:
            return TemporaryFailure(f"suomifi-{s or 'error'}")
        if exc.codes:
            return PermanentFailure(code_reason(exc.codes))
        return PermanentFailure(f"suomifi-{s}")
    return TemporaryFailure(f"suomifi-{type(exc).__name__}")


class SuomiFiLetter:
    """The `suomifi` letter channel: render the PDF, upload it, send the message.

    `outbox` is where a letter goes when it was sent electronic-only (no printing contract) and the
    recipient has no active mailbox but a postal address: printed and posted by hand.
    """

    name = "suomifi"

    def __init__(self, client: SuomiFiClient, service_id: str, posti: PostiMessaging | None = None,
                 outbox: Path | None = None) -> None:
        self.client = client
        self.service_id = service_id
        self.posti = posti
        self.outbox = outbox

    async def start(self) -> None:
        await self.client.start()

    async def close(self) -> None:
        await self.client.close()

    async def send(self, message_id: str, payload: Letter) -> str | None:
        if not payload.personal_id or (payload.recipient.address and not payload.sender.address):
            raise PermanentFailure("suomifi-incomplete-letter")
        from channels.letter.pdf import render_pdf  # fpdf2 with the first letter (`__init__.py`)

        attachment = await asyncio.to_thread(render_pdf, payload)
        path = ""
        try:
            attachment_id = await self.client.upload(payload.filename, attachment.data)
            path, body = message_request(payload, attachment_id, service_id=self.service_id, posti=self.posti)
            return await self.client.send_message(path, body) or None
        except SuomiFiError as exc:
            if (MAILBOX_NOT_IN_USE in exc.codes and path == ELECTRONIC_PATH
                    and payload.recipient.address is not None and self.outbox is not None):
                await asyncio.to_thread(write_letter, self.outbox, payload, attachment)
                log.info("Suomi.fi mailbox not in use for %s: letter written to the outbox for posting", message_id,
                         extra={"event": "suomifi.outbox-fallback", "message_id": message_id})
                return OUTBOX_REFERENCE
            raise failure_for(exc) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise failure_for(exc) from None
