"""Who may use the coordinators' console: one-time sign-in links, sessions and CSRF tokens.

Coordinators are the e-mail addresses in `NOTIFIER_COORDINATORS` (a setting, so that who may post
practice changes and announcements to every staff member is decided by whoever deploys the
service, not by anyone who can edit the directory). There are no passwords:

- **Sign-in link.** A coordinator types their work address; the service e-mails a link whose
  token is an itsdangerous signature (salt of its own, 15 minutes) over a random nonce. The nonce
  names a Redis record (sealed: the address and language) that expires with the link and is
  taken with GET+DEL in one transaction when the link is used, so a link works **once**. Opening
  the link only shows a button (mail scanners open links); the button's POST signs in.
- **Session.** A random id in a signed cookie (`HttpOnly`, `SameSite=Lax`, `Secure` when the
  service is on https, path `/console`), and a Redis record (sealed: address, language) that
  lasts 12 hours. Signing out deletes the record, so a copied cookie stops working with it.
  Every request checks that the address is still a coordinator.
- **CSRF.** Every form carries a token: an itsdangerous signature over the id the cookie holds
  (a session's, or before sign-in an anonymous one). A POST whose token does not belong to the
  cookie that comes with it is refused.

Layout (prefix `notifier:`):
  console:sign-in:<nonce>        sealed {email, language}; expires after 15 minutes
  console:sign-in-sent:<hash>    set for a minute after a link is asked for an address (no flooding)
  console:sign-ins:client:<hash> links asked for from one client address today (a day's window)
  console:sign-ins:email:<hash>  links asked for one typed address today
  console:session:<id>           sealed {email, language, started_at}; expires after 12 hours

**No flooding, no enumeration.** The sign-in form does the same work for any address: the same
counter writes (per client, per typed address, the one-a-minute mark) and, within the limits,
the same job on the queue holding the sealed address. Whether the address is a coordinator's is
decided by the worker that runs the job (`send_sign_in_link`), so neither the answer nor its
timing tells who is one. Over the per-client daily limit the form answers 429; over the
per-address limit (or within a minute of the previous link) it answers as usual and sends nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, URLSafeSerializer, URLSafeTimedSerializer
from redis.asyncio import Redis

from notifier.app.config import Settings
from notifier.messages.intake import Outcome, commit
from notifier.console.planning import plan_sign_in
from notifier.app.runtime import Runtime
from notifier.sealing import Sealer
from notifier.clock import utcnow
from notifier.console.keys import (
    session_key,
    sign_in_key,
    sign_in_sent_key,
    sign_ins_for_address_key,
    sign_ins_from_client_key,
)
from notifier.messages.queue import add_job

log = logging.getLogger("notifier.console")

SIGN_IN_SECONDS = 15 * 60
DAY_SECONDS = 86400
SESSION_SECONDS = 12 * 3600
RESEND_AFTER = 60
COOKIE = "notifier_console"
COOKIE_PATH = "/console"

_SIGN_IN_SALT = "notifier.console-sign-in"
_COOKIE_SALT = "notifier.console-cookie"
_CSRF_SALT = "notifier.console-csrf"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def is_coordinator(settings: Settings, email: str) -> bool:
    return normalise_email(email) in settings.coordinators


@dataclass(frozen=True)
class Visitor:
    """Who the console cookie says is here: a session id, or an anonymous id before sign-in."""

    session_id: str | None
    anonymous_id: str | None

    @property
    def bound_id(self) -> str:
        """What CSRF tokens are bound to."""
        return self.session_id or self.anonymous_id or ""


@dataclass(frozen=True)
class Coordinator:
    email: str
    language: str
    session_id: str


class ConsoleAuth:
    def __init__(self, redis: Redis, sealer: Sealer, settings: Settings) -> None:
        self.redis = redis
        self.sealer = sealer
        self.settings = settings
        # itsdangerous signs with the last key and accepts all (NOTIFIER_SIGNING_SECRET is newest first).
        self._keys = [s.encode() for s in reversed(settings.signing_secrets)]

    @classmethod
    def of(cls, rt: Runtime) -> "ConsoleAuth":
        return cls(rt.redis, rt.store.sealer, rt.settings)

    @property
    def available(self) -> bool:
        return bool(self._keys)

    def _timed(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self._keys, salt=salt)

    def _read(self, salt: str, token: str, max_age: int) -> Any:
        if not self._keys or len(token) > 512:
            return None
        try:
            return self._timed(salt).loads(token, max_age=max_age)
        except BadData:
            return None

    # -- sign-in links --------------------------------------------------------------------------

    def new_link(self) -> tuple[str, str]:
        """A fresh nonce and the URL of its signed sign-in link."""
        nonce = secrets.token_urlsafe(18)
        token = self._timed(_SIGN_IN_SALT).dumps({"n": nonce})
        return nonce, f"{self.settings.public_url}/console/sign-in/{token}"

    def stage_link(self, pipe: Any, nonce: str, email: str, language: str) -> None:
        pipe.set(sign_in_key(nonce), self.sealer.seal({"email": normalise_email(email), "language": language}),
                 ex=SIGN_IN_SECONDS)

    def link_nonce(self, token: str) -> str | None:
        """The nonce of a validly signed link younger than 15 minutes."""
        payload = self._read(_SIGN_IN_SALT, token, SIGN_IN_SECONDS)
        nonce = payload.get("n") if isinstance(payload, dict) else None
        return nonce if isinstance(nonce, str) else None

    async def peek_link(self, nonce: str) -> dict[str, str] | None:
        raw = await self.redis.get(sign_in_key(nonce))
        return self.sealer.open(raw) if raw else None

    async def use_link(self, nonce: str) -> dict[str, str] | None:
        """Take the link's record: whoever comes first gets it, everyone after gets None."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(sign_in_key(nonce))
            pipe.delete(sign_in_key(nonce))
            raw, _ = await pipe.execute()
        return self.sealer.open(raw) if raw else None

    def address_hash(self, email: str) -> str:
        return hmac.new(self._keys[-1], normalise_email(email).encode(), hashlib.sha256).hexdigest()

    # -- sessions -------------------------------------------------------------------------------

    def read_cookie(self, value: str | None) -> Visitor:
        payload = self._read(_COOKIE_SALT, value or "", SESSION_SECONDS)
        if not isinstance(payload, dict):
            return Visitor(None, None)
        sid, anon = payload.get("s"), payload.get("a")
        return Visitor(sid if isinstance(sid, str) else None, anon if isinstance(anon, str) else None)

    def anonymous_cookie(self) -> tuple[str, str]:
        anon = secrets.token_urlsafe(18)
        return anon, self._timed(_COOKIE_SALT).dumps({"a": anon})

    async def start_session(self, email: str, language: str) -> tuple[str, str]:
        """A new session (never the id the visitor had before: no session fixation)."""
        sid = secrets.token_urlsafe(24)
        record = {"email": normalise_email(email), "language": language, "started_at": utcnow().isoformat()}
        await self.redis.set(session_key(sid), self.sealer.seal(record), ex=SESSION_SECONDS)
        return sid, self._timed(_COOKIE_SALT).dumps({"s": sid})

    async def session(self, session_id: str) -> Coordinator | None:
        raw = await self.redis.get(session_key(session_id))
        if not raw:
            return None
        record = self.sealer.open(raw)
        return Coordinator(record["email"], record["language"], session_id)

    async def set_language(self, session_id: str, language: str) -> None:
        key = session_key(session_id)
        raw, ttl = await self.redis.get(key), await self.redis.ttl(key)
        if raw and ttl and ttl > 0:
            record = {**self.sealer.open(raw), "language": language}
            await self.redis.set(key, self.sealer.seal(record), ex=ttl)

    async def end_session(self, session_id: str) -> None:
        await self.redis.delete(session_key(session_id))

    # -- CSRF -----------------------------------------------------------------------------------

    def csrf_token(self, visitor: Visitor) -> str:
        return str(URLSafeSerializer(self._keys, salt=_CSRF_SALT).dumps(visitor.bound_id)) if self._keys else ""

    def csrf_ok(self, visitor: Visitor, token: str) -> bool:
        if not self._keys or not visitor.bound_id or not token or len(token) > 512:
            return False
        try:
            bound = URLSafeSerializer(self._keys, salt=_CSRF_SALT).loads(token)
        except BadData:
            return False
        return isinstance(bound, str) and hmac.compare_digest(bound, visitor.bound_id)


class TooSoon(Exception):
    """A link was asked for this address less than a minute ago: nothing is sent now."""


async def request_sign_in(rt: Runtime, email: str, language: str, client: str) -> bool:
    """Queue a sign-in link for `email` if it is a coordinator's; the same work for any address.

    `client` is the client address's keyed hash. Returns False when the client is over its daily
    limit (the caller answers 429); otherwise True, whether or not anything will be sent. Raises
    TooSoon for a second request for the same address within a minute (the page says so).
    """
    auth = ConsoleAuth.of(rt)
    address = auth.address_hash(email)
    per_client = sign_ins_from_client_key(client)
    per_address = sign_ins_for_address_key(address)
    async with rt.redis.pipeline(transaction=True) as pipe:
        pipe.set(per_client, 0, ex=DAY_SECONDS, nx=True)  # the day's window starts with the first request
        pipe.incr(per_client)
        pipe.set(per_address, 0, ex=DAY_SECONDS, nx=True)
        pipe.incr(per_address)
        pipe.set(sign_in_sent_key(address), "1", nx=True, ex=RESEND_AFTER)
        _, from_client, _, for_address, fresh = await pipe.execute()
    if int(from_client) > rt.settings.sign_in_limit_per_client:
        return False
    if not fresh:
        raise TooSoon(address)  # said on the page for any address, so it tells nothing
    if int(for_address) > rt.settings.sign_in_limit_per_address:
        return True
    sealed = rt.store.sealer.seal({"email": normalise_email(email), "language": language}).decode()
    async with rt.redis.pipeline(transaction=True) as pipe:
        add_job(pipe, "send_sign_in_link", sealed, job_id=f"console-sign-in:{secrets.token_hex(12)}", now=utcnow())
        await pipe.execute()
    return True


async def send_sign_in_link(rt: Runtime, sealed: str) -> str | None:
    """The worker's half of a sign-in request: e-mail a one-time link if the address is a coordinator's.

    Returns the message id, or None when the address is nobody's who may sign in.
    """
    record = rt.store.sealer.open(sealed.encode())
    email, language = record["email"], record["language"]
    if not is_coordinator(rt.settings, email):
        return None
    auth = ConsoleAuth.of(rt)
    nonce, url = auth.new_link()
    planned = plan_sign_in(email, language, url)

    async def decide() -> Outcome:
        return Outcome(messages=[planned], stage=lambda pipe, ids: auth.stage_link(pipe, nonce, email, language))

    answer = await commit(rt.store, decide)
    message_id: str = answer["messages"][0]
    log.info("console sign-in link queued as message %s", message_id)
    return message_id
