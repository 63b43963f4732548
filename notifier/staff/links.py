"""Signed personal links for staff: preferences, one-click unsubscribe, acknowledgements, opt-in.

Tokens are itsdangerous timed signatures over a small payload naming the staff id and the
record's nonce (so a link can never be turned into someone else's, and stops working when the
person is deleted and re-created). Each purpose has its own salt, so an unsubscribe token is not
an acknowledgement token. Payloads hold ids only: tokens are signed, not encrypted, and URLs end
up in proxy logs. `NOTIFIER_SIGNING_SECRET` may list several secrets, newest first, so that the
secret can be rotated without breaking links already this week.

Acknowledgement links are valid for `NOTIFIER_ACK_LINK_DAYS` (60 days by default: a change is
read within weeks, and a forwarded digest should not act for its reader for a year). A coordinator
can revoke every link of one person at once (`POST /api/staff/{id}/revoke-links`, or the button on
the console's staff page): the person's nonce is replaced and their link generation counted up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

from notifier.staff.model import StaffMember

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
        # itsdangerous signs with the last key and accepts all of them.
        self._keys = [s.encode() for s in reversed(secrets)]
        # One serializer per purpose, made once: a digest signs several links per person.
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    @property
    def available(self) -> bool:
        return bool(self._keys)

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            if not self._keys:
                raise LinksUnavailable("NOTIFIER_SIGNING_SECRET is not set")
            serializer = self._serializers[purpose] = URLSafeTimedSerializer(self._keys, salt=f"notifier.{purpose}")
        return serializer

    def sign(self, purpose: str, payload: dict[str, Any]) -> str:
        return str(self._serializer(purpose).dumps(payload))

    def read(self, purpose: str, token: str) -> dict[str, Any] | None:
        """The payload of a valid, unexpired token for `purpose`, else None (never raises on bad input)."""
        if len(token) > 1024:
            return None
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
