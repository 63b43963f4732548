"""The client's rebooking page, `/r/<code>`: from the no-show SMS or e-mail, in the client's language.

Plain server-rendered HTML, no JavaScript, readable on a phone. Opening the link changes nothing
(mail scanners and link previews open links first): the page lists the site's upcoming sessions
the client can choose (not full, not cancelled, not started) and "call me instead", each a button
that POSTs. The form carries a CSRF token derived from the link's code (an HMAC under the
service's secret), so only a page served for that link can post to it. Pages show the session's
time and place and nothing about the client or anybody else. A bad, unknown or expired link gets
a "link not valid" page (404); a second choice on a used link 409; a session that is not on
offer (another site, full, gone) 400 with the offers again; none of them changes anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from aiohttp import web

from notifier.app.runtime import Runtime
from notifier.clock import utcnow
from notifier.kickoff.rebooking import CALL_ME, RebookLink, book, call_me_instead, offers, read_link
from notifier.kickoff.store import load_session
from notifier.staff.pages import SECURITY_HEADERS, page_language, read_form
from notifier.web.app_keys import RUNTIME

log = logging.getLogger("notifier.rebooking")


def _page(rt: Runtime, template: str, language: str, status: int = 200, **context: Any) -> web.Response:
    body = rt.renderer.page(f"pages/{template}.html", language, context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


def csrf_token(rt: Runtime, code: str) -> str:
    s = rt.settings
    key = (s.signing_secrets[0] if s.signing_secrets else s.webhook_secret or (s.data_keys[0] if s.data_keys else ""))
    return hmac.new(key.encode(), f"rebook:{code}".encode(), hashlib.sha256).hexdigest()[:32]


async def _link(request: web.Request) -> tuple[Runtime, RebookLink] | web.Response:
    rt = request.app[RUNTIME]
    link = await read_link(rt.redis, request.match_info["code"])
    if link is None or (not link.choice and link.expires_at <= utcnow()):
        return _page(rt, "rebook-invalid", link.language if link else page_language(request), status=404)
    return rt, link


async def _offer_page(rt: Runtime, link: RebookLink, status: int = 200, problem: str = "") -> web.Response:
    sessions = [{"id": s.session.id, "starts_at": s.session.starts_at.isoformat(), "ends_at": s.session.ends_at.isoformat(),
                 "place": s.session.location.address_in(link.language)} for s in await offers(rt, link, utcnow())]
    return _page(rt, "rebook", link.language, status=status, sessions=sessions, csrf=csrf_token(rt, link.code),
                 problem=problem, call_me=CALL_ME)


async def _done_page(rt: Runtime, link: RebookLink, status: int = 200, again: bool = False) -> web.Response:
    chosen = None
    if link.choice and link.choice != CALL_ME:
        state = await load_session(rt.redis, rt.store.sealer, link.choice)
        if state is not None:
            chosen = {"starts_at": state.session.starts_at.isoformat(),
                      "place": state.session.location.address_in(link.language)}
    return _page(rt, "rebook-done", link.language, status=status, chosen=chosen, called=link.choice == CALL_ME,
                 again=again)


async def rebook_page(request: web.Request) -> web.Response:
    found = await _link(request)
    if isinstance(found, web.Response):
        return found
    rt, link = found
    if link.choice:
        return await _done_page(rt, link)
    return await _offer_page(rt, link)


async def choose(request: web.Request) -> web.Response:
    found = await _link(request)
    if isinstance(found, web.Response):
        return found
    rt, link = found
    form = await read_form(request)
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(token, csrf_token(rt, link.code)):
        return _page(rt, "rebook-refused", link.language, status=403)
    if link.choice:
        return await _done_page(rt, link, status=409, again=True)
    choice = form.get("choice")
    now = utcnow()
    if choice == CALL_ME:
        result = await call_me_instead(rt, link.code, now)
    elif choice == "session" and isinstance(form.get("session_id"), str) and form.get("session_id"):
        answer = await book(rt, link.code, str(form.get("session_id"))[:128], now)
        result = answer["result"]
    else:
        return await _offer_page(rt, link, status=400, problem="choose")
    if result == "unavailable":
        return await _offer_page(rt, link, status=400, problem="unavailable")
    if result == "expired":
        return _page(rt, "rebook-invalid", link.language, status=404)
    fresh = await read_link(rt.redis, link.code) or link
    if result == "used":
        return await _done_page(rt, fresh, status=409, again=True)
    log.info("rebooking link used: client %s chose %s", link.client_id, "a call" if result == "called" else "a session",
             extra={"event": "client.rebooked" if result == "booked" else "client.call_requested"})
    raise web.HTTPSeeOther(f"/r/{link.code}", headers=SECURITY_HEADERS)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/r/{code}", rebook_page)
    app.router.add_post("/r/{code}", choose)
