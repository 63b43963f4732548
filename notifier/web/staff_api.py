"""Coordinators' API for staff communication (bearer `NOTIFIER_API_TOKEN`).

`/api/staff` (the directory), `/api/practice-changes` (and their acknowledgements),
`/api/digests` (runs of the weekly digest) and `/api/announcements`. Handlers are thin: bodies
are the models of `staff/contract.py`, decisions in `staff/planning.py`, storing in `intake.py`.
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from typing import Any

from aiohttp import web

from notifier.staff import announcements
from notifier.staff.digest import WeekInFuture, recent_runs, run_report, start_run
from notifier.messages.intake import Conflict
from notifier.staff.model import PracticeChange, StaffMember
from notifier.staff.planning import acknowledgement_report
from notifier.staff.practice import PracticeChanges
from notifier.staff.contract import ChangeInput, DigestRunInput, StaffInput
from notifier.staff.announcements import parse_announcement
from notifier.app.runtime import Runtime
from notifier.staff.directory import (
    DuplicateEmail,
    StaffDirectory,
    check_staff_id,
    duplicate_error,
)
from notifier.messages import status as st
from notifier.clock import utcnow
from notifier.validation import DateTime, Day, FieldError, Invalid, validate, validate_value
from notifier.web.auth import COORDINATOR, require_role
from notifier.web.jsonbody import json_body, parse_json, read_body, decode_utf8
from notifier.web.app_keys import RUNTIME
from notifier.web.problems import Problem
from notifier.web.views import local


def _rt(request: web.Request) -> Runtime:
    rt = request.app[RUNTIME]
    require_role(request, rt.settings, COORDINATOR)
    return rt


def staff_view(m: StaffMember) -> dict[str, Any]:
    return {
        "id": m.id, "name": m.name, "email": m.email, "phone": m.phone, "language": m.language,
        "organisation": m.organisation, "site": m.site, "digest": m.digest,
    }


def change_view(c: PracticeChange, rt: Runtime) -> dict[str, Any]:
    return {
        "id": c.id, "title": dict(c.title), "body": dict(c.body),
        "effective_from": c.effective_from.isoformat(), "sites": list(c.sites),
        "organisations": list(c.organisations), "posted_at": local(c.posted_at, rt.settings.timezone),
    }


def invalid(detail: str, exc: Invalid) -> Problem:
    return Problem(422, detail, exc.errors)


# -- staff directory ------------------------------------------------------------------------------


async def put_staff(request: web.Request) -> web.Response:
    rt = _rt(request)
    staff_id = request.match_info["id"]
    try:
        check_staff_id(staff_id)
        data = validate(await json_body(request, rt.settings.max_body_bytes), StaffInput)
    except Invalid as exc:
        raise invalid("the staff member does not match the API", exc) from None
    try:
        member, created = await StaffDirectory.of(rt).save(staff_id, data)
    except DuplicateEmail as exc:
        raise Problem(409, "another staff member has this e-mail address", duplicate_error(exc.other_id).errors) from None
    return web.json_response(staff_view(member), status=201 if created else 200)


async def list_staff(request: web.Request) -> web.Response:
    rt = _rt(request)
    members = await StaffDirectory.of(rt).all()
    site, org = request.query.get("site"), request.query.get("organisation")
    members = [m for m in members if (not site or m.site == site) and (not org or m.organisation == org)]
    return web.json_response({"staff": [staff_view(m) for m in members]})


async def get_staff(request: web.Request) -> web.Response:
    rt = _rt(request)
    member = await StaffDirectory.of(rt).get(request.match_info["id"])
    if member is None:
        raise Problem(404, "no such staff member")
    return web.json_response(staff_view(member))


async def delete_staff(request: web.Request) -> web.Response:
    """Remove a person; what is still queued for them (a scheduled announcement, a digest not yet
    sent) is cancelled, so that a deleted person gets nothing more."""
    rt = _rt(request)
    staff_id = request.match_info["id"]
    if not await StaffDirectory.of(rt).delete(staff_id):
        raise Problem(404, "no such staff member")
    async with rt.redis.pipeline(transaction=False) as pipe:  # one round trip; refused for sent or final ones
        for message_id in await rt.store.ids_for("staff", staff_id, limit=100_000):
            await rt.store.move(message_id, st.CANCELLED, "staff-deleted", pipe=pipe)
        rt.store.log_executed(pipe, await pipe.execute())
    return web.Response(status=204)


# -- practice changes -----------------------------------------------------------------------------


async def post_change(request: web.Request) -> web.Response:
    rt = _rt(request)
    try:
        data = validate(await json_body(request, rt.settings.max_body_bytes), ChangeInput)
    except Invalid as exc:
        raise invalid("the practice change does not match the API", exc) from None
    change = await PracticeChanges(rt.redis).add(data)
    return web.json_response(change_view(change, rt), status=201)


def parse_since(value: str, rt: Runtime) -> datetime:
    """`since` as a date (from its start, local time) or a date and time with a UTC offset."""
    try:
        if len(value.strip()) == 10:
            return datetime.combine(validate_value(value, Day, "since"), time(0), rt.settings.timezone)
        return validate_value(value, DateTime, "since")
    except Invalid as exc:
        raise Problem(422, "since must be a date (2026-12-01) or a date and time with an offset", exc.errors) from None


async def list_changes(request: web.Request) -> web.Response:
    rt = _rt(request)
    since = request.query.get("since")
    after = None
    if since:
        after = parse_since(since, rt)
        after = datetime.fromtimestamp(after.timestamp() - 0.001, timezone.utc)  # `since` is inclusive
    changes = await PracticeChanges(rt.redis).posted_between(after)
    return web.json_response({"practice_changes": [change_view(c, rt) for c in changes]})


async def _change(request: web.Request, rt: Runtime) -> PracticeChange:
    change = await PracticeChanges(rt.redis).get(request.match_info["id"][:128])
    if change is None:
        raise Problem(404, "no such practice change")
    return change


async def get_change(request: web.Request) -> web.Response:
    rt = _rt(request)
    return web.json_response(change_view(await _change(request, rt), rt))


async def get_acknowledgements(request: web.Request) -> web.Response:
    rt = _rt(request)
    change = await _change(request, rt)
    acks = await PracticeChanges(rt.redis).acks(change.id)
    groups = acknowledgement_report(change, await StaffDirectory.of(rt).all(), acks)
    tz = rt.settings.timezone
    done = sum(len(g.acknowledged) for g in groups)
    todo = sum(len(g.not_acknowledged) for g in groups)
    return web.json_response({
        "practice_change": change.id,
        "concerned": done + todo,
        "acknowledged": done,
        "not_acknowledged": todo,
        "groups": [
            {
                "organisation": g.organisation,
                "site": g.site,
                "acknowledged": [{"id": m.id, "name": m.name, "at": local(at, tz)} for m, at in g.acknowledged],
                "not_acknowledged": [{"id": m.id, "name": m.name} for m in g.not_acknowledged],
            }
            for g in groups
        ],
    })


# -- digests --------------------------------------------------------------------------------------


async def run_digest(request: web.Request) -> web.Response:
    rt = _rt(request)
    if not rt.settings.signing_secrets:
        raise Problem(503, "NOTIFIER_SIGNING_SECRET is not set: digests cannot carry their personal links")
    body = await read_body(request, rt.settings.max_body_bytes)
    document = parse_json(decode_utf8(body)) if body.strip() else {}
    try:
        week = validate(document, DigestRunInput).week
    except Invalid as exc:
        raise invalid("the digest run does not match the API", exc) from None
    try:
        run_id = await start_run(rt, week, "api")
    except WeekInFuture:
        raise Problem(422, "the week has not started yet", [FieldError("week", "must not be in the future")]) from None
    report = await run_report(rt.redis, run_id)
    assert report is not None
    return web.json_response(report.to_dict(rt.settings.timezone), status=202)


async def get_run(request: web.Request) -> web.Response:
    rt = _rt(request)
    report = await run_report(rt.redis, request.match_info["id"][:64])
    if report is None:
        raise Problem(404, "no such digest run")
    return web.json_response(report.to_dict(rt.settings.timezone))


async def list_runs(request: web.Request) -> web.Response:
    rt = _rt(request)
    reports = [await run_report(rt.redis, i) for i in await recent_runs(rt.redis)]
    return web.json_response({"runs": [r.to_dict(rt.settings.timezone) for r in reports if r]})


# -- announcements --------------------------------------------------------------------------------


async def post_announcement(request: web.Request) -> web.Response:
    rt = _rt(request)
    document = await json_body(request, rt.settings.max_body_bytes)
    try:
        announcement = parse_announcement(document, utcnow())
    except Invalid as exc:
        raise invalid("the announcement does not match the API", exc) from None
    key = request.headers.get("Idempotency-Key", "")[:200]
    try:
        answer = await announcements.post_announcement(rt, announcement, key or None)
    except Invalid as exc:
        raise invalid("the announcement's audience is not valid", exc) from None
    except Conflict:
        raise Problem(409, "changed concurrently; retry") from None
    return web.json_response(answer, status=202)


async def get_announcement_status(request: web.Request) -> web.Response:
    rt = _rt(request)
    found = await announcements.delivery(rt, request.match_info["id"][:64])
    if found is None:
        raise Problem(404, "no such announcement")
    doc, messages, counts = found.doc, found.messages, found.counts
    tz = rt.settings.timezone
    return web.json_response({
        "id": doc["id"],
        "subject": doc["subject"],
        "channels": doc["channels"],
        "audience": doc["audience"],
        "send_at": local(datetime.fromisoformat(doc["send_at"]), tz) if doc["send_at"] else None,
        "created_at": local(datetime.fromisoformat(doc["created_at"]), tz),
        "recipients": doc["recipients"],
        "statuses": counts,
        "messages": [
            {"message_id": m.id, "staff_id": m.refs.get("staff"), "channel": m.channel, "language": m.language,
             "status": m.status, "reason": m.reason or None}
            for m in messages
        ],
    })


async def revoke_links(request: web.Request) -> web.Response:
    """Every personal link of the person stops working at once (see `links.py`)."""
    rt = _rt(request)
    staff_id = request.match_info["id"]
    generation = await StaffDirectory.of(rt).revoke_links(staff_id[:128])
    if generation is None:
        raise Problem(404, "no such staff member")
    return web.json_response({"id": staff_id, "link_generation": generation})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/staff", list_staff)
    r.add_get("/api/staff/{id}", get_staff)
    r.add_put("/api/staff/{id}", put_staff)
    r.add_delete("/api/staff/{id}", delete_staff)
    r.add_post("/api/staff/{id}/revoke-links", revoke_links)
    r.add_post("/api/practice-changes", post_change)
    r.add_get("/api/practice-changes", list_changes)
    r.add_get("/api/practice-changes/{id}", get_change)
    r.add_get("/api/practice-changes/{id}/acknowledgements", get_acknowledgements)
    r.add_post("/api/digests/run", run_digest)
    r.add_get("/api/digests/runs", list_runs)
    r.add_get("/api/digests/runs/{id}", get_run)
    r.add_post("/api/announcements", post_announcement)
    r.add_get("/api/announcements/{id}", get_announcement_status)
