"""`notifier reseal`: re-seal every sealed value in Redis with the newest data key.

Key rotation (README "Rotating the data key"): put the new key first in `NOTIFIER_DATA_KEY`
(`<new>,<old>`), restart the service, run `notifier reseal`, then drop the old key. Staff records
never expire and sessions live 180 days, so waiting for retention would never retire a key.

What is sealed is found by its shape, not by a list of key layouts: every string, hash field and
list item under `notifier:` that is a Fernet token (`gAAAAA…`) or a plain record (`plain:…`) is
opened and sealed again with the newest key, so message records, kickoff sessions, call prompts
and their notes, staff records, pending sign-ups, console sign-in links and sessions, and whatever
is sealed next are all covered. Plain records (written before a key was set) are sealed too.

- **In batches, while the service runs**: keys are walked with SCAN (`--batch` at a time); each
  value is replaced by a compare-and-set script (only if it is still the value read, keeping its
  expiry), so a record changed meanwhile is left as the service wrote it, i.e. with the new key.
- **Resumable**: the SCAN cursor is kept in `notifier:reseal:cursor` after every batch; a run
  that is stopped continues where it stopped. Values already sealed with the newest key are
  skipped, so running it again is cheap and harmless.
- Without `REDIS_URL` (or sentinels) it starts the embedded Redis of `NOTIFIER_DATA_DIR`, so
  stop `notifier run` first.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass

from redis.asyncio import Redis

from notifier.app.config import Settings
from notifier.app.progress import Progress
from notifier.sealing import PLAIN_PREFIX, SealError, Sealer
from notifier.keyspace import PREFIX, RESEAL_CURSOR as CURSOR_KEY

log = logging.getLogger("notifier.reseal")

#: A Fernet token: version byte 0x80 and a 64-bit timestamp, url-safe base64.
FERNET_PREFIX = b"gAAAAA"

# KEYS[1] the key; ARGV: kind (string | hash | list), field or index, the value read, the new value.
_SWAP = """
local kind, where, old, new = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if kind == 'string' then
  if redis.call('GET', KEYS[1]) == old then redis.call('SET', KEYS[1], new, 'KEEPTTL') return 1 end
elseif kind == 'hash' then
  if redis.call('HGET', KEYS[1], where) == old then redis.call('HSET', KEYS[1], where, new) return 1 end
elseif kind == 'list' then
  if redis.call('LINDEX', KEYS[1], tonumber(where)) == old then redis.call('LSET', KEYS[1], tonumber(where), new) return 1 end
end
return 0
"""


@dataclass
class ResealReport:
    keys: int = 0  # keys looked at
    resealed: int = 0  # values sealed again with the newest key (plain ones included)
    plain: int = 0  # of which were plain records
    current: int = 0  # already sealed with the newest key
    changed: int = 0  # changed by the service while we worked (left as it wrote them)
    unreadable: int = 0  # no key in NOTIFIER_DATA_KEY opens them
    complete: bool = False

    def summary(self) -> str:
        text = (f"reseal: {self.keys} key(s) looked at; {self.resealed} value(s) sealed with the newest key "
                f"({self.plain} of them were plain), {self.current} already were")
        if self.changed:
            text += f", {self.changed} changed meanwhile (already written with the newest key)"
        if self.unreadable:
            text += f"; {self.unreadable} value(s) no key in NOTIFIER_DATA_KEY opens"
        if not self.complete:
            text += "; not finished: run it again to continue"
        return text


def looks_sealed(value: bytes) -> bool:
    return value.startswith(FERNET_PREFIX) or value.startswith(PLAIN_PREFIX)


async def _values(redis: Redis, keys: list[bytes]) -> list[tuple[bytes, str, str, bytes]]:
    """(key, kind, field or index, value) of every string, hash field and list item among `keys`."""
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.type(key)
        kinds = [k.decode() if isinstance(k, bytes) else k for k in await pipe.execute()]
    readable = [(key, kind) for key, kind in zip(keys, kinds) if kind in ("string", "hash", "list")]
    async with redis.pipeline(transaction=False) as pipe:
        for key, kind in readable:
            if kind == "string":
                pipe.get(key)
            elif kind == "hash":
                pipe.hgetall(key)
            else:
                pipe.lrange(key, 0, -1)
        contents = await pipe.execute()
    out: list[tuple[bytes, str, str, bytes]] = []
    for (key, kind), content in zip(readable, contents):
        if content is None:
            continue
        if kind == "string":
            out.append((key, kind, "", content))
        elif kind == "hash":
            out += [(key, kind, f.decode(), v) for f, v in content.items()]
        else:
            out += [(key, kind, str(i), v) for i, v in enumerate(content)]
    return out


async def reseal(redis: Redis, sealer: Sealer, *, batch: int = 500, max_batches: int | None = None,
                 progress: Progress | None = None) -> ResealReport:
    """Re-seal everything under `notifier:` with `sealer`'s newest key, from the saved cursor on."""
    report = ResealReport()
    swap = redis.register_script(_SWAP)
    cursor = int(await redis.get(CURSOR_KEY) or 0)
    total = int(await redis.dbsize())
    batches = 0
    while True:
        cursor, keys = await redis.scan(cursor, match=f"{PREFIX}*", count=batch)
        keys = [k for k in keys if k != CURSOR_KEY.encode()]
        report.keys += len(keys)
        for key, kind, where, value in await _values(redis, keys):
            if not looks_sealed(value):
                continue
            if sealer.is_current(value):
                report.current += 1
                continue
            try:
                new = sealer.rotate(value)
            except SealError:
                report.unreadable += 1
                log.error("reseal: a value in %s cannot be opened with any key in NOTIFIER_DATA_KEY", key.decode())
                continue
            if await swap(keys=[key], args=[kind, where, value, new]):
                report.resealed += 1
                report.plain += value.startswith(PLAIN_PREFIX)
            else:
                report.changed += 1
        batches += 1
        if cursor == 0:
            await redis.delete(CURSOR_KEY)
            report.complete = True
        else:
            await redis.set(CURSOR_KEY, cursor)
        if progress is not None:
            progress.update(min(report.keys, total) if not report.complete else total, total,
                            f"sealed {report.resealed}, already {report.current}")
        if report.complete or (max_batches is not None and batches >= max_batches):
            break
    if progress is not None:
        progress.finish()
    return report


async def run(settings: Settings, batch: int) -> int:
    """`notifier reseal` against REDIS_URL (or the sentinels): exit status 0 when everything opens."""
    from notifier.app.connection import redis_client

    redis = redis_client(settings)
    try:
        report = await reseal(redis, Sealer(settings.data_keys, accept_plain=True), batch=batch,
                              progress=Progress("reseal"))
    finally:
        await redis.aclose()
    print(report.summary(), flush=True)
    return 1 if report.unreadable or not report.complete else 0


def main(settings: Settings, batch: int = 500) -> int:
    if not settings.data_keys:
        print("notifier reseal: NOTIFIER_DATA_KEY is not set (the newest key first, then the old ones)",
              file=sys.stderr, flush=True)
        return 2
    if settings.has_redis:
        return asyncio.run(run(settings, batch))
    from notifier.app.local_secrets import redis_password
    from notifier.app.embedded_redis import EmbeddedRedis

    if not (settings.data_dir / "redis").is_dir():
        print(f"notifier reseal: no REDIS_URL and no embedded Redis data in {settings.data_dir / 'redis'}",
              file=sys.stderr, flush=True)
        return 2
    embedded = EmbeddedRedis(settings.data_dir, password=redis_password(settings.data_dir))
    try:
        return asyncio.run(run(settings.with_(redis_url=embedded.start()), batch))
    finally:
        embedded.stop()
