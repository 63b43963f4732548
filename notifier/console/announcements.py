"""Console pages for announcements: the form, its preview with the recipient count, and the
delivery status, which refreshes by itself while messages are still going out.

Sending is `announcements.post_announcement`, the function `POST /api/announcements` calls, with
the document `parse_announcement` reads. An announcement is sent only as it was previewed: the
send button carries a fingerprint of the previewed content, and a form changed since then is
previewed again instead of sent. The form's request id is the idempotency key, so a double click
or a resent form sends once.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from aiohttp import web


from notifier.staff.announcements import (
    UNSETTLED,
    choose_recipients,
    delivery,
    mobile_numbers,
    post_announcement,
)
from notifier.console.forms import (
    NOW,
    N_,
    announcement_document,
    announcement_values,
    fingerprint,
    form_errors,
)
from notifier.messages.intake import Conflict
from notifier.messages.model import EMAIL, SMS
from notifier.console.planning import announcement_preview, reach
from notifier.staff.model import Announcement, StaffMember
from notifier.staff.contract import SMS_BODY_MAX
from notifier.staff.announcements import parse_announcement, recent_announcements
from notifier.staff.directory import StaffDirectory
from notifier.messages.status import CREATED, DELIVERED, SENT
from notifier.clock import utcnow
from notifier.validation import LANGUAGES, Invalid
from notifier.console.context import Ctx, coordinators_only
from notifier.console.changes import PREVIEW_NAMES

log = logging.getLogger("notifier.console")

SKIPPED_NO_MOBILE = "skipped-no-mobile"
REASON_LABELS = {"no-mobile-number": N_("No mobile number"), "invalid-phone": N_("Phone number not valid")}
#: How often the status page reloads itself without JavaScript (the script polls as often).
REFRESH_SECONDS = 3


def empty_values() -> dict[str, Any]:
    return {"subject_fi": "", "subject_sv": "", "body_fi": "", "body_sv": "", "when": NOW, "send_at": "",
            "sites": [], "organisations": [], "staff_ids": [], "channels": [EMAIL]}


def previews(ctx: Ctx, announcement: Announcement) -> list[dict[str, Any]]:
    """The announcement as each channel carries it, in each language (the real templates)."""
    out = []
    for language in LANGUAGES:
        planned = announcement_preview(announcement, language, PREVIEW_NAMES[language])
        item: dict[str, Any] = {"language": language}
        if EMAIL in planned:
            content = ctx.rt.composer.preview_email(planned[EMAIL])
            item.update(subject=content.subject, html=content.html)
        if SMS in planned:
            sms, encoding, parts = ctx.rt.composer.preview_sms(planned[SMS])
            item.update(sms=sms, sms_parts=parts, sms_encoding=encoding)
        out.append(item)
    return out


async def _form(ctx: Ctx, values: dict[str, Any], status: int = 200, **extra: Any) -> web.Response:
    staff = await StaffDirectory.of(ctx.rt).all()
    organisations = sorted({m.organisation for m in staff})
    sites = sorted({m.site for m in staff})
    people = sorted(staff, key=lambda m: (m.site, m.organisation, m.name.lower(), m.id))
    return ctx.render("announcement-form", status=status, section="announcements", values=values, sites=sites,
                      organisations=organisations, people=people, sms_max=SMS_BODY_MAX,
                      request_id=extra.pop("request_id", None) or secrets.token_urlsafe(12), **extra)


@coordinators_only
async def list_announcements(ctx: Ctx) -> web.Response:
    docs = await recent_announcements(ctx.rt.redis, 50)
    rows = [{**d, "created": datetime.fromisoformat(d["created_at"])} for d in docs]
    return ctx.render("announcements", section="announcements", rows=rows)


@coordinators_only
async def new_announcement(ctx: Ctx) -> web.Response:
    return await _form(ctx, empty_values())


@coordinators_only
async def post_form(ctx: Ctx) -> web.Response:
    """`action=preview`: the preview and who it reaches. `action=send`: send what was previewed."""
    now = utcnow()
    values = announcement_values(ctx.form)
    request_id = ctx.form.get("request_id") if isinstance(ctx.form.get("request_id"), str) else None
    document, own_errors = announcement_document(values, ctx.rt.settings.timezone, now)
    errors: dict[str, Any] = {}
    announcement: Announcement | None = None
    recipients: list[StaffMember] = []
    try:
        announcement = parse_announcement(document, now)
    except Invalid as exc:
        errors = form_errors(exc.errors, values)
    for e in own_errors:
        errors.setdefault(e.field, e)
    if announcement is not None and not errors:
        try:
            recipients = choose_recipients(await StaffDirectory.of(ctx.rt).all(), announcement)
        except Invalid as exc:
            errors = form_errors(exc.errors, values)
    if errors or announcement is None:
        return await _form(ctx, values, status=400, errors=errors, request_id=request_id)
    previewed = fingerprint(document)
    changed = False
    if ctx.form.get("action") == "send":
        if ctx.form.get("previewed") == previewed:
            try:
                answer = await post_announcement(ctx.rt, announcement, f"console:{(request_id or '')[:64]}:{previewed}")
            except Invalid as exc:
                return await _form(ctx, values, status=400, errors=form_errors(exc.errors, values), request_id=request_id)
            except Conflict:
                return await _form(ctx, values, status=409, errors={}, request_id=request_id, conflict=True)
            log.info("console: announcement %s sent to %d staff", answer["id"], answer["recipients"])
            return ctx.redirect(f"/console/announcements/{answer['id']}")
        changed = True
    return await _form(ctx, values, request_id=request_id, previewed=previewed, changed=changed,
                       reach=reach(announcement, recipients, mobile_numbers(recipients)),
                       previews=previews(ctx, announcement), scheduled=announcement.send_at)


def _rows(found: Any, names: dict[str, str], now: datetime) -> tuple[list[dict[str, Any]], dict[str, int], int]:
    rows, counts, pending = [], {}, 0
    for m in found.messages:
        status = m.status
        if status == CREATED and m.send_at is not None and m.send_at > now:
            status = "scheduled"
        elif m.reason == "no-mobile-number":
            # Never attempted: the person has no mobile number. Shown apart, not as a failure.
            status = SKIPPED_NO_MOBILE
        elif m.status in UNSETTLED:
            pending += 1
        counts[status] = counts.get(status, 0) + 1
        staff_id = m.refs.get("staff", "")
        rows.append({"staff_id": staff_id, "name": names.get(staff_id), "channel": m.channel, "language": m.language,
                     "status": status, "reason": "" if status == SKIPPED_NO_MOBILE else m.reason, "message_id": m.id})
    return rows, counts, pending


@coordinators_only
async def show_announcement(ctx: Ctx) -> web.Response:
    found = await delivery(ctx.rt, ctx.request.match_info["id"][:64])
    if found is None:
        return ctx.render("not-found", status=404, section="announcements")
    names = {m.id: m.name for m in await StaffDirectory.of(ctx.rt).all()}
    rows, counts, pending = _rows(found, names, utcnow())
    doc = found.doc
    done = sum(counts.get(s, 0) for s in (SENT, DELIVERED))
    skipped = counts.get(SKIPPED_NO_MOBILE, 0)
    return ctx.render(
        "announcement", section="announcements", doc=doc, rows=rows, counts=counts, pending=pending,
        sent=done, total=len(rows) - skipped, skipped=skipped, refresh=REFRESH_SECONDS if pending else None,
        send_at=datetime.fromisoformat(doc["send_at"]) if doc.get("send_at") else None,
        created=datetime.fromisoformat(doc["created_at"]), reason_labels=REASON_LABELS,
    )


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/announcements", list_announcements)
    r.add_get("/console/announcements/new", new_announcement)
    r.add_post("/console/announcements/new", post_form)
    r.add_get("/console/announcements/{id}", show_announcement)
