"""Putting arq jobs on the queue inside our own Redis transaction.

arq's `enqueue_job` runs its own transaction. We write the same two keys it writes (the
serialised job and its place in the queue's sorted set) into the caller's MULTI instead, so that
a message record and the job that sends it are stored together or not at all: a webhook that
answered 2xx has its jobs queued, one that did not has nothing queued.

Jobs are JSON, never arq's default pickle: a worker that unpickles what it reads from Redis runs
whatever anyone with write access to Redis put there. `job_serializer`/`job_deserializer` are
handed to arq's worker and pool (public parameters), so a job that is not JSON is refused by
arq as undecodable and never run.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from arq.constants import default_queue_name, job_key_prefix
from arq.jobs import serialize_job
from redis.asyncio.client import Pipeline

QUEUE_NAME = default_queue_name
#: arq drops a job that has not started this long after its due time.
EXPIRES_EXTRA_MS = 86_400_000


def job_serializer(job: dict[str, Any]) -> bytes:
    """arq's job (and result) dictionary as JSON (a result JSON cannot hold, an exception, as its text)."""
    return json.dumps(job, separators=(",", ":"), default=str).encode()


def job_deserializer(raw: bytes) -> dict[str, Any]:
    """The inverse of `job_serializer`; anything but a JSON object (a pickle, say) raises."""
    job = json.loads(raw)
    if not isinstance(job, dict):
        raise ValueError("a job must be a JSON object")
    return job


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
    payload = serialize_job(function, args, {}, None, now_ms, serializer=job_serializer)
    pipe.psetex(job_key_prefix + job_id, score - now_ms + EXPIRES_EXTRA_MS, payload)
    pipe.zadd(QUEUE_NAME, {job_id: score})


def deliver_job_id(message_id: str, attempt: int = 0) -> str:
    return f"deliver:{message_id}:{attempt}"
