"""`/api/call-prompts`: the calls staff make to clients who missed their kickoff session.

`GET /api/call-prompts?session_id=…` lists a session's prompts with the client's name and phone
(staff need them to call; bearer token as for the rest of `/api/*`) and the call script in the
*client's* language. `POST /api/call-prompts/{id}/outcome` records how a call went.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifier.kickoff.planning import CALL_SCRIPT
from notifier.kickoff.store import CallPrompt, load_prompts, load_session, record_outcome
from notifier.messages.contact_log import stage_recorded_call
from notifier.clock import utcnow
from notifier.coaching.handlers import record_call_contact
from notifier.kickoff.contract import CallOutcomeInput
from notifier.validation import FieldError, Invalid, validate
from notifier.web.auth import CASE_SYSTEM, require_role
from notifier.web.jsonbody import json_body
from notifier.web.app_keys import RUNTIME
from notifier.web.problems import Problem
from notifier.web.views import local


def prompt_view(prompt: CallPrompt, absent: set[str], script: str, request: web.Request) -> dict[str, Any]:
    tz = request.app[RUNTIME].settings.timezone
    latest = prompt.outcomes[-1] if prompt.outcomes else None
    if latest is not None:
        state = "done"
    elif prompt.client_id not in absent:
        state = "withdrawn"  # a corrected attendance says the client was there after all
    else:
        state = "open"
    return {
        "id": prompt.id,
        "session_id": prompt.session_id,
        "client_id": prompt.client_id,
        "staff_id": prompt.staff_id,
        "name": prompt.name,
        "phone": prompt.phone,
        "language": prompt.language,
        "status": state,
        "script": script,
        "created_at": local(prompt.created_at, tz),
        "outcome": latest.outcome if latest else None,
        "outcomes": [{"outcome": o.outcome, "note": o.note or None, "at": local(o.at, tz)} for o in prompt.outcomes],
    }


def _view(request: web.Request, prompt: CallPrompt, absent: set[str]) -> dict[str, Any]:
    rt = request.app[RUNTIME]
    context = {**prompt.context, "first_name": prompt.first_name}
    script = rt.renderer.text(CALL_SCRIPT, prompt.language, context)
    return prompt_view(prompt, absent, script, request)


async def list_call_prompts(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_role(request, rt.settings, CASE_SYSTEM)
    session_id = request.query.get("session_id", "").strip()
    if not session_id:
        raise Problem(422, "session_id is required", [FieldError("session_id", "is required")])
    state = await load_session(rt.redis, rt.store.sealer, session_id[:128])
    if state is None:
        raise Problem(404, "no such kickoff session")
    prompts = await load_prompts(rt.redis, rt.store.sealer, list(state.prompts.values()))
    absent = set(state.absent)
    return web.json_response({"session_id": session_id,
                              "call_prompts": [_view(request, p, absent) for p in prompts]})


async def record_call_outcome(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    require_role(request, rt.settings, CASE_SYSTEM)
    prompt_id = request.match_info["id"][:128]
    found = await load_prompts(rt.redis, rt.store.sealer, [prompt_id])
    if not found:
        raise Problem(404, "no such call prompt")
    try:
        body = validate(await json_body(request, 64 * 1024), CallOutcomeInput)
    except Invalid as exc:
        raise Problem(422, "the outcome does not match the API contract", exc.errors) from None
    at = utcnow()
    await record_outcome(rt.redis, rt.store.sealer, found[0], body.outcome, body.note or "", at,
                         also=stage_recorded_call(found[0], body.outcome, at, callbacks=bool(rt.settings.status_callback_url)))
    if body.outcome == "reached":  # a call that reached the client is a contact of the coaching rhythm
        await record_call_contact(rt, found[0].client_id, at)
    [prompt] = await load_prompts(rt.redis, rt.store.sealer, [prompt_id])
    state = await load_session(rt.redis, rt.store.sealer, prompt.session_id)
    return web.json_response(_view(request, prompt, set(state.absent) if state else set()))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/call-prompts", list_call_prompts)
    app.router.add_post("/api/call-prompts/{id}/outcome", record_call_outcome)
