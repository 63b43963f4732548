"""The coordinators' console: server-rendered pages under `/console` for the people who run the pilot.

Sign-in, sessions and CSRF are in `notifier/console.py`; the pages are in `console_changes.py`,
`console_announcements.py`, `console_log.py` and `console_directory.py`. Handlers are thin: a
form becomes the JSON API's document (`console_forms.py`), which goes through the same parser and
the same function the API handler calls. Pages are plain HTML forms that work without JavaScript
(one small script refreshes a delivery status in place), in Finnish or Swedish as the coordinator
chooses, every string from the Babel catalogs and everything typed escaped by Jinja2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web

from ..config import TEMPLATE_DIR
from ..console import (COOKIE, COOKIE_PATH, SESSION_SECONDS, ConsoleAuth, Coordinator, TooSoon, Visitor,
                       is_coordinator, request_sign_in)
from ..console_forms import N_, FormError
from ..runtime import Runtime
from ..validation import LANGUAGES, Reader
from .keys import RUNTIME
from .staff_pages import ORGANISATION_LABELS, SITE_NAMES, page_language
from .staff_pages import read_form as read_posted_form

log = logging.getLogger("notifier.console")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
HOME = "/console/practice-changes"

STATUS_LABELS = {
    "created": N_("Waiting"),
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "temporary-failure": N_("Retrying"),
    "permanent-failure": N_("Failed"),
    "technical-failure": N_("Technical failure"),
    "cancelled": N_("Cancelled"),
    "skipped-no-mobile": N_("Skipped (no mobile)"),
}
CHANNEL_LABELS = {"email": N_("E-mail"), "sms": N_("SMS"), "letter": N_("Letter"), "suomifi": N_("Suomi.fi"),
                  "none": N_("No channel")}
OUTCOME_LABELS = {"reached": N_("Reached"), "no-answer": N_("No answer"), "wrong-number": N_("Wrong number"),
                  "rescheduled": N_("Rescheduled")}
PROMPT_LABELS = {"open": N_("To call"), "done": N_("Called"), "withdrawn": N_("Withdrawn: attended after all")}
LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska"}


@dataclass
class Ctx:
    """One console request: who is asking, in which language, and the form they sent."""

    request: web.Request
    rt: Runtime
    auth: ConsoleAuth
    visitor: Visitor
    coordinator: Coordinator | None
    language: str
    form: Any = None
    new_cookie: str | None = None
    flash: list[str] = field(default_factory=list)

    @property
    def csrf(self) -> str:
        return self.auth.csrf_token(self.visitor)

    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        body = self.rt.renderer.page(f"console/{template}.html", self.language, {
            "coordinator": self.coordinator, "csrf": self.csrf, "section": context.pop("section", ""),
            "path": self.request.path_qs,
            "organisation_labels": ORGANISATION_LABELS, "site_names": SITE_NAMES, "status_labels": STATUS_LABELS,
            "channel_labels": CHANNEL_LABELS, "outcome_labels": OUTCOME_LABELS, "prompt_labels": PROMPT_LABELS,
            "language_names": LANGUAGE_NAMES, "errors": {}, **context,
        })
        return self.finish(web.Response(text=body, status=status, content_type="text/html", charset="utf-8",
                                        headers=SECURITY_HEADERS))

    def redirect(self, location: str) -> web.Response:
        return self.finish(web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS}))

    def finish(self, response: web.Response) -> web.Response:
        if self.new_cookie is not None:
            set_cookie(self.request, self.rt, response, self.new_cookie)
        return response


def set_cookie(request: web.Request, rt: Runtime, response: web.StreamResponse, value: str) -> None:
    secure = rt.settings.public_url.startswith("https://") or request.secure
    response.set_cookie(COOKIE, value, max_age=SESSION_SECONDS, path=COOKIE_PATH, httponly=True, secure=secure,
                        samesite="Lax")


def errors_by_field(errors: dict[str, FormError] | list[FormError]) -> dict[str, FormError]:
    return errors if isinstance(errors, dict) else {e.field: e for e in errors}


# -- building a request's context -----------------------------------------------------------------


def unavailable(request: web.Request, rt: Runtime) -> web.Response:
    body = rt.renderer.page("console/unavailable.html", page_language(request), {"coordinator": None, "csrf": "",
                                                                                  "section": "", "errors": {}})
    return web.Response(text=body, status=503, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


async def visitor_context(request: web.Request) -> Ctx | web.Response:
    """Anyone: the console cookie read (and an anonymous one made, for CSRF tokens before sign-in)."""
    rt = request.app[RUNTIME]
    auth = ConsoleAuth.of(rt)
    if not auth.available:
        return unavailable(request, rt)
    visitor = auth.read_cookie(request.cookies.get(COOKIE))
    coordinator = await auth.session(visitor.session_id) if visitor.session_id else None
    new_cookie = None
    if coordinator is None and visitor.anonymous_id is None:
        anon, new_cookie = auth.anonymous_cookie()
        visitor = Visitor(None, anon)
    language = coordinator.language if coordinator else page_language(request)
    return Ctx(request, rt, auth, visitor, coordinator, language, new_cookie=new_cookie)


async def read_form(ctx: Ctx) -> web.Response | None:
    """Read a POSTed form; a refusal page unless its CSRF token belongs to this visitor's cookie."""
    form = await read_posted_form(ctx.request)  # 400 for a body that is not a form
    token = form.get("csrf")
    if not ctx.auth.csrf_ok(ctx.visitor, token if isinstance(token, str) else ""):
        # The route, not the path: a sign-in path carries a live one-time token.
        route = ctx.request.match_info.route.resource
        log.warning("console: form refused (CSRF token missing or not this visitor's) at %s",
                    route.canonical if route is not None else "?")
        return ctx.render("refused", status=403, reason="csrf")
    ctx.form = form
    return None


Handler = Callable[[Ctx], Awaitable[web.Response]]


def coordinators_only(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Signed-in coordinators only; a POST also needs the form's CSRF token."""

    async def wrapped(request: web.Request) -> web.Response:
        ctx = await visitor_context(request)
        if isinstance(ctx, web.Response):
            return ctx
        if ctx.coordinator is None:
            return ctx.redirect("/console/sign-in")
        if not is_coordinator(ctx.rt.settings, ctx.coordinator.email):
            # No longer in NOTIFIER_COORDINATORS: the session ends here.
            await ctx.auth.end_session(ctx.coordinator.session_id)
            ctx.coordinator = None
            return ctx.render("refused", status=403, reason="not-coordinator")
        if request.method == "POST":
            refused = await read_form(ctx)
            if refused is not None:
                return refused
        return await handler(ctx)

    return wrapped


# -- sign-in and out ------------------------------------------------------------------------------


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
    email = Reader({"email": typed}, "").email("email", required=True)
    if email is None:
        errors = {"email": FormError("email", N_("Enter your work e-mail address, like name@example.fi"))}
        return ctx.render("sign-in", status=400, email=typed, errors=errors, signed_out=False,
                          configured=bool(ctx.rt.settings.coordinators))
    try:
        await request_sign_in(ctx.rt, email, ctx.language)
    except TooSoon:
        return ctx.render("sign-in-sent", too_soon=True)
    return ctx.render("sign-in-sent", too_soon=False)


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


def add_routes(app: web.Application) -> None:
    from . import console_announcements, console_changes, console_directory, console_log

    r = app.router
    r.add_get("/console", home)
    r.add_get("/console/", home)
    r.add_get("/console/console.js", script)
    r.add_get("/console/sign-in", sign_in_form)
    r.add_post("/console/sign-in", sign_in)
    r.add_get("/console/sign-in/{token}", sign_in_link)
    r.add_post("/console/sign-in/{token}", use_sign_in_link)
    r.add_post("/console/sign-out", sign_out)
    r.add_post("/console/language", choose_language)
    console_changes.add_routes(app)
    console_announcements.add_routes(app)
    console_log.add_routes(app)
    console_directory.add_routes(app)
