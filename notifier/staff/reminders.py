"""Reminding staff of a practice change they have not acknowledged (the console's reminder button).

Who is reminded is decided when the reminder is stored, from the acknowledgements at that moment
(`planning_staff.acknowledgement_report`, the report the API and the console show); each person
gets an e-mail in their language with their own signed "I have read this" link. The messages and
the reminder's record are stored in one transaction (`intake.commit`), under an idempotency key
made from the form's request id, so a double click or a resent form reminds once.

Layout (prefix `notifier:`):
  change:<id>:reminders   list of JSON {id, at, recipients}: every reminder sent for the change
"""

from __future__ import annotations

import json
from typing import Any

from notifier.messages.intake import Outcome, commit
from notifier.messages.keys import idempotency_key
from notifier.staff.links import Links
from notifier.console.planning import not_acknowledged, plan_reminders
from notifier.staff.model import PracticeChange
from notifier.staff.planning import acknowledgement_report
from notifier.staff.practice import PracticeChanges
from notifier.app.runtime import Runtime
from notifier.staff.directory import StaffDirectory
from notifier.clock import new_id, utcnow
from notifier.staff.keys import reminders_key


async def remind(rt: Runtime, change: PracticeChange, request_id: str) -> dict[str, Any]:
    """E-mail everyone `change` concerns who has not acknowledged it; `{"recipients", "messages"}`."""
    settings = rt.settings
    links = Links.from_settings(settings)
    directory = StaffDirectory.of(rt)
    changes = PracticeChanges(rt.redis)

    async def decide() -> Outcome:
        groups = acknowledgement_report(change, await directory.all(), await changes.acks(change.id))
        members = not_acknowledged(groups)
        if not members:
            return Outcome(answer={"recipients": 0})
        reminder_id = new_id()
        urls = {m.id: links.acknowledge(m, change.id) for m in members}
        record = {"id": reminder_id, "at": utcnow().isoformat(), "recipients": len(members)}

        def stage(pipe: Any, ids: list[str]) -> None:
            pipe.rpush(reminders_key(change.id), json.dumps(record))

        return Outcome(
            messages=plan_reminders(change, members, urls, reminder_id),
            stage=stage,
            answer={"reminder": reminder_id, "recipients": len(members)},
        )

    return await commit(rt.store, decide, idem_key=idempotency_key("reminder", f"{change.id}:{request_id[:64]}"))


async def reminders_sent(rt: Runtime, change_id: str) -> list[dict[str, Any]]:
    return [json.loads(r) for r in await rt.redis.lrange(reminders_key(change_id), 0, -1)]
