"""The weekly "your clients" e-mail to every coach, with the digest's exactly-once machinery.

The cron (NOTIFIER_COACHING_WEEKLY_SCHEDULE, Monday 07:00 by default) queues one job per coach
with active clients; each job decides that coach's e-mail and stores it in **one transaction**
with the coach's claim on the ISO week (`coaching:coach:<id>:weekly`, field `<week>`), watched
optimistically, as `staff/digest.py` does: two workers, a re-run cron or an arq retry give each
coach at most one e-mail per week. A coach without active clients gets none (and no claim, so a
client assigned later that week still brings the e-mail if the run is repeated).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from arq.cron import CronJob, cron

from notifier.app.config import Settings
from notifier.app.runtime import Runtime
from notifier.clock import utcnow
from notifier.coaching.keys import weekly_claims_key
from notifier.coaching.planning import plan_weekly
from notifier.coaching.store import active_client_ids, coaches_with_clients, load_states
from notifier.messages.intake import Outcome, commit
from notifier.messages.queue import add_job
from notifier.staff.planning import current_week

log = logging.getLogger("notifier.coaching")

#: Claims are kept a year: long enough that no week is claimed twice.
CLAIM_TTL = timedelta(days=370)


async def start_weekly(rt: Runtime, now: datetime | None = None) -> int:
    """Queue one job per coach with active clients; returns how many were queued."""
    now = now or utcnow()
    week = current_week(now, rt.settings.timezone)
    coaches = await coaches_with_clients(rt.redis)
    async with rt.redis.pipeline(transaction=True) as pipe:
        for coach_id in coaches:
            add_job(pipe, "coaching_weekly_for", week, coach_id, job_id=f"coaching-weekly:{week}:{coach_id}", now=now)
        await pipe.execute()
    log.info("coaching weekly %s: %d coach(es)", week, len(coaches))
    return len(coaches)


async def weekly_for(rt: Runtime, week: str, coach_id: str, now: datetime | None = None) -> str:
    """Decide and store one coach's e-mail for `week`, at most once: created, nothing or already."""
    redis = rt.redis
    ckey = weekly_claims_key(coach_id)
    now = now or utcnow()

    async def decide() -> Outcome:
        if await redis.hget(ckey, week) is not None:
            return Outcome(watch=[ckey], answer={"result": "already"})
        states = await load_states(redis, rt.store.sealer, await active_client_ids(redis, coach_id))
        coach = next((s.coach for s in states if s.coach and s.coach.id == coach_id), None)
        planned = coach and plan_weekly(coach, states, rt.settings.coaching, rt.settings.timezone, now, week,
                                        rt.settings.public_url, rt.settings.provider.name)
        if not planned:
            return Outcome(watch=[ckey], answer={"result": "nothing"})

        def stage(pipe: Any, ids: list[str]) -> None:
            pipe.hset(ckey, week, json.dumps({"message": ids[0], "at": utcnow().isoformat()}))
            pipe.expire(ckey, int(CLAIM_TTL.total_seconds()))

        return Outcome(messages=[planned], stage=stage, watch=[ckey], answer={"result": "created"})

    answer = await commit(rt.store, decide, watch=[ckey])  # watched first: decided once
    log.info("coaching weekly %s for coach %s: %s", week, coach_id, answer["result"])
    return answer["result"]


async def weekly_cron_job(ctx: dict[str, Any]) -> int:
    return await start_weekly(ctx["runtime"])


def weekly_cron_jobs(settings: Settings) -> list[CronJob]:
    if settings.coaching_weekly_schedule is None:
        return []
    weekday, hour, minute = settings.coaching_weekly_schedule
    return [cron(weekly_cron_job, name="coaching_weekly", weekday=weekday, hour=hour, minute=minute,  # type: ignore[arg-type]
                 second=0, unique=True, max_tries=3)]
