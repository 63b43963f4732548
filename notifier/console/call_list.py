"""The call list (soittolista) of one kickoff session, for the staff member who makes the calls.

Reached from the call-prompt e-mail through a signed link (`kickoff/tokens.py`); the staff
member need not be a coordinator or be signed in. It lives under `/console` so that its forms get
the console's CSRF protection (the anonymous console cookie binds each form's token). Opening
the link changes nothing; every change is a POSTed form.

Each absent client: a `tel:` link, the call script in the staff member's language (and in the
client's, when it differs), every call made so far, and a form for the outcome of the current
attempt. The form posts to the prompt's own URL, so the outcome lands on that prompt, through the
same `calls.record_call` as `POST /api/call-prompts/{id}/outcome` (same records, same callbacks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from notifier.clock import utcnow
from notifier.console.context import Ctx, read_form, visitor_context
from notifier.console.message_log import stamper
from notifier.kickoff.calls import CallConflict, record_call, session_prompts, unreachable_clients
from notifier.kickoff.keys import call_requests_key
from notifier.kickoff.model import KickoffState
from notifier.kickoff.planning import CALL_SCRIPT
from notifier.kickoff.store import OUTCOMES, CallPrompt, load_session
from notifier.kickoff.tokens import CallListLinks
from notifier.validation import LANGUAGES

NOTE_MAX = 2000
DONE = ("reached", "rescheduled")


async def _session(ctx: Ctx) -> KickoffState | None:
    claim = CallListLinks.from_settings(ctx.rt.settings).read(ctx.request.match_info["token"])
    if claim is None:
        return None
    state = await load_session(ctx.rt.redis, ctx.rt.store.sealer, claim.session_id[:128])
    if state is None or state.session.staff.id != claim.staff_id:
        return None
    lang = ctx.request.query.get("lang", "")
    ctx.language = lang if lang in LANGUAGES else state.session.staff.language
    return state


def _tel(phone: str | None) -> str | None:
    return "tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+") if phone else None


def _script(ctx: Ctx, prompt: CallPrompt, language: str) -> str:
    return ctx.rt.renderer.text(CALL_SCRIPT, language, {**prompt.context, "first_name": prompt.first_name})


def client_rows(ctx: Ctx, state: KickoffState, prompts: list[CallPrompt], unreachable: dict[str, Any],
                now: datetime, call_requests: set[str] = frozenset()) -> list[dict[str, Any]]:
    """One row per client with prompts: the chain of attempts, its current prompt and status."""
    chains: dict[str, list[CallPrompt]] = {}
    for p in prompts:
        chains.setdefault(p.client_id, []).append(p)
    absent = set(state.absent)
    rows = []
    for client_id, chain in chains.items():
        chain.sort(key=lambda p: p.attempt)
        current = chain[-1]
        latest = next((o for p in reversed(chain) for o in reversed(p.outcomes)), None)
        if client_id not in absent:
            status = "withdrawn"
        elif latest is not None and latest.outcome in DONE:
            status = "done"
        elif client_id in unreachable:
            status = "unreachable"
        elif current.due_at is not None and current.due_at > now:
            status = "later"
        else:
            status = "open"
        history = [{"attempt": p.attempt, "outcome": o.outcome, "note": o.note, "at": o.at}
                   for p in chain for o in p.outcomes]
        rows.append({
            "client_id": client_id, "name": current.name, "phone": current.phone, "tel": _tel(current.phone),
            "language": current.language, "status": status, "attempt": current.attempt,
            "call_requested": client_id in call_requests,
            "due_at": current.due_at, "prompt_id": current.id, "history": history,
            "script": _script(ctx, current, ctx.language),
            "client_script": _script(ctx, current, current.language) if current.language != ctx.language else None,
        })
    order = {"open": 0, "later": 1, "unreachable": 2, "done": 3, "withdrawn": 4}
    rows.sort(key=lambda r: (order[r["status"]], r["name"]))
    return rows


async def _render(ctx: Ctx, state: KickoffState, status: int = 200, **extra: Any) -> web.Response:
    prompts = await session_prompts(ctx.rt, state)
    requests = {k.decode() for k in await ctx.rt.redis.hkeys(call_requests_key(state.session.id))}
    rows = client_rows(ctx, state, prompts, await unreachable_clients(ctx.rt, state.session.id), utcnow(), requests)
    s = state.session
    return ctx.render("call-list", status=status, session=s, rows=rows, outcomes=OUTCOMES,
                      token=ctx.request.match_info["token"], max_attempts=ctx.rt.settings.call_attempts,
                      stamp=stamper(ctx.language, ctx.rt.settings.timezone), note_max=NOTE_MAX,
                      saved=ctx.request.query.get("saved", ""), errors=extra.pop("errors", {}),
                      form_for=extra.pop("form_for", ""), form=extra.pop("form", {}), **extra)


def _invalid(ctx: Ctx) -> web.Response:
    return ctx.render("call-list-invalid", status=404)


async def call_list(request: web.Request) -> web.Response:
    ctx = await visitor_context(request)
    if isinstance(ctx, web.Response):
        return ctx
    state = await _session(ctx)
    if state is None:
        return _invalid(ctx)
    return await _render(ctx, state)


async def record(request: web.Request) -> web.Response:
    """One call's outcome from the form; bad input re-shows the page (400) and records nothing."""
    ctx = await visitor_context(request)
    if isinstance(ctx, web.Response):
        return ctx
    refused = await read_form(ctx)  # 403 without this visitor's CSRF token
    if refused is not None:
        return refused
    state = await _session(ctx)
    if state is None:
        return _invalid(ctx)
    prompt_id = request.match_info["prompt"][:128]
    prompts = {p.id: p for p in await session_prompts(ctx.rt, state)}
    prompt = prompts.get(prompt_id)
    if prompt is None or prompt.client_id not in state.absent:
        return _invalid(ctx)
    outcome = ctx.form.get("outcome")
    note = ctx.form.get("note", "")
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = "missing"
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        errors["note"] = "long"
    if errors:
        form = {"outcome": outcome if isinstance(outcome, str) else "", "note": note if isinstance(note, str) else ""}
        return await _render(ctx, state, status=400, errors=errors, form_for=prompt.id, form=form)
    assert isinstance(outcome, str) and isinstance(note, str)
    try:
        await record_call(ctx.rt, prompt, outcome, note.strip(), utcnow())
    except CallConflict:
        return await _render(ctx, state, status=409, form_for=prompt.id, errors={"outcome": "conflict"},
                             form={"outcome": outcome, "note": note})
    return ctx.redirect(f"/console/calls/{ctx.request.match_info['token']}?lang={ctx.language}"
                        f"&saved={prompt.client_id}#c-{prompt.client_id}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/calls/{token}", call_list)
    app.router.add_post("/console/calls/{token}/{prompt}", record)
