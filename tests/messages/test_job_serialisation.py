"""Jobs on the queue are JSON: a pickle planted in Redis is refused by the worker and never run."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import redis as redis_sync
from arq.constants import default_queue_name, job_key_prefix

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
    r.zadd(default_queue_name, {"planted": 0})
    # The worker takes it off the queue (as undecodable) ...
    await wait_for(lambda: r.zscore(default_queue_name, "planted") is None)
    # ... and nothing in it ran.
    assert not marker.exists()
    r.close()


async def test_jobs_written_by_the_service_are_json(start_service):
    svc = await start_service(worker=False)
    status, answer = await svc.case.send("client.referred", referral("C-7101"))
    assert status == 202
    r = redis_sync.Redis.from_url(svc.settings.redis_url)
    [key] = r.keys(job_key_prefix + "*")
    job = json.loads(r.get(key))
    assert job["f"] == "deliver" and job["a"] == answer["messages"]
    r.close()
