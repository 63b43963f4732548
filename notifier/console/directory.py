"""Console pages for the staff directory: list, add, edit, and the weekly digest on or off.

Saving is `validate(…, StaffInput)` + `StaffDirectory.save`, as `PUT /api/staff/{id}` does (same checks,
same 409 for an address someone else has, shown next to the e-mail field). The digest switch is
`StaffDirectory.update_choices`, the call a person's own preferences page makes.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from notifier.console.forms import (
    EMAIL_TAKEN,
    ID_TAKEN,
    NOT_MOBILE,
    FormError,
    form_errors,
    staff_document,
    staff_values,
)
from notifier.phones import mobile_e164
from notifier.staff.model import StaffMember
from notifier.staff.contract import StaffInput
from notifier.staff.directory import DuplicateEmail, StaffDirectory, check_staff_id
from notifier.validation import Invalid, validate
from notifier.console.context import Ctx, coordinators_only

log = logging.getLogger("notifier.console")


def member_values(m: StaffMember) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "email": m.email, "phone": m.phone or "", "language": m.language,
            "organisation": m.organisation, "site": m.site, "digest": m.digest}


@coordinators_only
async def list_staff(ctx: Ctx) -> web.Response:
    staff = await StaffDirectory.of(ctx.rt).all()
    site, org = ctx.request.query.get("site", ""), ctx.request.query.get("organisation", "")
    sites = sorted({m.site for m in staff})
    organisations = sorted({m.organisation for m in staff})
    shown = [m for m in staff if (not site or m.site == site) and (not org or m.organisation == org)]
    shown.sort(key=lambda m: (m.site, m.organisation, m.name.lower(), m.id))
    return ctx.render("staff", section="staff", staff=shown, total=len(staff), sites=sites,
                      organisations=organisations, site=site, organisation=org,
                      saved=ctx.request.query.get("saved", "")[:128])


async def _form(ctx: Ctx, values: dict[str, Any], adding: bool, status: int = 200, **extra: Any) -> web.Response:
    organisations, sites = await StaffDirectory.of(ctx.rt).codes()
    return ctx.render("staff-form", status=status, section="staff", values=values, adding=adding,
                      organisations=organisations, sites=sites, **extra)


@coordinators_only
async def new_member(ctx: Ctx) -> web.Response:
    values = {"id": "", "name": "", "email": "", "phone": "", "language": "fi", "organisation": "", "site": "",
              "digest": True}
    return await _form(ctx, values, adding=True)


async def _save(ctx: Ctx, staff_id: str, values: dict[str, Any], adding: bool) -> web.Response:
    errors: dict[str, FormError] = {}
    try:
        check_staff_id(staff_id)
    except Invalid as exc:
        errors.update(form_errors(exc.errors))
    try:
        data = validate(staff_document(values), StaffInput)
    except Invalid as exc:
        errors.update(form_errors(exc.errors, values))
    else:
        if data.phone and not errors.get("phone") and mobile_e164(data.phone) is None:
            # The field is the mobile number SMS announcements go to: a landline cannot take them.
            errors["phone"] = FormError("phone", NOT_MOBILE)
    dir_ = StaffDirectory.of(ctx.rt)
    if not errors and adding and await dir_.get(staff_id) is not None:
        errors["id"] = FormError("id", ID_TAKEN)
    if errors:
        return await _form(ctx, values, adding, status=400, errors=errors)
    try:
        member, created = await dir_.save(staff_id, data, source="console")
    except DuplicateEmail as exc:
        errors["email"] = FormError("email", EMAIL_TAKEN, {"id": exc.other_id})
        return await _form(ctx, values, adding, status=409, errors=errors)
    log.info("console: staff member %s %s", member.id, "added" if created else "updated")
    return ctx.redirect(f"/console/staff?saved={member.id}#staff-{member.id}")


@coordinators_only
async def add_member(ctx: Ctx) -> web.Response:
    values = staff_values(ctx.form)
    return await _save(ctx, values["id"].strip(), values, adding=True)


async def _member(ctx: Ctx) -> StaffMember | None:
    return await StaffDirectory.of(ctx.rt).get(ctx.request.match_info["id"][:128])


@coordinators_only
async def edit_member(ctx: Ctx) -> web.Response:
    member = await _member(ctx)
    if member is None:
        return ctx.render("not-found", status=404, section="staff")
    return await _form(ctx, member_values(member), adding=False, revoked=ctx.request.query.get("revoked") == "1")


@coordinators_only
async def update_member(ctx: Ctx) -> web.Response:
    member = await _member(ctx)
    if member is None:
        return ctx.render("not-found", status=404, section="staff")
    values = {**staff_values(ctx.form), "id": member.id}
    return await _save(ctx, member.id, values, adding=False)


@coordinators_only
async def revoke_links(ctx: Ctx) -> web.Response:
    """Every personal link of the person stops working (`StaffDirectory.revoke_links`)."""
    member = await _member(ctx)
    if member is None:
        return ctx.render("not-found", status=404, section="staff")
    generation = await StaffDirectory.of(ctx.rt).revoke_links(member.id)
    log.info("console: staff member %s links revoked (generation %s)", member.id, generation)
    return ctx.redirect(f"/console/staff/{member.id}/edit?revoked=1")


@coordinators_only
async def switch_digest(ctx: Ctx) -> web.Response:
    member = await _member(ctx)
    if member is None:
        return ctx.render("not-found", status=404, section="staff")
    on = ctx.form.get("digest") == "on"
    await StaffDirectory.of(ctx.rt).update_choices(member.id, member.nonce, digest=on)
    log.info("console: staff member %s digest %s", member.id, "on" if on else "off")
    return ctx.redirect(f"/console/staff?saved={member.id}#staff-{member.id}")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/staff", list_staff)
    r.add_get("/console/staff/new", new_member)
    r.add_post("/console/staff/new", add_member)
    r.add_get("/console/staff/{id}/edit", edit_member)
    r.add_post("/console/staff/{id}/edit", update_member)
    r.add_post("/console/staff/{id}/digest", switch_digest)
    r.add_post("/console/staff/{id}/revoke-links", revoke_links)
