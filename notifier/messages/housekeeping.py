"""Housekeeping jobs: the sweeper that re-queues stuck messages, and retention.

The send path never relies on these: a message and its work item are stored in one transaction
and a dead worker's items are taken over by another worker (`consumer.py`). The sweeper is the safety net for what should not happen
(a job lost with the last second of an AOF, an expired job) and runs every minute.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from notifier.messages import status as st
from notifier.messages.queue import add_job
from notifier.messages.keys import ACTIVE, SETTLED, msg_key
from notifier.messages.store import STUCK_AFTER_SECONDS, MessageStore
from notifier.clock import utcnow

log = logging.getLogger("notifier.sweeper")

SWEEP_BATCH = 500


async def sweep(redis: Redis, now: datetime | None = None) -> int:
    """Re-queue every unsettled message whose due time passed long ago; returns how many."""
    now = now or utcnow()
    now_ms = int(now.timestamp() * 1000)
    ids = [i.decode() for i in await redis.zrangebyscore(ACTIVE, "-inf", now_ms, start=0, num=SWEEP_BATCH)]
    if not ids:
        return 0
    async with redis.pipeline(transaction=False) as pipe:
        for i in ids:
            pipe.hmget(msg_key(i), "status", "lease_until")
        rows = await pipe.execute()
    requeued = 0
    async with redis.pipeline(transaction=True) as pipe:
        for message_id, (status, lease_until) in zip(ids, rows):
            status = status.decode() if status else None
            if status is None or status in st.FINAL or status == st.SENT:
                pipe.zrem(ACTIVE, message_id)
                continue
            if status == st.SENDING and lease_until and int(lease_until) > now_ms:
                continue
            add_job(pipe, "deliver", message_id, job_id=f"deliver:{message_id}:sweep:{now_ms}", now=now)
            pipe.zadd(ACTIVE, {message_id: now_ms + STUCK_AFTER_SECONDS * 1000})
            requeued += 1
        await pipe.execute()
    if requeued:
        log.warning("sweeper re-queued %d stuck message(s)", requeued)
    return requeued


async def erase_expired(store: MessageStore, retention_days: float, now: datetime | None = None, max_batches: int = 20) -> int:
    """Retention: erase the personal part of messages settled more than `retention_days` ago.

    Runs hourly in bounded batches, so that it never holds a job slot for long.
    """
    now = now or utcnow()
    cutoff_ms = int((now - timedelta(days=retention_days)).timestamp() * 1000)
    erased = 0
    for _ in range(max_batches):
        ids = [i.decode() for i in await store.redis.zrangebyscore(SETTLED, "-inf", cutoff_ms, start=0, num=SWEEP_BATCH)]
        if not ids:
            break
        for message_id in ids:
            await store.erase_personal(message_id)
        await store.redis.zrem(SETTLED, *ids)
        erased += len(ids)
    if erased:
        log.info("retention erased personal data of %d message(s)", erased)
    return erased


#: What the outbox back ends write: e-mails, SMS documents, letter PDFs and their JSON notes.
OUTBOX_SUFFIXES = (".eml", ".json", ".pdf")


def prune_outbox(outbox_dir: Path, retention_days: float, now: datetime | None = None) -> int:
    """Retention for the outbox: delete e-mails, SMS and letters written more than `retention_days` ago.

    They hold names, addresses and numbers like the records in Redis, so they go after the same
    period (by the file's modification time, i.e. when it was written). Returns how many went.
    """
    cutoff = (now or utcnow()).timestamp() - retention_days * 86400
    removed = 0
    if not outbox_dir.is_dir():
        return 0
    for root, _dirs, files in os.walk(outbox_dir):
        for name in files:
            path = Path(root) / name
            if not name.endswith(OUTBOX_SUFFIXES):
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another worker on this machine got there first
                continue
    if removed:
        log.info("retention deleted %d outbox file(s)", removed)
    return removed
