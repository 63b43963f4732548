"""Putting arq jobs on the queue inside our own Redis transaction.

arq's `enqueue_job` runs its own transaction. We write the same two keys it writes (the
serialised job and its place in the queue's sorted set) into the caller's MULTI instead, so that
a message record and the job that sends it are stored together or not at all: a webhook that
answered 2xx has its jobs queued, one that did not has nothing queued.
"""

from __future__ import annotations

from datetime import datetime

from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import serialize_job
from redis.asyncio.client import Pipeline

QUEUE_NAME = default_queue_name
#: arq drops a job that has not started this long after its due time.
EXPIRES_EXTRA_MS = 86_400_000


def add_job(
    pipe: Pipeline,
    function: str,
    *args: object,
    job_id: str,
    now: datetime,
    run_at: datetime | None = None,
) -> None:
    """Queue `function(*args)` to run at `run_at` (now when None) into `pipe`."""
    now_ms = int(now.timestamp() * 1000)
    score = max(now_ms, int(run_at.timestamp() * 1000)) if run_at else now_ms
    payload = serialize_job(function, args, {}, None, now_ms)
    pipe.psetex(job_key_prefix + job_id, score - now_ms + EXPIRES_EXTRA_MS, payload)
    pipe.zadd(QUEUE_NAME, {job_id: score})


def deliver_job_id(message_id: str, attempt: int = 0) -> str:
    return f"deliver:{message_id}:{attempt}"
