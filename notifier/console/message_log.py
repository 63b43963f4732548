"""Console page for the message log: search by client, staff member, message or kickoff session;
each message with its status history; a session's no-shows and how their calls went.

The same reads and views as `GET /api/messages` and `GET /api/call-prompts` (`views.message_view`
masks recipients; `call_prompts.prompt_view` says whether a call is still to be made). The page
shows ids, never clients' names or contact details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from aiohttp import web
from babel.dates import format_datetime

from notifier.console.forms import N_
from notifier.i18n import BABEL_LOCALES
from notifier.kickoff.planning import NO_SHOW, NO_SHOW_EMAIL
from notifier.kickoff.store import load_prompts, load_session
from notifier.messages.keys import index_key
from notifier.web.call_prompts import prompt_view
from notifier.console.context import Ctx, coordinators_only
from notifier.web.views import message_view

#: What can be searched for, and the message index (ref) each uses.
KINDS = {"client": "client", "staff": "staff", "session": "session", "message": None}
KIND_LABELS = {"client": N_("Client id"), "staff": N_("Staff id"), "session": N_("Kickoff session id"),
               "message": N_("Message id")}
SESSION_LABELS = {"scheduled": N_("Scheduled"), "cancelled": N_("Cancelled")}
REF_LABELS = {"client_id": N_("Client id"), "staff_id": N_("Staff id"), "session_id": N_("Kickoff session id"),
              "announcement_id": N_("Announcement"), "change_id": N_("Practice change")}
LIMIT = 200


def stamper(language: str, tz: Any) -> Callable[[Any], str]:
    """Times to the second (a status history often moves within a minute), in local time."""
    def stamp(value: Any) -> str:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return format_datetime(at.astimezone(tz), "d.M.yyyy H.mm.ss", locale=BABEL_LOCALES[language])
    return stamp


async def _messages(ctx: Ctx, kind: str, value: str) -> list[dict[str, Any]]:
    store, tz = ctx.rt.store, ctx.rt.settings.timezone
    ref = KINDS[kind]
    if ref is None:
        found = await store.get(value)
        messages = [found] if found else []
    else:
        ids = [i.decode() for i in await ctx.rt.redis.zrevrange(index_key(ref, value), 0, LIMIT - 1)]
        messages = await store.get_many(ids)
    return [message_view(m, tz) for m in messages]


async def _session(ctx: Ctx, session_id: str, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    state = await load_session(ctx.rt.redis, ctx.rt.store.sealer, session_id)
    if state is None:
        return None
    absent = set(state.absent)
    prompts = {p.client_id: prompt_view(p, absent, "", ctx.request)
               for p in await load_prompts(ctx.rt.redis, ctx.rt.store.sealer, list(state.prompts.values()))}
    no_shows = []
    for client_id in sorted(absent | set(prompts)):
        sent = [m for m in messages if m.get("client_id") == client_id and m["template"] in (NO_SHOW, NO_SHOW_EMAIL)]
        no_shows.append({"client_id": client_id, "absent": client_id in absent, "messages": sent,
                         "prompt": prompts.get(client_id)})
    s = state.session
    return {"id": s.id, "starts_at": s.starts_at, "ends_at": s.ends_at, "site": s.site, "status": state.status,
            "staff_id": s.staff.id, "invitees": len(state.invitees), "attendance_count": state.attendance_count,
            "no_shows": no_shows}


@coordinators_only
async def message_log(ctx: Ctx) -> web.Response:
    q = ctx.request.query
    kind = q.get("kind", "client")
    kind = kind if kind in KINDS else "client"
    value = q.get("id", "").strip()[:128]
    messages: list[dict[str, Any]] = []
    session = None
    if value:
        messages = await _messages(ctx, kind, value)
        if kind == "session":
            session = await _session(ctx, value, messages)
    return ctx.render("messages", section="messages", kind=kind, value=value, kinds=KIND_LABELS,
                      messages=messages, session=session, searched=bool(value), limit=LIMIT,
                      session_labels=SESSION_LABELS, ref_labels=REF_LABELS,
                      stamp=stamper(ctx.language, ctx.rt.settings.timezone))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/messages", message_log)
