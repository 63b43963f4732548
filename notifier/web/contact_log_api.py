"""The contact log over HTTP (bearer `NOTIFIER_API_TOKEN`, or the coordinators' token): one client's, or everyone's as CSV.

`GET /api/clients/{id}/contacts` → `{"client_id", "contacts": [...]}`;
`GET /api/contacts.csv?from=2026-11-01&to=2026-11-30` → CSV with a header row (`contacts.COLUMNS`),
the days in `NOTIFIER_TIMEZONE`, both inclusive. No message content, no names or addresses.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any, Callable

from aiohttp import web
from msgspec import Struct, field

from notifier.messages import contact_log as contacts
from notifier.validation import Day, Invalid, validate
from notifier.web.auth import CASE_SYSTEM, require_role
from notifier.web.app_keys import RUNTIME
from notifier.web.problems import Problem

#: The longest range one export covers (about five years): bounds the work a request can ask for.
MAX_DAYS = 5 * 366


async def client_contacts(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_role(request, rt.settings, CASE_SYSTEM)
    client_id = request.match_info["id"]
    if not 1 <= len(client_id) <= 128:
        raise Problem(404, "no such client")
    found = await contacts.client_contacts(rt.redis, client_id)
    tz = rt.settings.timezone
    return web.json_response({"client_id": client_id, "contacts": [c.row(tz) for c in found]})


class DayRange(Struct, frozen=True):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD`: both inclusive, at most MAX_DAYS."""

    start: Day = field(name="from")
    end: Day = field(name="to")

    @staticmethod
    def cross_check(values: dict[str, Any], fail: Callable[[str, str], None]) -> None:
        start, end = values.get("start"), values.get("end")
        if start is not None and end is not None:
            if end < start:
                fail("to", "must not be before 'from'")
            elif (end - start).days >= MAX_DAYS or end >= date.max:
                fail("to", f"must be less than {MAX_DAYS} days after 'from'")


def read_range(query: dict[str, str]) -> tuple[date, date]:
    try:
        days = validate(query, DayRange)
    except Invalid as exc:
        raise Problem(422, "give the days as from=YYYY-MM-DD&to=YYYY-MM-DD", exc.errors) from None
    return days.start, days.end


async def contacts_csv(request: web.Request) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    require_role(request, rt.settings, CASE_SYSTEM)
    start, end = read_range({k: request.query[k] for k in ("from", "to") if k in request.query})
    tz = rt.settings.timezone
    low, high = contacts.day_range(start, end, tz)
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="contacts-{start.isoformat()}-{end.isoformat()}.csv"',
        "Cache-Control": "no-store",
    })
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=contacts.COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    rows = 0
    async for contact in contacts.contacts_between(rt.redis, low, high):
        writer.writerow(contact.row(tz))
        rows += 1
        if rows % contacts.BATCH == 0:
            await response.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/clients/{id}/contacts", client_contacts)
    app.router.add_get("/api/contacts.csv", contacts_csv)

