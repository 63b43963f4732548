"""`notifier announcement <id>`: follow an announcement to many people until its messages are out.

An announcement is posted through the API (or the console) and sent by the workers; for a big
audience that takes a while. This waits (up to `--wait` seconds), drawing a progress line on a
terminal, and prints how the messages fared. Only statuses are read, never the sealed records.
Exit status 0 when every message went out, 1 when some failed, 2 when some are still pending
(or the announcement is scheduled for later), 3 when there is no such announcement. An SMS to
someone without a mobile number is not a failure of the send: it is counted apart, as "skipped
(no mobile)" (the message record keeps `permanent-failure`, reason `no-mobile-number`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

from notifier.messages import status as st
from notifier.app.config import Settings
from notifier.staff.announcements import get_announcement
from notifier.app.progress import Progress
from notifier.app.runtime import Runtime
from notifier.messages.store import SETTLED_STATUSES
from notifier.messages.keys import msg_key
from notifier.clock import utcnow

SENT = frozenset({st.SENT, st.DELIVERED})
#: Counted apart from the statuses: an SMS to someone with no mobile number, never attempted.
SKIPPED_NO_MOBILE = "skipped (no mobile)"
NO_MOBILE = "no-mobile-number"


async def statuses(rt: Runtime, announcement_id: str) -> Counter[str]:
    ids = await rt.store.ids_for("announcement", announcement_id, limit=10_000_000)
    counts: Counter[str] = Counter()
    for start in range(0, len(ids), 1000):
        async with rt.redis.pipeline(transaction=False) as pipe:
            for message_id in ids[start:start + 1000]:
                pipe.hmget(msg_key(message_id), "status", "reason")
            for status, reason in await pipe.execute():
                if status:
                    skipped = status.decode() == st.PERMANENT_FAILURE and (reason or b"").decode() == NO_MOBILE
                    counts[SKIPPED_NO_MOBILE if skipped else status.decode()] += 1
    return counts


def summary(announcement_id: str, doc: dict[str, Any], counts: Counter[str]) -> dict[str, Any]:
    total = sum(counts.values())
    sent = sum(n for s, n in counts.items() if s in SENT)
    failed = sum(n for s, n in counts.items() if s in st.FINAL - SENT)
    skipped = counts.get(SKIPPED_NO_MOBILE, 0)
    return {"id": announcement_id, "recipients": doc.get("recipients", 0), "messages": total, "sent": sent,
            "failed": failed, "skipped_no_mobile": skipped, "pending": total - sent - failed - skipped,
            "send_at": doc.get("send_at"), "statuses": dict(sorted(counts.items()))}


def describe(report: dict[str, Any]) -> str:
    details = ", ".join(f"{s} {n}" for s, n in report["statuses"].items() if s != SKIPPED_NO_MOBILE)
    skipped = f"; skipped (no mobile) {report['skipped_no_mobile']}" if report["skipped_no_mobile"] else ""
    return (f"announcement {report['id']}: {report['recipients']} recipient(s), {report['messages']} message(s): "
            f"sent {report['sent']}, failed {report['failed']}, pending {report['pending']} ({details or 'none'}){skipped}")


async def follow_announcement(settings: Settings, announcement_id: str, wait: float, as_json: bool = False) -> int:
    rt = Runtime.create(settings)
    try:
        doc = await get_announcement(rt.redis, announcement_id)
        if doc is None:
            print(f"notifier announcement: no announcement {announcement_id!r}")
            return 3
        scheduled = doc.get("send_at") and doc["send_at"] > utcnow().isoformat()
        progress = Progress(f"announcement {announcement_id[:8]}", enabled=False if as_json else None)
        deadline = time.monotonic() + (0 if scheduled else wait)
        while True:
            counts = await statuses(rt, announcement_id)
            report = summary(announcement_id, doc, counts)
            settled = sum(n for s, n in counts.items() if s in SETTLED_STATUSES or s == SKIPPED_NO_MOBILE)
            progress.update(settled, report["messages"], f"sent {report['sent']}, failed {report['failed']}")
            if report["pending"] == 0 or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.5)
        progress.finish()
        print(json.dumps(report, ensure_ascii=False) if as_json else describe(report), flush=True)
        if report["pending"]:
            if not as_json:
                print("scheduled for " + doc["send_at"] if scheduled else "not finished yet: is a worker running?")
            return 2
        return 1 if report["failed"] else 0
    finally:
        await rt.redis.aclose()
