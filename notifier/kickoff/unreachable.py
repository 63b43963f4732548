"""The authority's daily e-mail of clients that could not be reached by phone.

Clients become unreachable when their calls are recorded (`calls.py` adds a line, ids only, to a
sorted set by time). Once a day, at `NOTIFIER_UNREACHABLE_REPORT_AT` local time, the worker sends
the authority's contact (`NOTIFIER_OFFICE_EMAIL`) one e-mail listing the clients who became
unreachable since the last report; a day with none sends nothing. The report's bookmark (until
when it has reported, and on which day) is written in the same transaction as the e-mail, and
watched, so two workers running the job at once send one e-mail.

The e-mail is in Finnish: the authority's contact is one address without a language of its own
(a Swedish-speaking authority would need a setting; the template exists in both languages).
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
from notifier.kickoff.keys import UNREACHABLE, UNREACHABLE_REPORTED
from notifier.kickoff.store import load_prompts
from notifier.messages.intake import Outcome, commit
from notifier.messages.model import EMAIL, PlannedMessage, Recipient

log = logging.getLogger("notifier.unreachable")

TEMPLATE = "kickoff-unreachable"
#: Lines older than this are dropped from the sorted set (the contact log keeps the calls).
KEEP = timedelta(days=180)


def plan_report(rows: list[dict[str, Any]], office_name: str, office_email: str, day: str,
                language: str = "fi") -> PlannedMessage:
    """The e-mail listing `rows` (pure)."""
    recipient = Recipient(name=office_name, language=language, email=office_email)
    context = {"first_name": office_name, "office": {"name": office_name}, "day": day, "clients": rows,
               "count": len(rows)}
    return PlannedMessage(TEMPLATE, EMAIL, recipient, context, {"report": f"unreachable-{day}"})


async def report_unreachable(rt: Runtime, now: datetime | None = None) -> str | None:
    """Send the report for the clients that became unreachable since the last one; the message id, or None."""
    now = now or utcnow()
    s = rt.settings
    day = now.astimezone(s.timezone).date().isoformat()
    if not s.office.email:
        log.warning("unreachable clients' daily e-mail not sent: NOTIFIER_OFFICE_EMAIL is not set")
        return None

    async def decide() -> Outcome:
        raw = await rt.redis.hgetall(UNREACHABLE_REPORTED)
        bookmark = {k.decode(): v.decode() for k, v in raw.items()}
        if bookmark.get("day") == day:
            return Outcome()
        since = int(bookmark.get("until", "0"))
        until = int(now.timestamp() * 1000)
        lines = [json.loads(m) for m in await rt.redis.zrangebyscore(UNREACHABLE, f"({since}", until)]
        if not lines:
            return Outcome()
        prompts = {p.id: p for p in await load_prompts(rt.redis, rt.store.sealer, [ln["prompt"] for ln in lines])}
        rows = []
        for ln in lines:
            p = prompts.get(ln["prompt"])
            rows.append({"client_id": ln["client"], "session_id": ln["session"], "site": ln.get("site", ""),
                         "reason": ln["reason"], "attempts": ln.get("attempts", 1),
                         "name": p.name if p else "", "phone": (p.phone or "") if p else ""})
        planned = plan_report(rows, s.office.name.text("fi"), s.office.email or "", day)

        def stage(pipe: Any, ids: list[str]) -> None:
            pipe.hset(UNREACHABLE_REPORTED, mapping={"day": day, "until": str(until)})
            pipe.zremrangebyscore(UNREACHABLE, "-inf", int((now - KEEP).timestamp() * 1000))

        return Outcome(messages=[planned], stage=stage)

    sent = (await commit(rt.store, decide, watch=[UNREACHABLE_REPORTED, UNREACHABLE]))["messages"]
    if sent:
        log.info("unreachable clients' daily e-mail %s queued", sent[0])
    return sent[0] if sent else None


async def unreachable_report_job(ctx: dict[str, Any]) -> str | None:
    return await report_unreachable(ctx["runtime"])


def unreachable_cron_jobs(settings: Settings) -> list[CronJob]:
    hour, minute = settings.unreachable_report_at
    return [cron(unreachable_report_job, name="unreachable_report", hour=hour, minute=minute,  # type: ignore[arg-type]
                 second=0, unique=True, timeout=25)]


