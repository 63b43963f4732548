"""The coaching figures per site on the console's figures page (pure: plain data in, counts out).

Which site a client belongs to (decided for issue 17; README "The coaching rhythm"): clients carry
no site, so a client counts under their coach's site —

1. `coach.site` of `client.referred` / `client.coach_assigned` when the case system gives it
   (kept with the client's coaching state, and with a service's end in the ended index);
2. else the site of the staff member whose id is the coach's id in the staff directory, read
   when the page is opened (a coach who moves moves their clients, ended ones included);
3. else "no site" (clients without a coach too).

Per site: active clients, clients with an overdue deadline, clients with a deadline in the next
7 days (a client may count in both: an overdue contact and a plan renewal due on Friday), and the
services ended in the period by reason. The deadlines are `planning.open_deadlines`, the same the
reminders and the per-coach overview use.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from notifier.casework.events import END_REASONS
from notifier.coaching.model import Rules
from notifier.coaching.planning import open_deadlines

#: "A deadline in the next 7 days": due at or after now and before now + this.
DUE_SOON = timedelta(days=7)


@dataclass(frozen=True)
class ActiveClient:
    """An active client's coaching state as ids and times (the clear part of the state)."""

    coach_id: str | None
    coach_site: str | None
    referred_at: datetime
    last_contact_at: datetime | None = None
    last_plan_at: datetime | None = None


@dataclass(frozen=True)
class EndedService:
    """A service that ended in the period (an entry of the ended index)."""

    reason: str
    coach_id: str | None = None
    coach_site: str | None = None


@dataclass(frozen=True)
class SiteFigures:
    site: str | None  # None: no site
    active: int = 0
    overdue: int = 0
    due_soon: int = 0
    ended: dict[str, int] = field(default_factory=dict)  # reason -> services ended, every reason present

    @property
    def ended_total(self) -> int:
        return sum(self.ended.values())


def site_of(coach_id: str | None, coach_site: str | None, directory_sites: dict[str, str]) -> str | None:
    """The coach's own site, else the staff directory's site for the coach's id, else none."""
    if coach_site:
        return coach_site
    return directory_sites.get(coach_id) if coach_id else None


def per_site(active: list[ActiveClient], ended: list[EndedService], directory_sites: dict[str, str],
             rules: Rules, tz: ZoneInfo, now: datetime) -> list[SiteFigures]:
    """One row per site that has active clients or ended services, by site code; "no site" last."""
    counts: dict[str | None, Counter[str]] = {}
    for c in active:
        row = counts.setdefault(site_of(c.coach_id, c.coach_site, directory_sites), Counter())
        row["active"] += 1
        dues = [d.due for d in open_deadlines(c.referred_at, c.last_contact_at, c.last_plan_at, rules, tz)]
        row["overdue"] += any(due < now for due in dues)
        row["due_soon"] += any(now <= due < now + DUE_SOON for due in dues)
    for e in ended:
        counts.setdefault(site_of(e.coach_id, e.coach_site, directory_sites), Counter())["ended:" + e.reason] += 1
    reasons = _reasons(ended)
    rows = [SiteFigures(site, c["active"], c["overdue"], c["due_soon"], {r: c["ended:" + r] for r in reasons})
            for site, c in counts.items()]
    return sorted(rows, key=lambda r: (r.site is None, r.site or ""))


def select(rows: list[SiteFigures], site: str) -> tuple[list[SiteFigures], SiteFigures]:
    """The rows the page's site filter keeps (all when `site` is empty; "no site" only then), and
    their total (`site` None)."""
    kept = [r for r in rows if not site or r.site == site]
    reasons = _reasons([]) if not kept else list(kept[0].ended)
    total = SiteFigures(None, sum(r.active for r in kept), sum(r.overdue for r in kept),
                        sum(r.due_soon for r in kept), {k: sum(r.ended.get(k, 0) for r in kept) for k in reasons})
    return kept, total


def _reasons(ended: list[EndedService]) -> list[str]:
    """The contract's reasons, and any other an older record carries, in a stable order."""
    extra = sorted({e.reason for e in ended} - set(END_REASONS))
    return [*END_REASONS, *extra]
