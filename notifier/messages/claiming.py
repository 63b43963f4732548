"""Claiming jobs from the queue in batches: arq's worker with one Redis call per batch.

arq's `Worker.start_jobs` claims the jobs it read from the queue one after another, each with
four round trips (WATCH the in-progress key, EXISTS, ZSCORE, MULTI/PSETEX/EXEC). Two workers
read the same head of the queue, so they race for every job and spend those round trips on jobs
the other one already took. On the benchmark's 5,000-referral burst that was a third of a
worker's Redis traffic (see `bench/README.md`).

`BatchClaimWorker` makes the same checks and writes the same in-progress key as arq (a job is
started only if it is due by now and no worker has it in progress), atomically in one Lua
script, for as many due jobs as the worker has free slots. While jobs keep coming it keeps
claiming as slots free up instead of sleeping `poll_delay` between polls. Running a job, retries,
timeouts, results, cron and aborts are arq's own code, unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq import Worker
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms

# KEYS[1] the queue; ARGV: now (ms), most jobs to claim, most due jobs to look at,
# in-progress TTL (ms), in-progress key prefix. Returns [job_id, score, job_id, score, ...].
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local want = tonumber(ARGV[2])
local out = {}
for i = 1, #due, 2 do
  if #out >= 2 * want then break end
  local key = ARGV[5] .. due[i]
  if redis.call('EXISTS', key) == 0 then
    redis.call('PSETEX', key, ARGV[4], '1')
    out[#out + 1] = due[i]
    out[#out + 1] = due[i + 1]
  end
end
return out
"""


class BatchClaimWorker(Worker):
    """An arq `Worker` that claims due jobs in batches (see the module docstring)."""

    #: Longest one poll keeps claiming before arq's housekeeping (cron, health, aborts) runs.
    MAX_CLAIMING_SECONDS = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slot_freed = asyncio.Event()
        self._claim_script: Any = None

    async def _poll_iteration(self) -> None:
        count = self.queue_read_limit
        if self.burst and self.max_burst_jobs >= 0:
            remaining = self.max_burst_jobs - self._jobs_started()
            if remaining < 1:
                return
            count = min(remaining, count)
        if self.allow_pick_jobs:
            await self._claim_and_start(count)
        if self.allow_abort_jobs:
            await self._cancel_aborted_jobs()
        for job_id, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[job_id]
                task.result()  # as arq does: errors in run_job surface here
        await self.heart_beat()

    async def _claim_and_start(self, count: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.MAX_CLAIMING_SECONDS
        while self.allow_pick_jobs and count > 0:
            free = self.max_jobs - self.job_counter
            if free <= 0:
                self._slot_freed.clear()
                wait = deadline - loop.time()
                if wait <= 0:
                    return
                try:
                    await asyncio.wait_for(self._slot_freed.wait(), wait)
                except asyncio.TimeoutError:
                    return
                await asyncio.sleep(0)  # let jobs finishing in the same tick free their slots too
                continue
            want = min(free, count)
            claimed = await self._claim(want)
            for job_id, score in claimed:
                await self.sem.acquire()  # never waits: fewer than max_jobs are running
                self.job_counter += 1
                task = loop.create_task(self.run_job(job_id, score))
                task.add_done_callback(self._job_done)
                self.tasks[job_id] = task
            if self.burst:
                count -= len(claimed)
            if len(claimed) < want or loop.time() >= deadline:
                return  # the queue has nothing more that is due, for now

    def _job_done(self, _task: asyncio.Task[Any]) -> None:
        self._release_sem_dec_counter_on_complete()
        self._slot_freed.set()

    async def _claim(self, want: int) -> list[tuple[str, int]]:
        if self._claim_script is None:
            self._claim_script = self.pool.register_script(_CLAIM)
        look_at = max(self.queue_read_limit, 4 * want)
        raw = await self._claim_script(
            keys=[self.queue_name],
            args=[timestamp_ms(), want, look_at, int(self.in_progress_timeout_s * 1000), in_progress_key_prefix],
        )
        return [(raw[i].decode(), int(float(raw[i + 1]))) for i in range(0, len(raw), 2)]
