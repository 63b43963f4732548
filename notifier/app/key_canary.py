"""The data key canary: proof, at start and in `notifier check`, that this process's
NOTIFIER_DATA_KEY opens what the other processes store.

Web and workers seal personal data with NOTIFIER_DATA_KEY. A process given another key would
accept webhooks (web) or fail every send with a traceback (worker) while /healthz stays green.
So the first process to start seals a small value with no personal data in it under one key;
every later start (and `notifier check`) opens it, and refuses to go on naming the variable.
`notifier reseal` / key rotation: keep the old key in the list (newest first) until every
process has the new one; each start re-seals the canary with the newest key.
"""

from __future__ import annotations

from datetime import datetime, timezone

from redis.asyncio import Redis

from notifier.sealing import Sealer, SealError
from notifier.keyspace import DATA_KEY_CANARY as CANARY


class DataKeyMismatch(RuntimeError):
    """This process's NOTIFIER_DATA_KEY cannot open the data already stored."""


MISMATCH = ("NOTIFIER_DATA_KEY cannot open the data already stored in this Redis (it was sealed with another "
            "key): give every web and worker process the same NOTIFIER_DATA_KEY (`notifier secrets` makes a "
            "set; when rotating, list the new key first and keep the old one after it)")


async def probe(redis: Redis, sealer: Sealer) -> str:
    """'absent' (nothing stored yet), 'opens', or raises DataKeyMismatch. Writes nothing."""
    raw = await redis.get(CANARY)
    if raw is None:
        return "absent"
    try:
        sealer.open(raw)
    except SealError:
        raise DataKeyMismatch(MISMATCH) from None
    return "opens"


async def ensure(redis: Redis, sealer: Sealer) -> None:
    """At start: write the canary if there is none, else check (and re-seal with the newest key)."""
    if not sealer.encrypts:
        await probe(redis, sealer)  # others seal with a key this process lacks: refuse
        return
    value = {"canary": "notifier", "sealed_at": datetime.now(timezone.utc).isoformat()}
    if await redis.set(CANARY, sealer.seal(value), nx=True):
        return
    await probe(redis, sealer)
    raw = await redis.get(CANARY)
    if raw is not None:
        await redis.set(CANARY, sealer.rotate(raw), xx=True)
