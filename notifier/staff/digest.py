"""The weekly digest of changed practices: runs, the per-person job, and the cron entry.

A run (from the cron, `notifier digest` or `POST /api/digests/run`) reads a cutoff from Redis's
clock and queues one `digest_for` job per person who wants the digest. Each job decides that
person's digest and stores it in **one transaction** with the person's claim on the ISO week
(`staff:<id>:digests`, field `<week>`), watched optimistically: whichever run, worker or retry
gets there first creates the message and its send job; everyone else finds the claim and skips.
So two workers, the cron and a manual run at once, or a rerun after a crash, give each person
at most one digest per week, and a rerun gives the rest theirs. A batch of jobs (`digest_many`)
is stored in one such transaction watching all its claims, or, when that fails, job by job. arq's cron uniqueness is not
relied on, nor is the work queue's delivery (an item read again after a crash finds the claim). Who gets which changes is decided in `planning_staff.py`.

Layout (prefix `notifier:`):
  digest:runs               sorted set of run ids by start time
  digest:run:<id>           hash: week, cutoff_ms, trigger, started_at, staff, recipients, queued,
                            done, created, already, nothing, opted_out, failed
  digest:run:<id>:messages  set of the digest message ids this run created
"""

from __future__ import annotations

import json
import logging
import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from arq.cron import CronJob, cron

from notifier.messages import status as st
from notifier.app.config import Settings
from notifier.messages.intake import Outcome, commit, stage_messages
from notifier.messages.model import PlannedMessage
from notifier.staff.links import Links
from notifier.staff.planning import (
    REMIND_FOR,
    DigestLinks,
    current_week,
    next_cutoff,
    plan_digest,
    select_digest,
)
from notifier.staff.model import PracticeChange, StaffMember
from notifier.staff.practice import PracticeChanges
from notifier.clock import from_ms, to_ms
from notifier.messages.queue import add_job
from notifier.messages.store import statuses_of
from notifier.app.runtime import Runtime
from notifier.staff.directory import StaffDirectory
from notifier.staff.keys import digests_key
from notifier.clock import new_id, utcnow
from notifier.staff.keys import RUNS, run_key, run_messages_key

log = logging.getLogger("notifier.digest")

CUTOFF_FIELD = "_cutoff"
FANOUT_BATCH = 500
COUNTERS = ("staff", "recipients", "queued", "done", "created", "already", "nothing", "opted_out", "failed")


class WeekInFuture(ValueError):
    """A digest cannot be run ahead of its week: it would block the real one."""


# -- starting a run -------------------------------------------------------------------------------


async def start_run(rt: Runtime, week: str | None, trigger: str) -> str:
    """Queue one digest job per person who wants the digest; returns the run id.

    The cutoff is Redis's clock now: the run covers changes posted up to this moment.
    """
    redis = rt.redis
    seconds, micros = await redis.time()
    cutoff_ms = seconds * 1000 + micros // 1000
    now = from_ms(cutoff_ms)
    this_week = current_week(now, rt.settings.timezone)
    week = week or this_week
    if week > this_week:
        raise WeekInFuture(week)
    directory = StaffDirectory.of(rt)
    ids = await directory.ids()
    flags = await directory.digest_flags(ids)
    recipients = [i for i in ids if flags.get(i)]
    run_id = new_id()
    header = {
        "week": week, "cutoff_ms": cutoff_ms, "trigger": trigger, "started_at": now.isoformat(),
        "staff": len(ids), "recipients": len(recipients), "opted_out": len(ids) - len(recipients),
        "queued": 0, "done": 0, "created": 0, "already": 0, "nothing": 0, "failed": 0,
    }
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(run_key(run_id), mapping=header)
        pipe.zadd(RUNS, {run_id: cutoff_ms})
        await pipe.execute()
    # One job per person, queued in batches; `queued` moves with each batch, so a fan-out cut
    # short by a crash shows in the run's report (and a rerun of the week completes it).
    for start in range(0, len(recipients), FANOUT_BATCH):
        batch = recipients[start:start + FANOUT_BATCH]
        async with redis.pipeline(transaction=True) as pipe:
            for staff_id in batch:
                add_job(pipe, "digest_for", run_id, staff_id, job_id=f"digest:{run_id}:{staff_id}", now=utcnow())
            pipe.hincrby(run_key(run_id), "queued", len(batch))
            await pipe.execute()
    log.info("digest run %s for %s (%s): %d recipient(s) of %d staff", run_id, week, trigger, len(recipients), len(ids))
    return run_id


# -- one person's digest --------------------------------------------------------------------------


@dataclass
class BatchReads:
    """What a batch of digest jobs reads once for all (`digest_many`): the runs' headers, the
    people's records (one pipeline) and the changes of each window. Lives for one batch only."""

    headers: dict[str, list[Any]] = field(default_factory=dict)
    members: dict[str, StaffMember | None] = field(default_factory=dict)
    #: window (ms, ms) -> the read of its changes. The jobs of a batch run at once, so the read is
    #: kept as it starts (not when it is done): the first job of a window reads, the rest wait for it.
    changes: dict[tuple[int, int], asyncio.Future[list[PracticeChange]]] = field(default_factory=dict)
    #: (person, window) -> which of the window's changes they had acknowledged when the batch
    #: started (read for the whole batch in one pipeline; used when the claim, read again under
    #: the WATCH, still gives the same window).
    acked: dict[tuple[str, tuple[int, int]], set[str]] = field(default_factory=dict)

    async def changes_between(self, store: PracticeChanges, start: datetime, cutoff: datetime) -> list[PracticeChange]:
        window = (to_ms(start), to_ms(cutoff))
        read = self.changes.get(window)
        if read is None:
            read = self.changes[window] = asyncio.ensure_future(store.posted_between(start, cutoff))
        # Shielded: one job cancelled while waiting does not cancel the read the others wait for.
        return await asyncio.shield(read)


async def digest_many(rt: Runtime, links: Links, items: list[tuple[str, str]]) -> list[str | BaseException]:
    """`digest_for` for a batch of (run, person): the run headers and the people's records are
    read in one round trip, and each window's changes once, instead of once per person."""
    redis = rt.redis
    runs = list(dict.fromkeys(run_id for run_id, _s in items))
    people = list(dict.fromkeys(staff_id for _r, staff_id in items))
    directory = StaffDirectory.of(rt)
    async with redis.pipeline(transaction=False) as pipe:
        for run_id in runs:
            pipe.hmget(run_key(run_id), "week", "cutoff_ms")
        for staff_id in people:
            pipe.hget(digests_key(staff_id), CUTOFF_FIELD)
        rows = await pipe.execute()
    headers, previous = rows[:len(runs)], dict(zip(people, rows[len(runs):]))
    found = {m.id: m for m in await directory.get_many(people)}
    reads = BatchReads(headers=dict(zip(runs, headers)), members={p: found.get(p) for p in people})
    await _read_acks(PracticeChanges(redis), reads, items, previous)
    # Everyone who is there, wants the digest and comes once in this batch is decided and stored in
    # one transaction (`_commit_batch`); the rest, and everyone when that transaction does not
    # happen (a claim written meanwhile, a failure), go through `digest_for` one by one.
    times = Counter(staff_id for _r, staff_id in items)
    together = [i for i, (run_id, staff_id) in enumerate(items)
                if times[staff_id] == 1 and reads.headers[run_id][0] is not None
                and (m := reads.members.get(staff_id)) is not None and m.digest]
    results: list[str | BaseException | None] = [None] * len(items)
    if len(together) > 1:
        try:
            done = await _commit_batch(rt, links, [items[i] for i in together], reads)
        except Exception as exc:  # noqa: BLE001 - nothing was stored: each is decided on its own
            log.debug("digest batch of %d decided one by one (%s)", len(together), type(exc).__name__)
        else:
            for i, result in zip(together, done):
                results[i] = result
    alone = [i for i, result in enumerate(results) if result is None]
    singles = await asyncio.gather(
        *(digest_for(rt, links, *items[i], reads) for i in alone), return_exceptions=True)
    for i, result in zip(alone, singles):
        results[i] = result
    return results  # type: ignore[return-value]


async def _commit_batch(rt: Runtime, links: Links, items: list[tuple[str, str]], reads: BatchReads) -> list[str]:
    """Decide and store the digests of several people (each once in `items`, each known and
    wanting the digest) in one transaction: WATCH every claim, read them all, decide each, write
    every message, claim and counter in one MULTI/EXEC. The guarantees are `digest_for`'s: a claim
    written by anyone after the WATCH makes the EXEC fail, and then nothing of it is stored (the
    caller falls back to `digest_for`). Three round trips for the batch instead of three a person."""
    redis = rt.redis
    changes_store = PracticeChanges(redis)
    dkeys = [digests_key(staff_id) for _r, staff_id in items]
    async with redis.pipeline(transaction=True) as pipe:
        await pipe.watch(*dkeys)
        async with redis.pipeline(transaction=False) as read:  # after the WATCH: a later write is seen by EXEC
            for (run_id, _s), dkey in zip(items, dkeys):
                read.hmget(dkey, reads.headers[run_id][0], CUTOFF_FIELD)
            claims = await read.execute()
        decisions = []
        for (run_id, staff_id), (claim, previous) in zip(items, claims):
            week, cutoff = _header(reads.headers[run_id])
            member = reads.members[staff_id]
            assert member is not None
            decisions.append(await _decide(links, changes_store, reads, run_id, week, cutoff, member, claim, previous))
        pipe.multi()
        now = utcnow()
        counts: Counter[tuple[str, str]] = Counter()
        for (run_id, _s), decision in zip(items, decisions):
            ids = stage_messages(pipe, rt.store, [decision.planned] if decision.planned else [], now)
            if decision.stage is not None:
                decision.stage(pipe, ids)
            if decision.counted:
                counts[(run_id, decision.result)] += 1
        done: Counter[str] = Counter()
        for (run_id, counter), n in counts.items():
            pipe.hincrby(run_key(run_id), counter, n)
            done[run_id] += n
        for run_id, n in done.items():
            pipe.hincrby(run_key(run_id), "done", n)
        executed = await pipe.execute()
    rt.store.log_executed(pipe, executed)
    for (run_id, staff_id), decision in zip(items, decisions):
        log.info("digest %s for staff %s in run %s: %s", _header(reads.headers[run_id])[0], staff_id, run_id, decision.result)
    return [decision.result for decision in decisions]


def _header(raw: list[Any]) -> tuple[str, datetime]:
    """A run's week and cutoff from its header's `week` and `cutoff_ms`."""
    return raw[0].decode(), from_ms(int(raw[1]))


@dataclass(frozen=True)
class Decision:
    """One person's digest for a run, decided from their claim on the week: the result, the
    message to create (if any), what to write with it, and whether the run counts it."""

    result: str  # created, nothing or already
    planned: PlannedMessage | None = None
    stage: Callable[[Any, list[str]], None] | None = None  # the claim; given the new message ids
    counted: bool = True


async def _decide(links: Links, changes_store: PracticeChanges, reads: BatchReads | None, run_id: str, week: str,
                  cutoff: datetime, member: StaffMember, claim: bytes | None, previous: bytes | None) -> Decision:
    """`member`'s digest given their claim on `week` and their last cutoff, as read under a WATCH."""
    if claim is not None:
        mine = json.loads(claim).get("run") == run_id  # our own item, read again after a crash
        return Decision("already", counted=not mine)
    staff_id, dkey = member.id, digests_key(member.id)
    previous_cutoff = from_ms(int(previous)) if previous else None
    window_start, _ = _window(cutoff, previous_cutoff)
    acked = None
    if reads is not None:
        changes = await reads.changes_between(changes_store, window_start, cutoff)
        acked = reads.acked.get((staff_id, (to_ms(window_start), to_ms(cutoff))))
    else:
        changes = await changes_store.posted_between(window_start, cutoff)
    if acked is None:
        acked = await changes_store.acknowledged_by(staff_id, [c.id for c in changes])
    selection = select_digest(member, changes, previous_cutoff=previous_cutoff, cutoff=cutoff, acknowledged=acked)
    planned = None
    if not selection.empty:
        digest_links = DigestLinks(
            preferences=links.preferences(member), unsubscribe=links.unsubscribe(member),
            acknowledge={c.id: links.acknowledge(member, c.id) for c in selection.new + selection.earlier},
        )
        planned = plan_digest(member, selection, week, digest_links)
    claim_cutoff = next_cutoff(previous_cutoff, cutoff)

    def stage(pipe: Any, ids: list[str]) -> None:
        record = {
            "run": run_id, "message": ids[0] if ids else None, "at": utcnow().isoformat(),
            "cutoff_ms": to_ms(cutoff), "changes": [c.id for c in selection.new],
            "reminders": [c.id for c in selection.earlier],
        }
        pipe.hset(dkey, mapping={week: json.dumps(record), CUTOFF_FIELD: to_ms(claim_cutoff)})
        if ids:
            pipe.sadd(run_messages_key(run_id), *ids)

    return Decision("created" if planned else "nothing", planned, stage)


def _window(cutoff: datetime, previous_cutoff: datetime | None) -> tuple[datetime, datetime]:
    """The posting times a digest looks at: new since the previous cutoff, and reminders."""
    return min(previous_cutoff or cutoff, cutoff - REMIND_FOR), cutoff


async def _read_acks(store: PracticeChanges, reads: BatchReads, items: list[tuple[str, str]],
                     previous: dict[str, bytes | None]) -> None:
    """Each person's acknowledgements of the changes in the window their last claim gives, for the
    whole batch in one pipeline (each window's changes read once). The claim is read again under
    each job's WATCH; a job whose window turns out different reads its own."""
    wanted: dict[tuple[str, tuple[int, int]], tuple[datetime, datetime]] = {}
    for run_id, staff_id in items:
        raw, member = reads.headers.get(run_id), reads.members.get(staff_id)
        if raw is None or raw[0] is None or member is None or not member.digest:
            continue
        before = previous.get(staff_id)
        start, cutoff = _window(from_ms(int(raw[1])), from_ms(int(before)) if before else None)
        wanted[(staff_id, (to_ms(start), to_ms(cutoff)))] = (start, cutoff)
    if not wanted:
        return
    keys = list(wanted)
    changes = await asyncio.gather(*(reads.changes_between(store, *wanted[k]) for k in keys))
    asked = [(key, [c.id for c in found]) for key, found in zip(keys, changes)]
    reads.acked.update(zip(keys, await store.acknowledged_by_many([(k[0], ids) for k, ids in asked])))


async def digest_for(rt: Runtime, links: Links, run_id: str, staff_id: str, reads: BatchReads | None = None) -> str:
    """Decide and store `staff_id`'s digest for the run's week, at most once per week.

    Returns what happened: created, nothing (nothing new), already (claimed before),
    opted-out, or failed. The counters of the run move in the same transaction as the claim.
    `reads` holds what a batch read beforehand (`digest_many`); the claim itself is always read
    here, under the transaction's WATCH.
    """
    redis = rt.redis
    if reads is not None and run_id in reads.headers:
        raw = reads.headers[run_id]
    else:
        raw = await redis.hmget(run_key(run_id), "week", "cutoff_ms")
    if raw[0] is None:
        log.warning("digest job for unknown run %s", run_id)
        return "unknown-run"
    week, cutoff = _header(raw)
    rkey = run_key(run_id)
    try:
        directory = StaffDirectory.of(rt)
        changes_store = PracticeChanges(redis)
        member = reads.members[staff_id] if reads is not None and staff_id in reads.members else await directory.get(staff_id)
        if member is None or not member.digest:  # deleted or opted out since the fan-out
            await _bump(redis, rkey, "opted_out")
            return "opted-out"
        dkey = digests_key(staff_id)

        async def decide() -> Outcome:
            claim, previous = await redis.hmget(dkey, week, CUTOFF_FIELD)
            decision = await _decide(links, changes_store, reads, run_id, week, cutoff, member, claim, previous)

            def stage(pipe: Any, ids: list[str]) -> None:
                if decision.stage is not None:
                    decision.stage(pipe, ids)
                if decision.counted:
                    _count(rkey, decision.result)(pipe, ids)

            return Outcome(messages=[decision.planned] if decision.planned else [], stage=stage, watch=[dkey],
                           answer={"result": decision.result})

        answer = await commit(rt.store, decide, watch=[dkey])  # watched first: decided once
    except Exception as exc:  # counted and logged by id; a rerun of the week picks the person up
        log.error("digest for staff %s in run %s failed (%s)", staff_id, run_id, type(exc).__name__)
        await _bump(redis, rkey, "failed")
        return "failed"
    result = answer["result"]
    log.info("digest %s for staff %s in run %s: %s", week, staff_id, run_id, result)
    return result


def _count(rkey: str, counter: str) -> Callable[[Any, list[str]], None]:
    """A stager counting one finished job of a run under `counter`."""
    def stage(pipe: Any, ids: list[str]) -> None:
        pipe.hincrby(rkey, counter, 1)
        pipe.hincrby(rkey, "done", 1)
    return stage


async def _bump(redis: Any, rkey: str, counter: str) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        _count(rkey, counter)(pipe, [])
        await pipe.execute()


# -- reporting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    id: str
    week: str
    trigger: str
    started_at: datetime
    cutoff: datetime
    counters: dict[str, int]
    sent: int
    pending: int
    failed: int

    @property
    def complete(self) -> bool:
        c = self.counters
        return c["queued"] == c["recipients"] and c["done"] >= c["queued"] and self.pending == 0

    def to_dict(self, tz: Any) -> dict[str, Any]:
        c = self.counters
        return {
            "id": self.id,
            "week": self.week,
            "trigger": self.trigger,
            "started_at": self.started_at.astimezone(tz).isoformat(),
            "cutoff": self.cutoff.astimezone(tz).isoformat(),
            "staff": c["staff"],
            "recipients": c["recipients"],
            "queued": c["queued"],
            "digests": c["created"],
            "sent": self.sent,
            "pending": self.pending,
            "failed": self.failed,
            "skipped": {"already_this_week": c["already"], "nothing_new": c["nothing"], "opted_out": c["opted_out"]},
            "complete": self.complete,
        }


async def run_report(redis: Any, run_id: str) -> RunReport | None:
    """How a run went: digests sent, still pending, skipped (and why) and failed."""
    fields = await redis.hgetall(run_key(run_id))
    if not fields:
        return None
    f = {k.decode(): v.decode() for k, v in fields.items()}
    counters = {name: int(f.get(name, 0)) for name in COUNTERS}
    ids = [i.decode() for i in await redis.smembers(run_messages_key(run_id))]
    statuses = await statuses_of(redis, ids)
    sent = sum(1 for s in statuses if s in (st.SENT, st.DELIVERED))
    failed_messages = sum(1 for s in statuses if s in (st.PERMANENT_FAILURE, st.TECHNICAL_FAILURE))
    unsent = sum(1 for s in statuses if s in (st.CREATED, st.SENDING, st.TEMPORARY_FAILURE))
    pending = max(counters["queued"] - counters["done"], 0) + unsent
    return RunReport(
        id=run_id, week=f["week"], trigger=f["trigger"], started_at=datetime.fromisoformat(f["started_at"]),
        cutoff=from_ms(int(f["cutoff_ms"])), counters=counters, sent=sent, pending=pending,
        failed=counters["failed"] + failed_messages,
    )


async def recent_runs(redis: Any, limit: int = 20) -> list[str]:
    return [i.decode() for i in await redis.zrevrange(RUNS, 0, limit - 1)]


# -- scheduling -----------------------------------------------------------------------------------
# `digest_for` items come from the work stream (`notifier/app/worker.py`); the weekly run is arq's cron.


async def weekly_digest_job(ctx: dict[str, Any]) -> str | None:
    """The cron entry: a run for the current week (a second one in the same week skips everyone)."""
    rt: Runtime = ctx["runtime"]
    if not rt.settings.signing_secrets:
        log.error("weekly digest not run: NOTIFIER_SIGNING_SECRET is not set")
        return None
    return await start_run(rt, None, "cron")


def digest_cron_jobs(settings: Settings) -> list[CronJob]:
    """Weekly at NOTIFIER_DIGEST_SCHEDULE in the service's time zone (the worker's `timezone`)."""
    if settings.digest_schedule is None:
        return []
    weekday, hour, minute = settings.digest_schedule
    # A run whose fan-out was cut short by a dead worker is started again: claims make that safe.
    return [cron(weekly_digest_job, name="weekly_digest", weekday=weekday, hour=hour, minute=minute,  # type: ignore[arg-type]
                 second=0, unique=True, max_tries=3)]



# -- by hand --------------------------------------------------------------------------------------


def describe(report: dict[str, Any]) -> str:
    sk = report["skipped"]
    return (
        f"digest run {report['id']} for {report['week']}: {report['staff']} staff, {report['recipients']} recipient(s)\n"
        f"sent {report['sent']}, pending {report['pending']}, failed {report['failed']}, "
        f"skipped {sk['already_this_week'] + sk['nothing_new'] + sk['opted_out']} "
        f"(already this week {sk['already_this_week']}, nothing new {sk['nothing_new']}, opted out {sk['opted_out']})"
    )


async def run_by_hand(settings: Settings, week: str | None, wait: float, as_json: bool = False) -> int:
    """`notifier digest`: start a run, wait up to `wait` seconds for the workers, print the report
    (as JSON with `as_json`). On a terminal a progress line shows the people done so far.

    Exit status 0 when every digest went out, 1 when some failed, 2 when still pending.
    """
    import asyncio
    import time

    from notifier.app.progress import Progress

    rt = Runtime.create(settings)
    try:
        try:
            run_id = await start_run(rt, week, "cli")
        except WeekInFuture:
            print(f"notifier digest: week {week} has not started yet")
            return 2
        deadline = time.monotonic() + wait
        progress = Progress(f"digest {week or 'this week'}", enabled=None if not as_json else False)
        while True:
            report = await run_report(rt.redis, run_id)
            assert report is not None
            c = report.counters
            progress.update(c["done"], c["recipients"],
                            f"digests {c['created']}, sent {report.sent}, failed {report.failed}")
            if report.complete or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.5)
        progress.finish()
        if as_json:
            print(json.dumps(report.to_dict(settings.timezone), ensure_ascii=False), flush=True)
        else:
            print(describe(report.to_dict(settings.timezone)), flush=True)
        if not report.complete:
            if not as_json:
                print("not finished yet: is a worker running? Follow it with GET /api/digests/runs/" + run_id)
            return 2
        return 1 if report.failed else 0
    finally:
        await rt.redis.aclose()
