"""One console request's context: who asks, in which language, with which form; the guards
every console page goes through (sign-in, coordinators only, CSRF) and the labels pages share."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aiohttp import web

from notifier.console.auth import (
    COOKIE,
    COOKIE_PATH,
    SESSION_SECONDS,
    ConsoleAuth,
    Coordinator,
    Visitor,
    is_coordinator,
)
from notifier.console.forms import N_
from notifier.app.runtime import Runtime
from notifier.web.app_keys import RUNTIME
from notifier.staff.pages import ORGANISATION_LABELS, SITE_NAMES, page_language
from notifier.staff.pages import read_form as read_posted_form
from notifier.web.route_log import route_pattern

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
        log.warning("console: form refused (CSRF token missing or not this visitor's) at %s", route_pattern(ctx.request))
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
