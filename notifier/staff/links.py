"""Signed personal links for staff: preferences, one-click unsubscribe, acknowledgements, opt-in.

Tokens are timed signatures over a small payload naming the staff id and the record's nonce (so
a link can never be turned into someone else's, and stops working when the person is deleted and
re-created). Each purpose has its own key, so an unsubscribe token is not an acknowledgement
token. Payloads hold ids only: tokens are signed, not encrypted, and URLs end up in proxy logs.
`NOTIFIER_SIGNING_SECRET` may list several secrets, newest first, so that the secret can be
rotated without breaking links already this week.

Format (`2.<payload>.<time>.<mac>`): the payload is the JSON object (compact, sorted keys) in
URL-safe base64 without padding, the time is the signing time in Unix seconds, and the MAC is
HMAC-SHA256 (the standard library's one-shot `hmac.digest`) over `2.<payload>.<time>` with the
purpose's key, HMAC-SHA256(secret, "notifier.<purpose>"), in URL-safe base64. Made so because a
digest signs seven links per person and itsdangerous took 40-80 us a link (JSON, a zlib attempt,
a key derived again and a pure-Python HMAC each time); this takes 10-15 us (issue 18). Links
signed before (itsdangerous `URLSafeTimedSerializer`, salt `notifier.<purpose>`; they never start
with `2.`) are still read, with the same lifetimes, until they run out.

Acknowledgement links are valid for `NOTIFIER_ACK_LINK_DAYS` (60 days by default: a change is
read within weeks, and a forwarded digest should not act for its reader for a year). A coordinator
can revoke every link of one person at once (`POST /api/staff/{id}/revoke-links`, or the button on
the console's staff page): the person's nonce is replaced and their link generation counted up.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from itsdangerous import BadData, URLSafeTimedSerializer

from notifier.staff.model import StaffMember

if TYPE_CHECKING:
    from notifier.app.config import Settings

PREFERENCES = "preferences"
UNSUBSCRIBE = "unsubscribe"
ACKNOWLEDGE = "acknowledge"
SUBSCRIBE = "subscribe"

#: How long a link stays valid. Digest links are kept for a good while: people read old e-mail
#: (acknowledgement links: `NOTIFIER_ACK_LINK_DAYS`, default 60 days, see `Links`).
MAX_AGE = {
    PREFERENCES: 400 * 86400,
    UNSUBSCRIBE: 400 * 86400,
    ACKNOWLEDGE: 60 * 86400,
    SUBSCRIBE: 2 * 86400,
}


#: The version prefix of the tokens signed here (an itsdangerous token starts with `ey` or `.`).
VERSION = "2."
_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinksUnavailable(RuntimeError):
    """NOTIFIER_SIGNING_SECRET is not set: personal links cannot be made or checked."""


@dataclass(frozen=True)
class StaffClaim:
    """What a valid staff token says: whose it is (and, for acknowledgements, which change)."""

    staff_id: str
    nonce: str
    change_id: str | None = None

    def matches(self, member: StaffMember | None) -> bool:
        return member is not None and member.id == self.staff_id and member.nonce == self.nonce


class Links:
    def __init__(self, secrets: tuple[str, ...], public_url: str, ack_days: float | None = None) -> None:
        self.public_url = public_url.rstrip("/")
        self._max_age = dict(MAX_AGE)
        if ack_days is not None:
            self._max_age[ACKNOWLEDGE] = int(ack_days * 86400)
        self._secrets = [s.encode() for s in secrets]  # newest first: the first one signs
        # purpose -> its key under each secret (newest first), derived once.
        self._mac_keys: dict[str, list[bytes]] = {}
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Links:
        """The links the service signs and reads, so that every page, job and digest agrees on the
        secrets, the public URL and the acknowledgement lifetime (`NOTIFIER_ACK_LINK_DAYS`)."""
        return cls(settings.signing_secrets, settings.public_url, settings.ack_link_days)

    @property
    def available(self) -> bool:
        return bool(self._secrets)

    def _require(self) -> None:
        if not self._secrets:
            raise LinksUnavailable("NOTIFIER_SIGNING_SECRET is not set")

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        """Links signed before, by itsdangerous: it signs with the last key and accepts all of them."""
        serializer = self._serializers.get(purpose)
        if serializer is None:
            self._require()
            serializer = self._serializers[purpose] = URLSafeTimedSerializer(
                self._secrets[::-1], salt=f"notifier.{purpose}")
        return serializer

    def _keys_for(self, purpose: str) -> list[bytes]:
        keys = self._mac_keys.get(purpose)
        if keys is None:
            self._require()
            label = f"notifier.{purpose}".encode()
            keys = self._mac_keys[purpose] = [hmac.digest(secret, label, "sha256") for secret in self._secrets]
        return keys

    def sign(self, purpose: str, payload: dict[str, Any], now: float | None = None) -> str:
        """A token for `purpose` over `payload`, signed at `now` (Unix seconds; default: the clock)."""
        signed = f"{VERSION}{_b64(_JSON.encode(payload).encode())}.{int(time.time() if now is None else now)}"
        return f"{signed}.{_b64(hmac.digest(self._keys_for(purpose)[0], signed.encode(), 'sha256'))}"

    def read(self, purpose: str, token: str, now: float | None = None) -> dict[str, Any] | None:
        """The payload of a valid, unexpired token for `purpose`, else None (never raises on bad input)."""
        if len(token) > 1024:
            return None
        if not token.startswith(VERSION):
            return self._read_itsdangerous(purpose, token)
        signed, _, mac = token.rpartition(".")
        body, _, signed_at = signed[len(VERSION):].partition(".")
        if not (signed_at.isascii() and signed_at.isdigit() and len(signed_at) <= 12):
            return None
        try:
            given = _unb64(mac)
            expected = [hmac.digest(key, signed.encode(), "sha256") for key in self._keys_for(purpose)]
            if not any(hmac.compare_digest(e, given) for e in expected):
                return None
            age = (time.time() if now is None else now) - int(signed_at)
            if age < 0 or age > self._max_age[purpose]:  # as itsdangerous: a token from the future is refused too
                return None
            payload = json.loads(_unb64(body))
        except (ValueError, binascii.Error, UnicodeError):
            return None
        return payload if isinstance(payload, dict) else None

    def _read_itsdangerous(self, purpose: str, token: str) -> dict[str, Any] | None:
        """A link signed before the `2.` tokens (see the module docstring)."""
        try:
            payload = self._serializer(purpose).loads(token, max_age=self._max_age[purpose])
        except BadData:
            return None
        return payload if isinstance(payload, dict) else None

    # -- staff tokens -------------------------------------------------------------------------

    def staff_token(self, purpose: str, member: StaffMember, change_id: str | None = None) -> str:
        payload: dict[str, Any] = {"s": member.id, "n": member.nonce}
        if change_id is not None:
            payload["c"] = change_id
        return self.sign(purpose, payload)

    def read_staff(self, purpose: str, token: str) -> StaffClaim | None:
        payload = self.read(purpose, token)
        if payload is None:
            return None
        staff_id, nonce, change = payload.get("s"), payload.get("n"), payload.get("c")
        if not isinstance(staff_id, str) or not isinstance(nonce, str):
            return None
        if purpose == ACKNOWLEDGE and not isinstance(change, str):
            return None
        return StaffClaim(staff_id, nonce, change if purpose == ACKNOWLEDGE else None)

    def preferences(self, member: StaffMember) -> str:
        return f"{self.public_url}/preferences/{self.staff_token(PREFERENCES, member)}"

    def unsubscribe(self, member: StaffMember) -> str:
        return f"{self.public_url}/unsubscribe/{self.staff_token(UNSUBSCRIBE, member)}"

    def acknowledge(self, member: StaffMember, change_id: str) -> str:
        return f"{self.public_url}/acknowledge/{self.staff_token(ACKNOWLEDGE, member, change_id)}"

    def confirm_subscription(self, pending_id: str) -> str:
        return f"{self.public_url}/subscribe/confirm/{self.sign(SUBSCRIBE, {'p': pending_id})}"
