"""Console pages for practice changes: the list with acknowledgement progress, the form with its
digest preview in each language, and per change who has read it, with a reminder button.

Posting goes through `validate(…, ChangeInput)` and `PracticeChanges.add`, exactly as `POST
/api/practice-changes` does; the acknowledgement table is `acknowledgement_report`, as in
`GET /api/practice-changes/{id}/acknowledgements`.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from aiohttp import web

from notifier.console.forms import change_document, change_values, form_errors
from notifier.staff.planning import current_week
from notifier.messages.intake import Conflict
from notifier.console.planning import digest_preview, not_acknowledged, preview_change, progress
from notifier.staff.model import PracticeChange
from notifier.staff.planning import acknowledgement_report
from notifier.staff.contract import ChangeInput
from notifier.staff.practice import PracticeChanges
from notifier.staff.keys import acks_key
from notifier.staff.reminders import remind, reminders_sent
from notifier.staff.directory import StaffDirectory
from notifier.clock import utcnow
from notifier.validation import LANGUAGES, Invalid, validate
from notifier.console.context import Ctx, coordinators_only

log = logging.getLogger("notifier.console")

#: Stand-in readers of previews (nobody real: a preview is not a message to anyone).
PREVIEW_NAMES = {"fi": "Matti Meikäläinen", "sv": "Sven Svensson"}


def previews(ctx: Ctx, change: PracticeChange) -> list[dict[str, Any]]:
    """The change in the weekly digest, in each language, rendered by the digest's own templates."""
    week = current_week(utcnow(), ctx.rt.settings.timezone)
    out = []
    for language in LANGUAGES:
        planned = digest_preview(change, language, PREVIEW_NAMES[language], week)
        content = ctx.rt.composer.preview_email(planned)
        out.append({"language": language, "subject": content.subject, "html": content.html, "text": content.text})
    return out


@coordinators_only
async def list_changes(ctx: Ctx) -> web.Response:
    changes = await PracticeChanges(ctx.rt.redis).latest(100)
    staff = await StaffDirectory.of(ctx.rt).all()
    async with ctx.rt.redis.pipeline(transaction=False) as pipe:
        for c in changes:
            pipe.hgetall(acks_key(c.id))
        raw = await pipe.execute()
    rows = []
    for change, acks in zip(changes, raw):
        acked = {k.decode(): datetime.fromisoformat(v.decode()) for k, v in acks.items()}
        groups = acknowledgement_report(change, staff, acked)
        rows.append({"change": change, "progress": progress(groups)})
    return ctx.render("changes", section="changes", rows=rows)


async def _form(ctx: Ctx, values: dict[str, Any], status: int = 200, **extra: Any) -> web.Response:
    organisations, sites = await StaffDirectory.of(ctx.rt).codes()
    return ctx.render("change-form", status=status, section="changes", values=values, organisations=organisations,
                      sites=sites, **extra)


@coordinators_only
async def new_change(ctx: Ctx) -> web.Response:
    values = {"title_fi": "", "title_sv": "", "body_fi": "", "body_sv": "", "effective_from": "",
              "sites": [], "organisations": []}
    return await _form(ctx, values)


@coordinators_only
async def post_change(ctx: Ctx) -> web.Response:
    """`action=preview` shows the digest preview; `action=post` posts (as the API does)."""
    values = change_values(ctx.form)
    try:
        data = validate(change_document(values), ChangeInput)
    except Invalid as exc:
        return await _form(ctx, values, status=400, errors=form_errors(exc.errors, values))
    if ctx.form.get("action") != "post":
        change = preview_change(data.title.as_dict(), data.body.as_dict(), data.effective_from, utcnow(), data.sites, data.organisations)
        return await _form(ctx, values, previews=previews(ctx, change))
    change = await PracticeChanges(ctx.rt.redis).add(data)
    log.info("console: practice change %s posted", change.id)
    return ctx.redirect(f"/console/practice-changes/{change.id}?posted=1")


async def _report(ctx: Ctx, change: PracticeChange) -> tuple[list[Any], Any]:
    acks = await PracticeChanges(ctx.rt.redis).acks(change.id)
    groups = acknowledgement_report(change, await StaffDirectory.of(ctx.rt).all(), acks)
    return groups, progress(groups)


@coordinators_only
async def show_change(ctx: Ctx) -> web.Response:
    change = await PracticeChanges(ctx.rt.redis).get(ctx.request.match_info["id"][:128])
    if change is None:
        return ctx.render("not-found", status=404, section="changes")
    groups, done = await _report(ctx, change)
    q = ctx.request.query
    reminded = q.get("reminded")
    return ctx.render(
        "change", section="changes", change=change, title=change.title.get(ctx.language) or change.title["fi"], groups=groups, progress=done, previews=previews(ctx, change),
        waiting=len(not_acknowledged(groups)), reminders=await reminders_sent(ctx.rt, change.id),
        request_id=secrets.token_urlsafe(12), posted=q.get("posted") == "1",
        reminded=int(reminded) if reminded and reminded.isdigit() else None,
    )


@coordinators_only
async def send_reminder(ctx: Ctx) -> web.Response:
    change = await PracticeChanges(ctx.rt.redis).get(ctx.request.match_info["id"][:128])
    if change is None:
        return ctx.render("not-found", status=404, section="changes")
    request_id = ctx.form.get("request_id")
    if not isinstance(request_id, str) or not request_id:
        request_id = secrets.token_urlsafe(12)
    try:
        answer = await remind(ctx.rt, change, request_id)
    except Conflict:
        answer = {"recipients": 0}
    log.info("console: reminder for practice change %s to %d staff", change.id, answer["recipients"])
    return ctx.redirect(f"/console/practice-changes/{change.id}?reminded={answer['recipients']}#reminders")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/practice-changes", list_changes)
    r.add_get("/console/practice-changes/new", new_change)
    r.add_post("/console/practice-changes/new", post_change)
    r.add_get("/console/practice-changes/{id}", show_change)
    r.add_post("/console/practice-changes/{id}/remind", send_reminder)

