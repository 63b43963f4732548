"""The staff directory: who works where, in which language, and whether they want the digest.

Layout (prefix `notifier:`):
  staff:<id>            hash: meta (JSON, no personal data: language, organisation, site, digest,
                        nonce, link_generation, times), personal (sealed JSON: name, email, phone)
  staff:all             set of staff ids
  staff:by-email        hash: keyed hash of a lower-cased address -> staff id, and `__key__`, the
                        fingerprint of the key it was built with (rebuilt when the key changes)
  staff:version         counter bumped by every change, so an index rebuild never loses one
  staff:<id>:digests    hash: ISO week -> JSON of that week's digest claim, `_cutoff` -> the end
                        of the window the person's latest digest covered (see `digest.py`)

The e-mail index lets `/subscribe` find a person without opening every sealed record; its key
comes from `NOTIFIER_SIGNING_SECRET` so that the index alone does not tell who is staff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from redis.asyncio import Redis
from redis.exceptions import WatchError

from notifier.staff.model import StaffMember
from notifier.sealing import Sealer
from notifier.clock import utcnow
from notifier.staff.contract import StaffInput
from notifier.validation import FieldError, Identifier, Invalid, validate_value
from notifier.staff.keys import (
    subscribe_recent_key,
    ALL,
    EMAIL_INDEX,
    VERSION,
    staff_key,
    digests_key,
    pending_key,
)

if TYPE_CHECKING:
    from notifier.app.runtime import Runtime

_INDEX_KEY_FIELD = "__key__"
#: Used for the e-mail index when no signing secret is set (the index is rebuilt once one is).
_FALLBACK_INDEX_KEY = b"notifier-staff-email-index"


class DuplicateEmail(Exception):
    """Another staff member already has this address."""

    def __init__(self, other_id: str) -> None:
        super().__init__(other_id)
        self.other_id = other_id


def check_staff_id(staff_id: str) -> None:
    """A staff id from a URL path: what `Identifier` allows; Invalid naming `id` otherwise."""
    validate_value(staff_id, Identifier, "id")


# -- the store ------------------------------------------------------------------------------


class StaffDirectory:
    def __init__(self, redis: Redis, sealer: Sealer, signing_secrets: tuple[str, ...] = ()) -> None:
        self.redis = redis
        self.sealer = sealer
        self._index_key = signing_secrets[0].encode() if signing_secrets else _FALLBACK_INDEX_KEY
        self._fingerprint = hmac.new(self._index_key, b"fingerprint", hashlib.sha256).hexdigest()[:16]

    @classmethod
    def of(cls, rt: Runtime) -> StaffDirectory:
        """The runtime's directory: its Redis, its data keys, and the e-mail index keyed with the
        signing secret, so every caller keys the index alike (another key rebuilds the index)."""
        return cls(rt.redis, rt.store.sealer, rt.settings.signing_secrets)

    def email_hash(self, email: str) -> str:
        return hmac.new(self._index_key, email.strip().lower().encode(), hashlib.sha256).hexdigest()

    # -- records --------------------------------------------------------------------------------

    def _encode(self, m: StaffMember, created_at: str, updated_at: str, source: str,
                link_generation: int = 0) -> dict[str, Any]:
        meta = {
            "id": m.id, "language": m.language, "organisation": m.organisation, "site": m.site,
            "digest": m.digest, "nonce": m.nonce, "created_at": created_at, "updated_at": updated_at,
            "source": source, "link_generation": link_generation,
        }
        personal = {"name": m.name, "email": m.email, "phone": m.phone}
        return {"meta": json.dumps(meta, separators=(",", ":")), "personal": self.sealer.seal(personal)}

    def _decode(self, fields: dict[bytes, bytes]) -> tuple[StaffMember, dict[str, Any]]:
        meta = json.loads(fields[b"meta"])
        personal = self.sealer.open(fields[b"personal"])
        member = StaffMember(
            id=meta["id"], name=personal["name"], email=personal["email"], language=meta["language"],
            organisation=meta["organisation"], site=meta["site"], digest=bool(meta["digest"]),
            phone=personal.get("phone"), nonce=meta["nonce"],
        )
        return member, meta

    async def get(self, staff_id: str) -> StaffMember | None:
        fields = await self.redis.hgetall(staff_key(staff_id))
        return self._decode(fields)[0] if fields else None

    async def ids(self) -> list[str]:
        return sorted(i.decode() for i in await self.redis.smembers(ALL))

    async def get_many(self, ids: list[str]) -> list[StaffMember]:
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hgetall(staff_key(i))
            rows = await pipe.execute()
        return [self._decode(f)[0] for f in rows if f]

    async def all(self) -> list[StaffMember]:
        return await self.get_many(await self.ids())

    async def _metas(self, ids: list[str]) -> dict[str, dict]:
        """Each known person's clear metadata (no sealed data opened), in one round trip."""
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.hget(staff_key(i), "meta")
            rows = await pipe.execute()
        return {i: json.loads(raw) for i, raw in zip(ids, rows) if raw}

    async def digest_flags(self, ids: list[str]) -> dict[str, bool]:
        """Whether each person wants the digest, without opening sealed data (for the fan-out)."""
        return {i: bool(meta["digest"]) for i, meta in (await self._metas(ids)).items()}

    async def sites(self, ids: list[str]) -> dict[str, str]:
        """Each known person's site, without opening sealed data (the coaching figures per site)."""
        return {i: meta["site"] for i, meta in (await self._metas(ids)).items()}

    async def codes(self) -> tuple[list[str], list[str]]:
        """The organisations and sites in use (for the self-service form), without opening sealed data."""
        rows = (await self._metas(await self.ids())).values()
        return sorted({m["organisation"] for m in rows}), sorted({m["site"] for m in rows})

    async def codes_by_source(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """Organisation and site codes in use -> the sources ("api", "console", "self") of the
        records using them, without opening sealed data (for the choice list and `notifier check`)."""
        organisations: dict[str, set[str]] = {}
        sites: dict[str, set[str]] = {}
        for m in (await self._metas(await self.ids())).values():
            organisations.setdefault(m["organisation"], set()).add(m.get("source", "api"))
            sites.setdefault(m["site"], set()).add(m.get("source", "api"))
        return organisations, sites

    # -- writing ------------------------------------------------------------------------------

    async def save(self, staff_id: str, data: StaffInput, *, source: str = "api") -> tuple[StaffMember, bool]:
        """Create or update a person; returns (member, created). Raises DuplicateEmail."""
        await self.ensure_index()
        key = staff_key(staff_id)
        new_hash = self.email_hash(data.email)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key, EMAIL_INDEX)
                fields = await pipe.hgetall(key)
                owner = await pipe.hget(EMAIL_INDEX, new_hash)
                if owner is not None and owner.decode() != staff_id:
                    await pipe.reset()
                    raise DuplicateEmail(owner.decode())
                now = utcnow().isoformat()
                generation = 0
                if fields:
                    old, meta = self._decode(fields)
                    created_at, nonce, digest = meta["created_at"], old.nonce, old.digest
                    generation = int(meta.get("link_generation", 0))
                    old_hash = self.email_hash(old.email)
                else:
                    created_at, nonce, digest, old_hash = now, secrets.token_hex(8), True, None
                member = StaffMember(
                    id=staff_id, name=data.name, email=data.email, language=data.language,
                    organisation=data.organisation, site=data.site,
                    digest=digest if data.digest is None else data.digest, phone=data.phone, nonce=nonce,
                )
                pipe.multi()
                pipe.hset(key, mapping=self._encode(member, created_at, now, source, generation))
                pipe.sadd(ALL, staff_id)
                if old_hash and old_hash != new_hash:
                    pipe.hdel(EMAIL_INDEX, old_hash)
                pipe.hset(EMAIL_INDEX, new_hash, staff_id)
                pipe.incr(VERSION)
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return member, not fields

    async def update_choices(self, staff_id: str, nonce: str, *, language: str | None = None, digest: bool | None = None) -> StaffMember | None:
        """A person's own choices from the self-service pages; None if the record is gone or new."""
        def edit(meta: dict[str, Any]) -> bool:
            if meta["nonce"] != nonce:
                return False
            if language is not None:
                meta["language"] = language
            if digest is not None:
                meta["digest"] = digest
            return True

        edited = await self._edit_meta(staff_id, edit, new_version=False)
        if edited is None:
            return None
        fields, meta = edited
        return replace(self._decode(fields)[0], language=meta["language"], digest=bool(meta["digest"]))

    async def revoke_links(self, staff_id: str) -> int | None:
        """Make every personal link of this person stop working; returns the new link generation.

        Each link names the record's nonce, so a new nonce revokes them all at once (preferences,
        unsubscribe, acknowledgements); the generation counts how often that was done. None: no
        such person.
        """
        def edit(meta: dict[str, Any]) -> bool:
            meta["nonce"] = secrets.token_hex(8)
            meta["link_generation"] = int(meta.get("link_generation", 0)) + 1
            return True

        edited = await self._edit_meta(staff_id, edit, new_version=True)
        return None if edited is None else int(edited[1]["link_generation"])

    async def _edit_meta(self, staff_id: str, edit: Callable[[dict[str, Any]], bool], *,
                         new_version: bool) -> tuple[dict[bytes, bytes], dict[str, Any]] | None:
        """Change a record's clear metadata under WATCH, again if someone wrote it meanwhile.

        `edit` changes the metadata in place, or returns False to leave the record as it is.
        Returns the record as it was read (its sealed part unopened: `_decode` it when needed) and
        the metadata as written; None when there is no record or `edit` declined. `new_version`: the directory's version moves too (what the
        fan-out and the e-mail index read).
        """
        key = staff_key(staff_id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                fields = await pipe.hgetall(key)
                if not fields:
                    await pipe.reset()
                    return None
                meta = json.loads(fields[b"meta"])
                if not edit(meta):
                    await pipe.reset()
                    return None
                meta["updated_at"] = utcnow().isoformat()
                pipe.multi()
                pipe.hset(key, "meta", json.dumps(meta, separators=(",", ":")))
                if new_version:
                    pipe.incr(VERSION)
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return fields, meta

    async def delete(self, staff_id: str) -> bool:
        key = staff_key(staff_id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(key)
                fields = await pipe.hgetall(key)
                if not fields:
                    await pipe.reset()
                    return False
                member, _ = self._decode(fields)
                pipe.multi()
                pipe.delete(key, digests_key(staff_id))
                pipe.srem(ALL, staff_id)
                pipe.hdel(EMAIL_INDEX, self.email_hash(member.email))
                pipe.incr(VERSION)
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return True

    # -- the e-mail index -----------------------------------------------------------------------

    async def find_by_email(self, email: str) -> StaffMember | None:
        await self.ensure_index()
        staff_id = await self.redis.hget(EMAIL_INDEX, self.email_hash(email))
        if staff_id is None:
            return None
        member = await self.get(staff_id.decode())
        return member if member and member.email.strip().lower() == email.strip().lower() else None

    async def ensure_index(self) -> None:
        """Rebuild the e-mail index if it was built with another key (the secret was rotated)."""
        current = await self.redis.hget(EMAIL_INDEX, _INDEX_KEY_FIELD)
        if current is not None and current.decode() == self._fingerprint:
            return
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.watch(VERSION)
                ids = sorted(i.decode() for i in await pipe.smembers(ALL))
                mapping = {_INDEX_KEY_FIELD: self._fingerprint}
                for staff_id in ids:
                    fields = await pipe.hgetall(staff_key(staff_id))
                    if fields:
                        mapping[self.email_hash(self._decode(fields)[0].email)] = staff_id
                pipe.multi()
                pipe.delete(EMAIL_INDEX)
                pipe.hset(EMAIL_INDEX, mapping=mapping)
                try:
                    await pipe.execute()
                except WatchError:
                    continue
                return


# -- subscriptions waiting for confirmation (double opt-in) -------------------------------------

PENDING_TTL = 2 * 86400
#: One confirmation e-mail per address per this many seconds, whatever is typed into /subscribe.
RESEND_AFTER = 600


def stage_pending(pipe: Any, sealer: Sealer, pending_id: str, email: str, language: str) -> None:
    pipe.set(pending_key(pending_id), sealer.seal({"email": email, "language": language}), ex=PENDING_TTL)


async def read_pending(redis: Redis, sealer: Sealer, pending_id: str) -> dict[str, str] | None:
    raw = await redis.get(pending_key(pending_id))
    return sealer.open(raw) if raw else None


async def may_send_confirmation(directory: "StaffDirectory", email: str) -> bool:
    """True at most once per RESEND_AFTER per address (so /subscribe cannot be used to flood one)."""
    key = subscribe_recent_key(directory.email_hash(email))
    return bool(await directory.redis.set(key, "1", nx=True, ex=RESEND_AFTER))


def known_codes(organisations: dict[str, set[str]], sites: dict[str, set[str]], configured_organisations,
                configured_sites) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """The codes self-subscribers may choose: the configured ones and those coordinators (API or
    console) use. Codes only self-subscribers brought in are strays, not choices."""
    def known(used: dict[str, set[str]], configured) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(set(configured) | {code for code, sources in used.items() if sources - {"self"}})
    return known(organisations, configured_organisations), known(sites, configured_sites)


def new_staff_id() -> str:
    """Ids for people who subscribed themselves (coordinators choose their own ids)."""
    return f"self-{secrets.token_hex(6)}"


def duplicate_error(other_id: str) -> Invalid:
    return Invalid([FieldError("email", f"already used by staff member {other_id}")])
