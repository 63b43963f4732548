"""The work queue: a Redis stream read by one consumer group, and a sorted set of later work.

Why not arq for sends (issue 18, measured in `bench/README.md`): a message, the work that sends
it and the webhook's answer must be stored in ONE Redis transaction (`intake.py`), and arq's
public `enqueue_job` runs a transaction of its own; writing arq's private key format into ours
tied us to one arq release, and arq's per-job bookkeeping (job key, in-progress key, retry
counter, result, up to nine round trips a job) was the largest part of a worker's Redis work.
So the send path (and the digest fan-out) uses plain Redis commands:

  notifier:work        a stream; one entry per piece of work due now: `job` = JSON
                       `[job_id, function, [args...]]` (JSON only: nothing is ever unpickled)
  notifier:work:due    a sorted set of the same JSON, scored by due time (ms): retries,
                       `send_at`, rate-limited sends. Workers move what is due onto the stream
                       in one Lua script (`PROMOTE`), so each due item is moved exactly once.

Workers read the stream in the consumer group `workers` (`XREADGROUP ... COUNT n`), acknowledge
and delete an entry once its work has settled (`XACK` + `XDEL`, pipelined), and take over the
entries a dead worker read but never acknowledged (`XAUTOCLAIM` after the lease time): see
`notifier/messages/consumer.py`. The message's own status (a compare-and-set with a lease,
`store.py`) stays what makes a send happen at most once at a time; the queue only says when to
look at a message. arq is still used, through its public API, for cron work (`app/worker.py`).
"""

from __future__ import annotations

import json

from arq.constants import default_queue_name

import msgspec
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from notifier.messages.keys import WORK_DUE, WORK_GROUP, WORK_STREAM

STREAM = WORK_STREAM
DUE = WORK_DUE
GROUP = WORK_GROUP
#: The field of a stream entry that holds the work.
FIELD = b"job"

#: KEYS: due set, stream. ARGV: now (ms), most items to move. Returns how many moved.
PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, item in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', item)
  redis.call('ZREM', KEYS[1], item)
end
return #due
"""


def encode(job_id: str, function: str, args: tuple[Any, ...] | list[Any]) -> str:
    return msgspec.json.encode([job_id, function, list(args)]).decode()


def decode(raw: bytes | str) -> tuple[str, str, list[Any]]:
    """(job id, function, args) of a queued item; ValueError when it is not one."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ValueError("not JSON") from exc
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[1], str) and isinstance(value[2], list)):
        raise ValueError("not a queued job")
    return str(value[0]), value[1], value[2]


def add_job(
    pipe: Pipeline,
    function: str,
    *args: object,
    job_id: str,
    now: datetime,
    run_at: datetime | None = None,
) -> None:
    """Queue `function(*args)` to run at `run_at` (now when None) into the caller's `pipe`.

    A later item with the same `job_id` and arguments replaces the earlier one's due time.
    """
    item = encode(job_id, function, args)
    if run_at is None or run_at <= now:
        pipe.xadd(STREAM, {FIELD: item})
    else:
        pipe.zadd(DUE, {item: int(run_at.timestamp() * 1000)})


def deliver_job_id(message_id: str, attempt: int = 0) -> str:
    return f"deliver:{message_id}:{attempt}"


async def queued(redis: Redis) -> list[tuple[str, str, list[Any]]]:
    """Everything queued and not yet done, due now or later: (job id, function, args) each.

    For tests and operators; a worker never scans the queue.
    """
    entries = await redis.xrange(STREAM)
    later = await redis.zrange(DUE, 0, -1)
    return [decode(fields[FIELD]) for _id, fields in entries] + [decode(item) for item in later]


async def queue_length(redis: Redis) -> int:
    """How many pieces of work are queued (due now, in progress, or later)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xlen(STREAM)
        pipe.zcard(DUE)
        stream, due = await pipe.execute()
    return int(stream) + int(due)


#: arq's own queue: only the cron jobs (`app/worker.py`) go there.
QUEUE_NAME = default_queue_name


def job_serializer(job: dict[str, Any]) -> bytes:
    """arq's job (and result) dictionary as JSON, for the cron jobs arq still runs (a result JSON
    cannot hold, an exception, as its text): arq's default is pickle, and a worker that unpickles
    what it reads from Redis runs whatever anyone with write access to Redis put there."""
    return json.dumps(job, separators=(",", ":"), default=str).encode()


def job_deserializer(raw: bytes) -> dict[str, Any]:
    """The inverse of `job_serializer`; anything but a JSON object (a pickle, say) raises, so arq
    drops the job as undecodable and never runs it."""
    job = json.loads(raw)
    if not isinstance(job, dict):
        raise ValueError("a job must be a JSON object")
    return job
