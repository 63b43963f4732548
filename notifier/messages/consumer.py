"""The workers' side of the work queue (`queue.py`): a Redis Streams consumer group.

Each worker process is one consumer of the group `workers`. It reads as many entries as it has
free slots (`XREADGROUP ... COUNT n`), hands them to the handler of their function in batches
(a send batch claims its messages in one round trip: `Deliverer.deliver_many`), and
acknowledges and deletes the settled entries in one pipeline (`XACK` + `XDEL`).

What the consumer group guarantees, and how each README "Guarantees" line is kept:
- An entry read by a worker stays in the group's pending list until acknowledged. A worker that
  dies (SIGKILL) leaves its entries there; every worker runs `XAUTOCLAIM` every few seconds for
  entries idle longer than the send lease, and takes them over. The message's lease (`store.py`)
  has run out by then, so the takeover claim succeeds, and is counted (`stats:takeovers`).
- A handler answers, per item, whether it is done. An item is not done when someone else holds
  its message's lease, or when Redis failed under it: it stays pending and comes back (after a
  Redis error, the worker first re-reads its own pending entries; otherwise through `XAUTOCLAIM`).
- Work due later sits in `notifier:work:due` and is moved onto the stream by whichever worker
  polls first (one Lua script: moved once).
- Round trips: the acknowledgements of settled entries and the move of due work ride in the same
  pipeline as the next read (`XACK` + `XDEL`, the move script at most once per poll interval, then
  `XREADGROUP`), so a worker that takes one entry at a time spends one round trip on the queue per
  entry, not three. An entry settled but not yet acknowledged is harmless: read again (after a
  Redis error, or taken over), its message's claim is refused (its status is final) and it is
  acknowledged then.
- Redis restarts: every Redis call here is retried with backoff; the group is created again if
  the stream was lost (`NOGROUP`), and the sweeper re-queues anything still unsettled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from typing import Any, Awaitable, Callable, Mapping

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from notifier.messages.queue import DUE, FIELD, GROUP, PROMOTE, STREAM, decode
from notifier.messages.scripts import Call, ShaScript

log = logging.getLogger("notifier.consumer")

#: By SHA: a `Script` in a pipeline costs a `SCRIPT EXISTS` round trip first (`scripts.py`).
_PROMOTE = ShaScript(PROMOTE)

#: Runs one function's items (each its list of arguments); answers, per item, True when it is
#: done (acknowledge it), False when it must stay pending (taken over after the lease time) or
#: None when Redis failed under it (read again as soon as Redis answers).
Handler = Callable[[list[list[Any]]], Awaitable[list["bool | None"]]]


class WorkConsumer:
    """One consumer of the work stream (see the module docstring)."""

    #: How often pending entries of dead consumers are looked for.
    RECLAIM_EVERY_SECONDS = 5.0

    def __init__(
        self,
        redis: Redis,
        handlers: Mapping[str, Handler],
        *,
        max_jobs: int = 32,
        block_seconds: float = 0.05,
        reclaim_after_seconds: float = 40.0,
        burst: bool = False,
        name: str | None = None,
    ) -> None:
        self.redis = redis
        self.handlers = dict(handlers)
        self.max_jobs = max(1, max_jobs)
        self.block_ms = max(1, int(block_seconds * 1000))
        self.reclaim_after_ms = int(reclaim_after_seconds * 1000)
        self.burst = burst
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._inflight: set[bytes] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._slot = asyncio.Event()
        self._stopping = False
        self._recover = False
        self._reclaim_at = 0.0
        self._reclaim_cursor = "0-0"
        self._settled: list[bytes] = []  # done, acknowledged with the next read
        self._promote_at = 0.0

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Read and run work until `stop()` (or, in burst mode, until nothing is due)."""
        delay = 0.1
        group_ready = False
        while not self._stopping:
            try:
                if not group_ready:
                    await self.ensure_group(self.redis)
                    group_ready = True
                if self._recover:
                    await self._acknowledge_settled()
                    await self._read_own_pending()
                    self._recover = False
                free = self.max_jobs - len(self._inflight)
                if free <= 0:
                    self._slot.clear()
                    await self._slot.wait()
                    continue
                moved, entries = await self._read(free)
                if time.monotonic() >= self._reclaim_at and len(entries) < free:
                    entries += await self._reclaim(free - len(entries))
                if entries:
                    self._start(entries)
                elif self.burst and not moved and not self._inflight:
                    break
                elif self.burst and self._inflight:
                    self._slot.clear()
                    await self._slot.wait()
                delay = 0.1
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                group_ready = False  # the stream was lost (a Redis without its data): start it again
            except (RedisError, OSError) as exc:
                log.warning("work queue: Redis unavailable (%s); trying again in %.1fs", type(exc).__name__, delay)
                self._recover = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self._acknowledge_settled()  # what is left comes back, and is acknowledged then

    async def stop(self, timeout: float) -> None:
        """Stop reading; let running work finish for up to `timeout` seconds, then cancel it.

        Cancelled work stays pending and is taken over by another worker."""
        self._stopping = True
        self._slot.set()
        running = list(self._tasks)
        if running:
            _done, late = await asyncio.wait(running, timeout=timeout)
            for task in late:
                task.cancel()

    @staticmethod
    async def ensure_group(redis: Redis) -> None:
        try:
            await redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- reading ------------------------------------------------------------------------------

    async def _read(self, count: int) -> tuple[int, list[tuple[bytes, dict[bytes, bytes]]]]:
        """Up to `count` new entries, in one round trip with the acknowledgements of the entries
        settled since the last read and, once per poll interval (every read in burst mode), the
        move of due work onto the stream. Returns how many due items were moved, and the entries."""
        settled, self._settled = self._settled, []
        now = time.monotonic()
        promote = self.burst or now >= self._promote_at
        calls: list[Call] = []
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                if settled:
                    self._queue_acknowledgements(pipe, settled)
                if promote:
                    calls.append(_PROMOTE.queue(pipe, [DUE, STREAM], [int(time.time() * 1000), 10 * self.max_jobs]))
                pipe.xreadgroup(GROUP, self.name, {STREAM: ">"}, count=count,
                                block=None if self.burst else self.block_ms)
                replies = await _PROMOTE.execute(pipe, calls)
        except BaseException:
            self._settled[:0] = settled  # acknowledged with a later read
            raise
        moved = 0
        if promote:
            self._promote_at = now + self.block_ms / 1000
            moved = replies[calls[0].position]
        entries = [(entry_id, fields) for _stream, es in replies[-1] or [] for entry_id, fields in es if fields]
        return int(moved), entries

    async def _read_own_pending(self) -> None:
        """After a Redis error: entries this consumer read but did not settle, read again."""
        last = "0"
        while True:
            reply = await self.redis.xreadgroup(GROUP, self.name, {STREAM: last}, count=self.max_jobs)
            entries = [(i, f) for _s, es in reply or [] for i, f in es]
            if not entries:
                return
            last = entries[-1][0].decode()
            fresh = [(i, f) for i, f in entries if f and i not in self._inflight]
            deleted = [i for i, f in entries if not f]  # acknowledged elsewhere and deleted
            if deleted:
                await self.redis.xack(STREAM, GROUP, *deleted)
            if fresh:
                self._start(fresh)

    async def _reclaim(self, count: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Entries other consumers read and left unacknowledged for longer than a send's lease."""
        reply = await self.redis.xautoclaim(STREAM, GROUP, self.name, self.reclaim_after_ms,
                                            start_id=self._reclaim_cursor, count=count)
        cursor, entries = reply[0], reply[1]
        self._reclaim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if self._reclaim_cursor == "0-0":  # went round the whole pending list: rest a while
            self._reclaim_at = time.monotonic() + self.RECLAIM_EVERY_SECONDS
        taken = [(i, f) for i, f in entries if f and i not in self._inflight]
        if taken:
            log.warning("work queue: took over %d entr%s left by a stopped worker", len(taken), "y" if len(taken) == 1 else "ies")
        return taken

    # -- running work -------------------------------------------------------------------------

    def _start(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for entry_id, _fields in entries:
            self._inflight.add(entry_id)
        task = asyncio.get_running_loop().create_task(self._run_batch(entries))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        ids = [entry_id for entry_id, _f in entries]
        try:
            by_function: dict[str, list[tuple[bytes, list[Any]]]] = defaultdict(list)
            done: list[bytes] = []
            for entry_id, fields in entries:
                try:
                    _job_id, function, args = decode(fields.get(FIELD, b""))
                except ValueError:
                    log.error("work queue: entry %s is not a job; dropped", entry_id.decode())
                    done.append(entry_id)
                    continue
                if function not in self.handlers:
                    log.error("work queue: no handler for %r; entry %s dropped", function, entry_id.decode())
                    done.append(entry_id)
                    continue
                by_function[function].append((entry_id, args))
            outcomes = await asyncio.gather(
                *(self._run_function(f, items) for f, items in by_function.items()), return_exceptions=True)
            for (function, items), outcome in zip(by_function.items(), outcomes):
                if isinstance(outcome, BaseException):
                    if isinstance(outcome, (RedisError, OSError, asyncio.CancelledError)):
                        self._recover = True  # read again as soon as Redis answers
                    else:  # a bug: left pending, tried again after the lease time (not in a tight loop)
                        log.error("work queue: %s failed (%s); left pending", function, type(outcome).__name__,
                                  exc_info=outcome)
                    continue
                done += [entry_id for (entry_id, _a), ok in zip(items, outcome) if ok]
                if any(ok is None for ok in outcome):
                    self._recover = True  # Redis failed under some: read them again when it answers
            self._settled += done  # acknowledged with the next read
        finally:
            self._inflight.difference_update(ids)
            self._slot.set()

    async def _run_function(self, function: str, items: list[tuple[bytes, list[Any]]]) -> list[bool | None]:
        return await self.handlers[function]([args for _i, args in items])

    async def _acknowledge_settled(self) -> None:
        """Acknowledge (and delete) the settled entries now, not with the next read."""
        settled, self._settled = self._settled, []
        if not settled:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                self._queue_acknowledgements(pipe, settled)
                await pipe.execute()
        except BaseException:
            self._settled[:0] = settled
            raise

    @staticmethod
    def _queue_acknowledgements(pipe: Any, ids: list[bytes]) -> None:
        """Settled entries leave the group's pending list and the stream."""
        pipe.xack(STREAM, GROUP, *ids)
        pipe.xdel(STREAM, *ids)
