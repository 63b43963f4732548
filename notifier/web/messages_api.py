"""`/api/messages`: the fate of each message, for case systems and coordinators."""

from __future__ import annotations

from aiohttp import web

from notifier.validation import FieldError
from notifier.web.auth import CASE_SYSTEM, require_role
from notifier.web.app_keys import RUNTIME
from notifier.web.problems import Problem
from notifier.web.views import message_view

LOOKUPS = {"client_id": "client", "staff_id": "staff", "session_id": "session"}


async def get_message(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_role(request, rt.settings, CASE_SYSTEM)
    message = await rt.store.get(request.match_info["id"])
    if message is None:
        raise Problem(404, "no such message")
    return web.json_response(message_view(message, rt.settings.timezone))


async def list_messages(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_role(request, rt.settings, CASE_SYSTEM)
    given = [(param, ref) for param, ref in LOOKUPS.items() if request.query.get(param)]
    if len(given) != 1:
        raise Problem(422, "give exactly one of client_id, staff_id, session_id",
                      [FieldError(p, "exactly one is required") for p in LOOKUPS])
    param, ref = given[0]
    messages = await rt.store.find(ref, request.query[param][:128])
    return web.json_response({"messages": [message_view(m, rt.settings.timezone) for m in messages]})
