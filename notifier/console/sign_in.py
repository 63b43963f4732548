"""Console sign-in and out: a one-time link by e-mail, opened with a button (mail scanners open
links), then a session cookie; the language switch and the console's one script."""

from __future__ import annotations

import logging

from aiohttp import web

from notifier.resources import TEMPLATE_DIR
from notifier.console.auth import is_coordinator, request_sign_in
from notifier.console.forms import N_, FormError
from notifier.validation import LANGUAGES, parse_email

from notifier.console.context import HOME, Ctx, coordinators_only, read_form, visitor_context

log = logging.getLogger("notifier.console")


async def home(request: web.Request) -> web.Response:
    ctx = await visitor_context(request)
    if isinstance(ctx, web.Response):
        return ctx
    return ctx.redirect(HOME if ctx.coordinator else "/console/sign-in")


async def sign_in_form(request: web.Request) -> web.Response:
    ctx = await visitor_context(request)
    if isinstance(ctx, web.Response):
        return ctx
    if ctx.coordinator is not None and is_coordinator(ctx.rt.settings, ctx.coordinator.email):
        return ctx.redirect(HOME)
    return ctx.render("sign-in", email="", signed_out=request.query.get("signed_out") == "1",
                      configured=bool(ctx.rt.settings.coordinators))


async def sign_in(request: web.Request) -> web.Response:
    """Sends a sign-in link to a coordinator's address; answers the same page for any address."""
    ctx = await visitor_context(request)
    if isinstance(ctx, web.Response):
        return ctx
    refused = await read_form(ctx)
    if refused is not None:
        return refused
    language = ctx.form.get("language")
    ctx.language = language if language in LANGUAGES else ctx.language
    raw = ctx.form.get("email")
    typed = raw[:300] if isinstance(raw, str) else ""
    email = parse_email(typed)
    if email is None:
        errors = {"email": FormError("email", N_("Enter your work e-mail address, like name@example.fi"))}
        return ctx.render("sign-in", status=400, email=typed, errors=errors, signed_out=False,
                          configured=bool(ctx.rt.settings.coordinators))
    await request_sign_in(ctx.rt, email, ctx.language)
    return ctx.render("sign-in-sent")


async def _link(request: web.Request) -> tuple[Ctx, str, dict[str, str]] | web.Response:
    ctx = await visitor_context(request)
    if isinstance(ctx, web.Response):
        return ctx
    nonce = ctx.auth.link_nonce(request.match_info["token"])
    record = await ctx.auth.peek_link(nonce) if nonce else None
    if nonce is None or record is None:
        return ctx.render("invalid-link", status=404)
    ctx.language = record["language"]
    return ctx, nonce, record


async def sign_in_link(request: web.Request) -> web.Response:
    """Opening the link changes nothing (mail scanners open links); the page's button signs in."""
    found = await _link(request)
    if isinstance(found, web.Response):
        return found
    ctx, _, record = found
    return ctx.render("sign-in-link", email=record["email"])


async def use_sign_in_link(request: web.Request) -> web.Response:
    found = await _link(request)
    if isinstance(found, web.Response):
        return found
    ctx, nonce, _ = found
    refused = await read_form(ctx)
    if refused is not None:
        return refused
    record = await ctx.auth.use_link(nonce)
    if record is None:  # used a moment ago by someone else
        return ctx.render("invalid-link", status=404)
    if not is_coordinator(ctx.rt.settings, record["email"]):
        return ctx.render("refused", status=403, reason="not-coordinator")
    if ctx.visitor.session_id:
        await ctx.auth.end_session(ctx.visitor.session_id)
    sid, cookie = await ctx.auth.start_session(record["email"], record["language"])
    log.info("console: a coordinator signed in (session %s…)", sid[:6])
    ctx.new_cookie = cookie
    return ctx.redirect(HOME)


@coordinators_only
async def sign_out(ctx: Ctx) -> web.Response:
    assert ctx.coordinator is not None
    await ctx.auth.end_session(ctx.coordinator.session_id)
    _, ctx.new_cookie = ctx.auth.anonymous_cookie()
    return ctx.redirect(f"/console/sign-in?signed_out=1&lang={ctx.language}")


@coordinators_only
async def choose_language(ctx: Ctx) -> web.Response:
    assert ctx.coordinator is not None
    language = ctx.form.get("language")
    if language in LANGUAGES:
        await ctx.auth.set_language(ctx.coordinator.session_id, language)
    back = ctx.form.get("back")
    safe = isinstance(back, str) and back.startswith("/console/") and "//" not in back and "\\" not in back
    return ctx.redirect(back if safe else HOME)


async def script(request: web.Request) -> web.StreamResponse:
    """The console's one script: live delivery status and preview heights (the pages work without it)."""
    return web.FileResponse(TEMPLATE_DIR / "shared" / "console" / "console.js",
                            headers={"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache",
                                     "X-Content-Type-Options": "nosniff"})
