"""The staff member's signed link to a session's call list (soittolista).

An itsdangerous timed signature over the session id and the staff member's id, with its own salt
(`notifier.call-list`), keyed with `NOTIFIER_SIGNING_SECRET` like the digest's links
(`staff/links.py`): it cannot be forged or turned into another session's. The session's staff
member need not be in the staff directory (the case system names them in `kickoff.scheduled`),
so the link is bound to the session, not to a directory record. Opening it changes nothing: the
page's forms POST (mail scanners open links before people do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from itsdangerous import BadData, URLSafeTimedSerializer

if TYPE_CHECKING:
    from notifier.app.config import Settings

#: Long enough for every attempt (3 calls a working day apart, over holidays) and some slack.
CALL_LIST_MAX_AGE = 30 * 86400
_SALT = "notifier.call-list"


@dataclass(frozen=True)
class CallListClaim:
    session_id: str
    staff_id: str


class CallListLinks:
    def __init__(self, secrets: tuple[str, ...], public_url: str) -> None:
        self.public_url = public_url.rstrip("/")
        self._keys = [s.encode() for s in reversed(secrets)]  # signs with the newest, accepts all

    @classmethod
    def from_settings(cls, settings: Settings) -> CallListLinks:
        """The service's call-list links: the links in invitations and the console page that
        opens them must use the same secrets and public URL."""
        return cls(settings.signing_secrets, settings.public_url)

    @property
    def available(self) -> bool:
        return bool(self._keys)

    def token(self, session_id: str, staff_id: str) -> str:
        return str(URLSafeTimedSerializer(self._keys, salt=_SALT).dumps({"k": session_id, "s": staff_id}))

    def url(self, session_id: str, staff_id: str) -> str:
        return f"{self.public_url}/console/calls/{self.token(session_id, staff_id)}"

    def read(self, token: str) -> CallListClaim | None:
        """The claim of a valid, unexpired token, else None (never raises on bad input)."""
        if not self._keys or len(token) > 1024:
            return None
        try:
            payload = URLSafeTimedSerializer(self._keys, salt=_SALT).loads(token, max_age=CALL_LIST_MAX_AGE)
        except BadData:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("k"), str) or not isinstance(payload.get("s"), str):
            return None
        return CallListClaim(payload["k"], payload["s"])
