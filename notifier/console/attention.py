"""The coordinators' "Needs attention" queue: what the service could not finish by itself.

Lines come from records the service keeps anyway, read with their ids and statuses only (no sealed
personal data is opened):
- messages that reached no one in the chosen period (`no-channel`, other permanent or technical
  failures, letters returned to the sender), from the settled-messages index;
- weekly digests that did not reach a staff member;
- clients who could not be reached by phone (`kickoff/calls.py`);
- call prompts with no call recorded for more than a working day after they became due.
Each line says what to do and links to the client's (or staff member's) message log; a
coordinator can mark it handled, which hides it (`?show=all` shows those too).

`attention_lines` is pure; the handlers read Redis and render.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from aiohttp import web

from notifier.clock import utcnow
from notifier.console.context import Ctx, coordinators_only
from notifier.console.forms import N_
from notifier.console.keys import ATTENTION_HANDLED
from notifier.console.message_log import stamper
from notifier.kickoff.keys import OPEN_PROMPTS, UNREACHABLE, prompt_key, session_key
from notifier.kickoff.workdays import next_working_day
from notifier.messages import status as st
from notifier.messages.keys import SETTLED, msg_key
from notifier.staff.planning import DIGEST

#: Longest period a coordinator can look back (days); the default.
MAX_DAYS, DEFAULT_DAYS = 90, 14
#: Most records of each kind read for one page.
LIMIT = 20_000

WHAT = {
    "no-channel": N_("A message reached no one: there is no e-mail address, phone number or postal address"),
    "returned": N_("A letter was returned to the sender"),
    "failed": N_("A message could not be delivered (%(reason)s)"),
    "digest": N_("The weekly digest did not reach this staff member (%(reason)s)"),
    "unreachable": N_("The client could not be reached by phone (%(reason)s)"),
    "untouched": N_("Nobody has recorded a call to this client for over a working day"),
}
TODO = {
    "no-channel": N_("Ask the case system to add contact details, or contact the client another way."),
    "returned": N_("Check the client's postal address in the case system and send the letter again."),
    "failed": N_("Check the contact details and contact the recipient another way."),
    "digest": N_("Check the staff member's e-mail address in the staff directory."),
    "unreachable": N_("Contact the client by letter or through the case system."),
    "untouched": N_("Remind the session's staff member to call the client."),
}
KIND_LABELS = {
    "no-channel": N_("Reached no one"), "returned": N_("Letter returned"), "failed": N_("Not delivered"),
    "digest": N_("Digest bounced"), "unreachable": N_("Unreachable"), "untouched": N_("Call not made"),
}


@dataclass(frozen=True)
class Line:
    key: str  # what "handled" is recorded against: msg:<id>, unreachable:<session>:<client>, prompt:<id>
    kind: str
    at: datetime
    reason: str = ""
    client_id: str = ""
    staff_id: str = ""
    session_id: str = ""
    handled: dict[str, str] | None = None


def untouched_since(due: datetime, tz: ZoneInfo) -> datetime:
    """When a prompt due at `due` counts as untouched: the same local time on the next working day."""
    local = due.astimezone(tz)
    day = next_working_day(local.date())
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz).astimezone(timezone.utc)


def message_line(message_id: str, meta: dict[str, Any], status: str, reason: str, at: datetime) -> Line | None:
    if status not in (st.PERMANENT_FAILURE, st.TECHNICAL_FAILURE):
        return None
    refs = meta.get("refs") or {}
    if meta.get("template") == DIGEST:
        kind = "digest"
    elif reason == "no-channel":
        kind = "no-channel"
    elif reason == "returned-to-sender":
        kind = "returned"
    else:
        kind = "failed"
    return Line(f"msg:{message_id}", kind, at, reason, refs.get("client", ""), refs.get("staff", ""),
                refs.get("session", ""))


def attention_lines(messages: Iterable[Line], unreachable: Iterable[tuple[dict[str, Any], datetime]],
                    prompts: Iterable[tuple[dict[str, Any], datetime, bool]], handled: dict[str, dict[str, str]],
                    now: datetime, tz: ZoneInfo) -> list[Line]:
    """Every line, newest first, with `handled` filled in (pure).

    `prompts` are (prompt meta, due time, still absent) of prompts with no call recorded."""
    lines = list(messages)
    for u, at in unreachable:
        lines.append(Line(f"unreachable:{u['session']}:{u['client']}", "unreachable", at, u.get("reason", ""),
                          u["client"], u.get("staff", ""), u["session"]))
    for meta, due, absent in prompts:
        if absent and untouched_since(due, tz) <= now:
            lines.append(Line(f"prompt:{meta['id']}", "untouched", due, "", meta["client_id"], meta["staff_id"],
                              meta["session_id"]))
    lines = [Line(**{**ln.__dict__, "handled": handled.get(ln.key)}) for ln in lines]
    return sorted(lines, key=lambda ln: ln.at, reverse=True)


async def collect(ctx: Ctx, days: int, now: datetime) -> list[Line]:
    redis = ctx.rt.redis
    since = int((now - timedelta(days=days)).timestamp() * 1000)
    until = int(now.timestamp() * 1000)
    settled = await redis.zrangebyscore(SETTLED, since, until, start=0, num=LIMIT, withscores=True)
    messages: list[Line] = []
    if settled:
        async with redis.pipeline(transaction=False) as pipe:
            for mid, _ in settled:
                pipe.hmget(msg_key(mid.decode()), "meta", "status", "reason")
            rows = await pipe.execute()
        for (mid, score), (meta, status, reason) in zip(settled, rows):
            if meta is None or status is None:
                continue
            line = message_line(mid.decode(), json.loads(meta), status.decode(), (reason or b"").decode(),
                                datetime.fromtimestamp(score / 1000, timezone.utc))
            if line is not None:
                messages.append(line)
    unreachable = [(json.loads(m), datetime.fromtimestamp(s / 1000, timezone.utc))
                   for m, s in await redis.zrangebyscore(UNREACHABLE, since, until, start=0, num=LIMIT, withscores=True)]
    # Only prompts due more than a day ago can be untouched for over a working day.
    candidates = await redis.zrangebyscore(OPEN_PROMPTS, since, until - 86_400_000, start=0, num=LIMIT, withscores=True)
    prompts: list[tuple[dict[str, Any], datetime, bool]] = []
    if candidates:
        async with redis.pipeline(transaction=False) as pipe:
            for pid, _ in candidates:
                pipe.hget(prompt_key(pid.decode()), "meta")
            metas = [json.loads(m) if m else None for m in await pipe.execute()]
        sessions = sorted({m["session_id"] for m in metas if m})
        async with redis.pipeline(transaction=False) as pipe:
            for sid in sessions:
                pipe.hget(session_key(sid), "meta")
            absent = {sid: set(json.loads(m).get("absent", [])) if m else set()
                      for sid, m in zip(sessions, await pipe.execute())}
        for (_, score), meta in zip(candidates, metas):
            if meta:
                prompts.append((meta, datetime.fromtimestamp(score / 1000, timezone.utc),
                                meta["client_id"] in absent.get(meta["session_id"], set())))
    handled = {k.decode(): json.loads(v) for k, v in (await redis.hgetall(ATTENTION_HANDLED)).items()}
    return attention_lines(messages, unreachable, prompts, handled, now, ctx.rt.settings.timezone)


def _days(ctx: Ctx) -> int | None:
    raw = ctx.request.query.get("days", str(DEFAULT_DAYS))
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_DAYS else None


async def _render(ctx: Ctx, days: int, show_all: bool, status: int = 200, error: str = "") -> web.Response:
    lines = await collect(ctx, days, utcnow())
    shown = lines if show_all else [ln for ln in lines if ln.handled is None]
    return ctx.render("attention", status=status, section="attention", lines=shown, open_count=sum(
        1 for ln in lines if ln.handled is None), handled_count=sum(1 for ln in lines if ln.handled), days=days,
        max_days=MAX_DAYS, show_all=show_all, what=WHAT, todo=TODO, kind_labels=KIND_LABELS, error=error,
        stamp=stamper(ctx.language, ctx.rt.settings.timezone))


@coordinators_only
async def attention(ctx: Ctx) -> web.Response:
    days = _days(ctx)
    if days is None:
        return await _render(ctx, DEFAULT_DAYS, False, status=400, error="days")
    return await _render(ctx, days, ctx.request.query.get("show") == "all")


@coordinators_only
async def mark_handled(ctx: Ctx) -> web.Response:
    """Mark one current line handled; an item that is not a current line is a 400 and changes nothing."""
    days = _days(ctx) or DEFAULT_DAYS
    item = ctx.form.get("item")
    lines = {ln.key: ln for ln in await collect(ctx, MAX_DAYS, utcnow())}
    if not isinstance(item, str) or item not in lines:
        return await _render(ctx, days, False, status=400, error="item")
    assert ctx.coordinator is not None
    entry = {"by": ctx.coordinator.email, "at": utcnow().isoformat()}
    await ctx.rt.redis.hsetnx(ATTENTION_HANDLED, item, json.dumps(entry))
    return ctx.redirect(f"/console/attention?days={days}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/attention", attention)
    app.router.add_post("/console/attention/handled", mark_handled)
