"""Work on the queues is JSON: a pickle planted in Redis (in the work stream, or in arq's cron queue)
is refused by the worker and never run."""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import redis as redis_sync
from arq.constants import default_queue_name, job_key_prefix

from notifier.messages.queue import FIELD, STREAM
from tests.support.service import referral, wait_for


class CreatesAFile:
    """Unpickling this creates a file: proof that the pickle was run."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (self.path, "w"))


async def test_worker_refuses_a_pickled_job_without_running_it(start_service, tmp_path):
    svc = await start_service()
    marker = tmp_path / "pickle-ran"
    job = {"t": 1, "f": "deliver", "a": [CreatesAFile(marker)], "k": {}, "et": 0}
    r = redis_sync.Redis.from_url(svc.settings.redis_url)
    r.psetex(job_key_prefix + "planted", 60_000, pickle.dumps(job))
    r.zadd(default_queue_name, {"planted": int(time.time() * 1000)})  # due now (arq skips a score of 0)
    # The worker takes it off the queue (as undecodable) ...
    await wait_for(lambda: r.zscore(default_queue_name, "planted") is None)
    # ... and nothing in it ran.
    assert not marker.exists()
    r.close()


async def test_worker_refuses_a_pickle_in_the_work_stream_without_running_it(start_service, tmp_path):
    svc = await start_service()
    marker = tmp_path / "pickle-ran"
    r = redis_sync.Redis.from_url(svc.settings.redis_url)
    r.xadd(STREAM, {FIELD: pickle.dumps(["planted", "deliver", [CreatesAFile(marker)]])})
    # The worker reads it, cannot decode it as JSON, and drops it ...
    await wait_for(lambda: r.xlen(STREAM) == 0)
    # ... and nothing in it ran.
    assert not marker.exists()
    r.close()


async def test_work_written_by_the_service_is_json(start_service):
    svc = await start_service(worker=False)
    status, answer = await svc.case.send("client.referred", referral("C-7101"))
    assert status == 202
    r = redis_sync.Redis.from_url(svc.settings.redis_url)
    [(_, fields)] = r.xrange(STREAM)
    job_id, function, args = json.loads(fields[FIELD])
    assert function == "deliver" and args == answer["messages"]
    r.close()
