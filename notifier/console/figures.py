"""The coordinators' figures for a period and site: kickoff attendance and no-shows per session,
call outcomes, rebookings, reachability, delivery per channel and practice-change acknowledgements
per week; as server-rendered SVG bar charts (no script, no CDN) with a data table under each for
screen readers, and as CSV. Then the coaching figures per site (issue 17: active clients, overdue,
due in 7 days, services ended by reason, and a total), a table; the site of a client is its coach's
(`coaching/site_figures.py` says how it is found).

Everything comes from records the service keeps anyway, read as ids, statuses and counts (no
sealed personal data is opened except the staff directory, for who a change concerns):
sessions' metadata (by site and start time), the contact log's calls, the unreachable and
rebooking indexes, the settled-message index with each message's status and labels, and the
clear part of the coaching states with the ended-services index.
`compute` is pure; `gather` reads Redis in a few pipelined round trips, so a period with
10,000 clients is one page in well under a second.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from notifier.coaching.site_figures import SiteFigures, per_site, select
from notifier.coaching.store import site_facts
from notifier.console.context import SECURITY_HEADERS, Ctx, coordinators_only
from notifier.console.forms import N_
from notifier.console.planning import progress
from notifier.kickoff.keys import REBOOKED, UNREACHABLE, session_key, site_sessions_key
from notifier.messages import status as st
from notifier.messages.keys import CALLS, SETTLED, msg_key
from notifier.staff.directory import StaffDirectory
from notifier.staff.keys import acks_key
from notifier.staff.planning import acknowledgement_report, current_week
from notifier.staff.practice import PracticeChanges

MAX_DAYS = 400
LIMIT = 200_000
OUTCOMES = ("reached", "no-answer", "wrong-number", "rescheduled")
DELIVERED = frozenset({st.SENT, st.DELIVERED})
FAILED = frozenset({st.PERMANENT_FAILURE, st.TECHNICAL_FAILURE})

CHART_TITLES = {
    "attendance": N_("Kickoff attendance per session"),
    "outcomes": N_("Call outcomes"),
    "reachability": N_("Reachability of clients who missed their kickoff"),
    "delivery": N_("Delivery success per channel"),
    "acks": N_("Practice changes read, per week posted"),
    "coaching": N_("Coaching per site"),
}
#: Labels of the coaching chart's special rows (site codes are lower-case codes: no clash).
NO_SITE, TOTAL = "(no-site)", "(total)"
ROW_LABELS = {
    "reached": N_("Reached"), "no-answer": N_("No answer"), "wrong-number": N_("Wrong number"),
    "rescheduled": N_("Rescheduled"), "rebooked": N_("Rebooked by the client"), "unreachable": N_("Unreachable"),
    "open": N_("Not settled yet"), "email": N_("E-mail"), "sms": N_("SMS"), "letter": N_("Letter"),
    "suomifi": N_("Suomi.fi"), "none": N_("No channel"),
}


COLUMN_LABELS = {
    "starts_at": N_("Starts"), "invitees": N_("Invited"), "attended": N_("Attended"), "absent": N_("Absent"),
    "no_show_rate": N_("No-show rate"), "clients": N_("Clients"), "delivered": N_("Sent or delivered"),
    "failed": N_("Failed"), "acknowledged": N_("Read"), "concerned": N_("Concerned"),
    "overdue": N_("Overdue deadline"), "due_soon": N_("Deadline within 7 days"), "ended": N_("Services ended"),
}
#: `client.service_ended` reasons as the coaching table's column heads.
END_REASON_LABELS = {
    "employed": N_("Employed"), "education": N_("Education"), "term-ended": N_("Term ended"),
    "moved": N_("Moved"), "other": N_("Other reason"),
}


@dataclass(frozen=True)
class Row:
    label: str  # a session id, an outcome, a channel, a week (shown as it is or through ROW_LABELS)
    value: float  # what the bar shows: a count, or a percentage when `percent`
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Chart:
    name: str
    rows: list[Row]
    percent: bool
    columns: tuple[str, ...]  # the data table's extra columns (keys of each row's detail)


@dataclass(frozen=True)
class SessionFacts:
    id: str
    site: str
    starts_at: datetime
    invitees: int
    absent: int
    attendance_known: bool


@dataclass
class Raw:
    """What `gather` read; the input of `compute`."""

    sessions: list[SessionFacts] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # contact-log call entries
    unreachable: list[dict[str, Any]] = field(default_factory=list)
    rebooked: list[dict[str, Any]] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (channel, status) of settled messages
    acks: list[tuple[str, int, int]] = field(default_factory=list)  # (ISO week posted, acknowledged, concerned)
    coaching: list[SiteFigures] = field(default_factory=list)  # the rows the site filter keeps
    coaching_total: SiteFigures | None = None
    coaching_sites: list[str] = field(default_factory=list)  # every site with coaching figures (the filter's list)


def pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def compute(raw: Raw) -> list[Chart]:
    """The charts (pure)."""
    attendance = [Row(s.id, pct(s.invitees - s.absent, s.invitees),
                      {"starts_at": s.starts_at, "invitees": s.invitees, "attended": s.invitees - s.absent,
                       "absent": s.absent, "no_show_rate": pct(s.absent, s.invitees)})
                  for s in sorted(raw.sessions, key=lambda s: s.starts_at) if s.attendance_known]
    counts = Counter(c["outcome"] for c in raw.calls)
    outcomes = [Row(o, counts.get(o, 0)) for o in OUTCOMES] + [Row("rebooked", len(raw.rebooked))]
    # Reachability: each (session, client) with a call prompt, by its latest call.
    latest: dict[tuple[str, str], str] = {}
    for c in sorted(raw.calls, key=lambda c: c["at"]):
        latest[(c["session"], c["client"])] = c["outcome"]
    unreachable = {(u["session"], u["client"]) for u in raw.unreachable}
    rebooked = {(r["from"], r["client"]) for r in raw.rebooked}
    absentees = set(latest) | unreachable | rebooked
    reach: Counter[str] = Counter()
    for key in absentees:
        if key in rebooked or latest.get(key) in ("reached", "rescheduled"):
            reach["reached"] += 1
        elif key in unreachable:
            reach["unreachable"] += 1
        else:
            reach["open"] += 1
    total = sum(reach.values())
    reachability = [Row(k, pct(reach[k], total), {"clients": reach[k]}) for k in ("reached", "unreachable", "open")]
    by_channel: dict[str, Counter[str]] = {}
    for channel, status in raw.messages:
        by_channel.setdefault(channel, Counter())[status] += 1
    delivery = []
    for channel in sorted(by_channel):
        c = by_channel[channel]
        ok, failed = sum(c[s] for s in DELIVERED), sum(c[s] for s in FAILED)
        delivery.append(Row(channel, pct(ok, ok + failed), {"delivered": ok, "failed": failed}))
    weeks: dict[str, list[int]] = {}
    for week, acked, concerned in raw.acks:
        w = weeks.setdefault(week, [0, 0])
        w[0] += acked
        w[1] += concerned
    acks = [Row(w, pct(a, c), {"acknowledged": a, "concerned": c}) for w, (a, c) in sorted(weeks.items())]
    coaching = coaching_rows(raw.coaching, raw.coaching_total)
    return [
        Chart("attendance", attendance, True, ("starts_at", "invitees", "attended", "absent", "no_show_rate")),
        Chart("outcomes", outcomes, False, ()),
        Chart("reachability", reachability, True, ("clients",)),
        Chart("delivery", delivery, True, ("delivered", "failed")),
        Chart("acks", acks, True, ("acknowledged", "concerned")),
        Chart("coaching", coaching, False, coaching_columns(raw.coaching_total)),
    ]


def coaching_columns(total: SiteFigures | None) -> tuple[str, ...]:
    reasons = list(total.ended) if total else []
    return ("overdue", "due_soon", "ended", *(f"ended_{r}" for r in reasons))


def coaching_rows(rows: list[SiteFigures], total: SiteFigures | None) -> list[Row]:
    """Per site (value: active clients), then the total row; none when no client was ever coached."""
    if total is None or not rows:
        return []
    def row(label: str, f: SiteFigures) -> Row:
        return Row(label, f.active, {"overdue": f.overdue, "due_soon": f.due_soon, "ended": f.ended_total,
                                     **{f"ended_{r}": n for r, n in f.ended.items()}})
    return [*(row(f.site or NO_SITE, f) for f in rows), row(TOTAL, total)]


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


async def gather(ctx: Ctx, start: datetime, end: datetime, site: str) -> Raw:
    redis, raw = ctx.rt.redis, Raw()
    lo, hi = _ms(start), _ms(end)
    sites = [site] if site else await _sites(ctx)
    session_ids: list[str] = []
    for s in sites:
        session_ids += [i.decode() for i in await redis.zrangebyscore(site_sessions_key(s), lo, hi, start=0, num=LIMIT)]
    async with redis.pipeline(transaction=False) as pipe:
        for sid in session_ids:
            pipe.hget(session_key(sid), "meta")
        metas = await pipe.execute() if session_ids else []
    for m in metas:
        if m:
            meta = json.loads(m)
            raw.sessions.append(SessionFacts(meta["id"], meta["site"], datetime.fromisoformat(meta["starts_at"]),
                                             len(meta.get("invitee_ids", [])), len(meta.get("absent", [])),
                                             int(meta.get("attendance_count", 0)) > 0))
    in_site = {s.id for s in raw.sessions}
    def keep(entry: dict[str, Any], key: str = "session") -> bool:
        return not site or entry.get(key) in in_site or entry.get("site") == site
    calls = [json.loads(c) for c in await redis.zrangebyscore(CALLS, lo, hi, start=0, num=LIMIT)]
    if site:  # calls of sessions that started before the period still belong to the site
        missing = sorted({c["session"] for c in calls} - in_site)
        async with redis.pipeline(transaction=False) as pipe:
            for sid in missing:
                pipe.hget(session_key(sid), "meta")
            for sid, m in zip(missing, await pipe.execute() if missing else []):
                if m and json.loads(m).get("site") == site:
                    in_site.add(sid)
    raw.calls = [c for c in calls if keep(c)]
    raw.unreachable = [u for u in map(json.loads, await redis.zrangebyscore(UNREACHABLE, lo, hi, start=0, num=LIMIT))
                       if keep(u)]
    raw.rebooked = [r for r in map(json.loads, await redis.zrangebyscore(REBOOKED, lo, hi, start=0, num=LIMIT))
                    if not site or r.get("site") == site]
    settled = await redis.zrangebyscore(SETTLED, lo, hi, start=0, num=LIMIT)
    async with redis.pipeline(transaction=False) as pipe:
        for mid in settled:
            pipe.hmget(msg_key(mid.decode()), "labels", "status", "meta")
        rows = await pipe.execute() if settled else []
    for labels, status, meta in rows:
        if not labels or not status:
            continue
        if site:
            refs = json.loads(meta).get("refs", {}) if meta else {}
            if refs.get("session") not in in_site:
                continue  # per site: messages about the site's sessions
        raw.messages.append((labels.decode().split("|")[1], status.decode()))
    changes = await PracticeChanges(redis).posted_between(start, end)
    if changes:
        staff = await StaffDirectory.of(ctx.rt).all()
        if site:
            staff = [m for m in staff if m.site == site]
        async with redis.pipeline(transaction=False) as pipe:
            for c in changes:
                pipe.hgetall(acks_key(c.id))
            acks = await pipe.execute()
        tz = ctx.rt.settings.timezone
        for change, a in zip(changes, acks):
            acked = {k.decode(): datetime.fromisoformat(v.decode()) for k, v in a.items()}
            p = progress(acknowledgement_report(change, staff, acked))
            raw.acks.append((current_week(change.posted_at, tz), p.acknowledged, p.concerned))
    await _gather_coaching(ctx, raw, start, end, site)
    return raw


async def _gather_coaching(ctx: Ctx, raw: Raw, start: datetime, end: datetime, site: str) -> None:
    """Active clients now (deadlines against `runtime.clock`) and services ended in the period."""
    rt = ctx.rt
    active, ended = await site_facts(rt.redis, start, end)
    without_site = sorted({f.coach_id for f in [*active, *ended] if f.coach_id and not f.coach_site})
    directory = await StaffDirectory.of(rt).sites(without_site)
    rows = per_site(active, ended, directory, rt.settings.coaching, rt.settings.timezone, rt.clock())
    raw.coaching, raw.coaching_total = select(rows, site)
    raw.coaching_sites = [r.site for r in rows if r.site]


def read_period(query: Any, tz: ZoneInfo, today: date) -> tuple[date, date, str] | None:
    """`from`, `to` (ISO dates, inclusive; default the last 30 days) and `site` (a code or empty)."""
    try:
        first = date.fromisoformat(query.get("from") or (today - timedelta(days=29)).isoformat())
        last = date.fromisoformat(query.get("to") or today.isoformat())
    except ValueError:
        return None
    site = query.get("site", "").strip()
    if last < first or (last - first).days > MAX_DAYS or len(site) > 64 or not all(
            c.isalnum() or c in "-_" for c in site):
        return None
    return first, last, site


def _bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(0), tzinfo=tz).astimezone(timezone.utc),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc))


async def _sites(ctx: Ctx) -> list[str]:
    prefix = site_sessions_key("")
    return sorted([k.decode()[len(prefix):] async for k in ctx.rt.redis.scan_iter(match=prefix + "*", count=1000)])


def _page(ctx: Ctx, status: int, charts: list[Chart], first: date, last: date, site: str, sites: list[str],
          error: bool) -> web.Response:
    coaching = next((c for c in charts if c.name == "coaching"), None)
    return ctx.render("figures", status=status, section="figures", first=first, last=last, site=site, sites=sites,
                      error=error, charts=[c for c in charts if c is not coaching], coaching=coaching,
                      chart_titles=CHART_TITLES, row_labels=ROW_LABELS, max_days=MAX_DAYS,
                      column_labels=COLUMN_LABELS, end_reason_labels=END_REASON_LABELS, no_site=NO_SITE)


@coordinators_only
async def figures(ctx: Ctx) -> web.Response:
    tz = ctx.rt.settings.timezone
    today = ctx.rt.clock().astimezone(tz).date()
    period = read_period(ctx.request.query, tz, today)
    sites = await _sites(ctx)
    if period is None:
        return _page(ctx, 400, [], today - timedelta(days=29), today, "", sites, True)
    first, last, site = period
    raw = await gather(ctx, *_bounds(first, last, tz), site)
    return _page(ctx, 200, compute(raw), first, last, site, sorted({*sites, *raw.coaching_sites}), False)


@coordinators_only
async def figures_csv(ctx: Ctx) -> web.Response:
    """Every chart's rows: `chart,label,value,` then the chart's own columns as `name=value` pairs
    (the coaching rows: label a site code, `(no-site)` or `(total)`, value the active clients)."""
    tz = ctx.rt.settings.timezone
    period = read_period(ctx.request.query, tz, ctx.rt.clock().astimezone(tz).date())
    if period is None:
        return web.Response(status=400, text="from and to must be ISO dates (from <= to, at most 400 days apart); "
                                              "site a site code\n", content_type="text/plain", headers=SECURITY_HEADERS)
    first, last, site = period
    charts = compute(await gather(ctx, *_bounds(first, last, tz), site))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["chart", "label", "value", "unit", "details"])
    for chart in charts:
        for row in chart.rows:
            details = ";".join(f"{k}={v.astimezone(tz).isoformat() if isinstance(v, datetime) else v}"
                               for k, v in row.detail.items())
            w.writerow([chart.name, row.label, row.value, "percent" if chart.percent else "count", details])
    name = f"figures-{first.isoformat()}-{last.isoformat()}{'-' + site if site else ''}.csv"
    return web.Response(text=out.getvalue(), content_type="text/csv", charset="utf-8",
                        headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/figures", figures)
    app.router.add_get("/console/figures.csv", figures_csv)
