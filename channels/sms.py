"""SMS: counting parts, the payload, and two backends that carry it (outbox, GatewayAPI).

`count_parts` is the one place that decides an SMS's encoding and how many parts it costs. The
composer counts the exact body it hands over, and nothing here rewrites it: the body sent is the
body counted (a `š` or a typographic dash makes the whole message UCS-2; we do not swap it for
something else behind the writer's back).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from channels.base import PermanentFailure, TemporaryFailure
from channels.outbox import OutboxChannel, write_atomic

log = logging.getLogger("channels.sms")

GSM7 = "GSM-7"
UCS2 = "UCS-2"

#: The GSM 03.38 default alphabet (one septet each). ESC (0x1B) is not a character of its own.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: each costs two septets (ESC + the character).
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")

SINGLE = {GSM7: 160, UCS2: 70}
PER_PART = {GSM7: 153, UCS2: 67}  # the rest of a part is the concatenation header
#: Longest SMS we hand to a gateway, in parts; longer text is refused before it is accepted.
MAX_PARTS = 10


def _units(text: str) -> tuple[str, list[int]]:
    """The encoding and the size of each indivisible unit (a character or a surrogate pair)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text):
        return GSM7, [2 if c in GSM7_EXTENDED else 1 for c in text]
    # UCS-2 counts UTF-16 code units: a character outside the BMP (an emoji) takes two, and
    # the two halves of a surrogate pair must stay in the same part.
    return UCS2, [2 if ord(c) > 0xFFFF else 1 for c in text]


def count_parts(text: str) -> tuple[str, int]:
    """`("GSM-7" | "UCS-2", parts)` for `text` exactly as given.

    GSM-7: 160 septets in one part, else 153 per part; extension characters (`€ ^ { } [ ] ~ | \\`)
    take two septets and an escape pair is never split between parts. UCS-2: 70 UTF-16 code units
    in one part, else 67 per part, surrogate pairs never split. An empty text is one (empty) part.
    """
    encoding, units = _units(text)
    if sum(units) <= SINGLE[encoding]:
        return encoding, 1
    limit = PER_PART[encoding]
    parts, used = 1, 0
    for size in units:
        if used + size > limit:
            parts, used = parts + 1, 0
        used += size
    return encoding, parts


@dataclass(frozen=True)
class OutgoingSms:
    """One SMS as handed to a backend: `to` is E.164, `body` is sent exactly as counted."""

    to: str
    sender: str
    body: str
    encoding: str
    segments: int


class OutboxSms(OutboxChannel):
    """Writes each SMS to `<dir>/<message_id>.json` (atomically), as the gateway would get it."""

    name = "sms"

    async def send(self, message_id: str, payload: OutgoingSms) -> str | None:
        document = {"message_id": message_id, **asdict(payload)}
        data = json.dumps(document, ensure_ascii=False, indent=2).encode()
        await asyncio.to_thread(write_atomic, self.directory / f"{message_id}.json", data)
        return None



class GatewayApiSms:
    """GatewayAPI's REST API (`POST /rest/mtsms`), one HTTP session per worker, kept open.

    5xx, 429, timeouts and connection trouble are temporary (retried). 401 and 403 are the
    account's (a wrong or revoked token, no credit, a blocked account), not the message's: temporary
    too, with an alert log line (`gatewayapi.account-refused`), so that messages wait while someone
    fixes it. Any other 4xx is permanent. Our message id travels as `userref` and comes back in delivery reports, which the
    gateway posts to `callback_url` (see `notifier/web/sms_status.py`).
    """

    name = "sms"

    def __init__(self, base_url: str, token: str, *, callback_url: str | None = None, timeout: float = 30.0) -> None:
        self.url = base_url.rstrip("/") + "/rest/mtsms"
        self.token = token
        self.callback_url = callback_url
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout, connect=min(10.0, self.timeout)),
            headers={"Authorization": f"Token {self.token}", "Accept": "application/json"},
        )
        if not self.callback_url:
            log.warning("NOTIFIER_SMS_CALLBACK_TOKEN is not set: SMS delivery reports are not requested")

    async def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    def request_body(self, message_id: str, payload: OutgoingSms) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sender": payload.sender,
            "message": payload.body,
            "recipients": [{"msisdn": int(payload.to.lstrip("+"))}],
            "userref": message_id,
        }
        if payload.encoding == UCS2:
            body["encoding"] = "UCS2"  # else the gateway would transcode to GSM-7 and lose characters
        if self.callback_url:
            body["callback_url"] = self.callback_url
        return body

    async def send(self, message_id: str, payload: OutgoingSms) -> str | None:
        if self._http is None:
            raise TemporaryFailure("gatewayapi-not-started")
        try:
            async with self._http.post(self.url, json=self.request_body(message_id, payload)) as resp:
                status = resp.status
                text = await resp.text() if status < 300 else ""
        except (aiohttp.ClientError, asyncio.TimeoutError, UnicodeDecodeError) as exc:
            raise TemporaryFailure(f"gatewayapi-{type(exc).__name__}") from None
        if status == 429 or status >= 500:
            raise TemporaryFailure(f"gatewayapi-{status}")
        if status in (401, 403):
            log.error("GatewayAPI refused the request with HTTP %s: check NOTIFIER_SMS_TOKEN and the account "
                      "(credit, status); SMS wait and are retried", status,
                      extra={"event": "gatewayapi.account-refused", "answer": str(status)})
            raise TemporaryFailure(f"gatewayapi-{status}")
        if status >= 400:
            raise PermanentFailure(f"gatewayapi-{status}")
        if status >= 300:
            raise TemporaryFailure(f"gatewayapi-{status}")
        return _first_id(text)


def _first_id(text: str) -> str | None:
    """The gateway's id for the message (`{"ids": [123]}`); the send succeeded either way."""
    try:
        ids = json.loads(text).get("ids")
    except (ValueError, AttributeError):
        return None
    return str(ids[0]) if isinstance(ids, list) and ids else None
