"""Self-service pages for staff: subscribe (double opt-in), preferences, unsubscribe, acknowledge.

Plain server-rendered HTML in Finnish or Swedish (Jinja2 with the Babel catalogs, autoescaped),
small enough for a phone and with no JavaScript. Every personal page is reached through a signed
link (`links.py`); a bad, expired or someone else's link gets the same "link not valid" page.

Links in e-mails are opened by mail scanners (Safe Links and the like) before people see them,
so a GET never changes anything: it shows a page with a button, and the button POSTs. The one
exception to "needs a click" is RFC 8058 one-click unsubscribe, where the mail client itself
POSTs to the List-Unsubscribe URL.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from notifier.messages.intake import Outcome, commit
from notifier.staff.links import ACKNOWLEDGE, PREFERENCES, SUBSCRIBE, UNSUBSCRIBE, Links, StaffClaim
from notifier.staff.model import StaffMember
from notifier.staff.planning import localized, plan_subscribe_confirmation
from notifier.staff.practice import PracticeChanges
from notifier.app.runtime import Runtime
from notifier.staff.directory import (
    PENDING_TTL,
    DuplicateEmail,
    StaffDirectory,
    known_codes,
    may_send_confirmation,
    new_staff_id,
    read_pending,
    stage_pending,
)
from notifier.staff.keys import pending_key, subscribe_confirmed_key
from notifier.clock import new_id, utcnow
from notifier.i18n import N_
from notifier.staff.contract import NewSubscriber, StaffInput
from notifier.validation import LANGUAGES, Invalid, parse_email, validate
from notifier.web.app_keys import RUNTIME
from notifier.web.throttle import client_key, over_limit

log = logging.getLogger("notifier.pages")



#: Labels for organisation codes (others are shown as they are). `te-office` and `ely-centre`
#: are codes from before 2025/2026 that directories may still hold: labelled as today's bodies.
ORGANISATION_LABELS = {
    "employment-area": N_("Employment area"),
    "te-office": N_("Employment area"),
    "provider": N_("Service provider"),
    "municipality": N_("Municipality"),
    "elinvoimakeskus": N_("Elinvoimakeskus"),
    "ely-centre": N_("Elinvoimakeskus"),
}
#: Place names in each language (bilingual municipalities have two).
SITE_NAMES = {"turku": {"fi": "Turku", "sv": "Åbo"}, "salo": {"fi": "Salo", "sv": "Salo"}}

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the URL holds a personal token
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def page(rt: Runtime, template: str, language: str, status: int = 200, **context: Any) -> web.Response:
    body = rt.renderer.page(f"pages/{template}.html", language, {
        "organisation_labels": ORGANISATION_LABELS, "site_names": SITE_NAMES, **context,
    })
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)


async def read_form(request: web.Request) -> Any:
    """The posted form; a body aiohttp cannot parse (e.g. multipart without a boundary) is a 400."""
    try:
        return await request.post()
    except ValueError:
        raise web.HTTPBadRequest(reason="the form cannot be read") from None


def page_language(request: web.Request) -> str:
    """`?lang=` if given, else the browser's preference, else Finnish."""
    lang = request.query.get("lang", "")
    if lang in LANGUAGES:
        return lang
    accept = request.headers.get("Accept-Language", "").strip().lower()
    return "sv" if accept.startswith("sv") else "fi"


def invalid_link(rt: Runtime, language: str) -> web.Response:
    return page(rt, "invalid-link", language, status=404)


def parts(request: web.Request) -> tuple[Runtime, Links, StaffDirectory]:
    rt = request.app[RUNTIME]
    return rt, Links.from_settings(rt.settings), StaffDirectory.of(rt)


async def staff_from_token(request: web.Request, purpose: str) -> tuple[Runtime, StaffDirectory, StaffMember, StaffClaim] | web.Response:
    rt, links, directory = parts(request)
    if not links.available:
        return page(rt, "unavailable", page_language(request), status=503)
    claim = links.read_staff(purpose, request.match_info["token"])
    member = await directory.get(claim.staff_id) if claim else None
    if claim is None or member is None or not claim.matches(member):
        return invalid_link(rt, page_language(request))
    return rt, directory, member, claim


# -- /subscribe -----------------------------------------------------------------------------------


async def subscribe_form(request: web.Request) -> web.Response:
    rt, links, _ = parts(request)
    language = page_language(request)
    if not links.available:
        return page(rt, "unavailable", language, status=503)
    return page(rt, "subscribe", language, email="", error=False)


async def subscribe(request: web.Request) -> web.Response:
    """Sends a confirmation link to a known or allowed address; answers the same page either way."""
    rt, links, directory = parts(request)
    form = await read_form(request)
    language = form.get("language") if form.get("language") in LANGUAGES else page_language(request)
    assert isinstance(language, str)
    if not links.available:
        return page(rt, "unavailable", language, status=503)
    secret = rt.settings.signing_secrets[0] if rt.settings.signing_secrets else rt.settings.webhook_secret or ""
    if await over_limit(rt.redis, "subscribe", client_key(request, secret, rt.settings.trusted_proxies),
                        rt.settings.subscribe_limit_per_hour):
        return page(rt, "too-many", language, status=429)
    raw = form.get("email")
    email = parse_email(raw)
    if email is None:
        return page(rt, "subscribe", language, status=400, email=raw if isinstance(raw, str) else "", error=True)
    member = await directory.find_by_email(email)
    allowed = email.rpartition("@")[2].lower() in rt.settings.staff_email_domains
    if (member is not None or allowed) and await may_send_confirmation(directory, email):
        pending_id = new_id()
        planned = plan_subscribe_confirmation(
            member.name if member else "", email, language, links.confirm_subscription(pending_id),
            member.id if member else None,
        )

        async def decide() -> Outcome:
            return Outcome(messages=[planned],
                           stage=lambda pipe, ids: stage_pending(pipe, rt.store.sealer, pending_id, email, language))

        answer = await commit(rt.store, decide)
        log.info("subscription confirmation %s queued (staff %s)", answer["messages"][0], member.id if member else "-")
    return page(rt, "subscribe-sent", language)


async def _pending(request: web.Request) -> tuple[Runtime, StaffDirectory, str, dict[str, str], StaffMember | None] | web.Response:
    rt, links, directory = parts(request)
    if not links.available:
        return page(rt, "unavailable", page_language(request), status=503)
    payload = links.read(SUBSCRIBE, request.match_info["token"])
    pending_id = payload.get("p") if payload else None
    pending = await read_pending(rt.redis, rt.store.sealer, pending_id) if isinstance(pending_id, str) else None
    if pending is None:
        if isinstance(pending_id, str) and (done := await already_confirmed(rt, directory, pending_id)):
            return done
        return invalid_link(rt, page_language(request))
    assert isinstance(pending_id, str)
    return rt, directory, pending_id, pending, await directory.find_by_email(pending["email"])


async def choices(directory: StaffDirectory) -> tuple[list[str], list[str]]:
    """Organisations and sites a self-subscriber chooses from: known codes only, never free text
    ("TE-toimisto" typed in would become a group of its own that no change is aimed at)."""
    return known_codes(*await directory.codes_by_source(), ORGANISATION_LABELS, SITE_NAMES)


async def already_confirmed(rt: Runtime, directory: StaffDirectory, pending_id: str) -> web.Response | None:
    """A used link of someone still subscribed: say so, instead of "not valid … copied incompletely"."""
    staff_id = await rt.redis.get(subscribe_confirmed_key(pending_id))
    member = await directory.get(staff_id.decode()) if staff_id else None
    if member is None or not member.digest:
        return None
    return page(rt, "already-confirmed", member.language)


async def confirm_form(request: web.Request) -> web.Response:
    found = await _pending(request)
    if isinstance(found, web.Response):
        return found
    rt, directory, _, pending, member = found
    organisations, sites = await choices(directory)
    return page(rt, "subscribe-confirm", pending["language"], known=member is not None,
                organisations=organisations, sites=sites, form={}, errors={})


async def confirm(request: web.Request) -> web.Response:
    found = await _pending(request)
    if isinstance(found, web.Response):
        return found
    rt, directory, pending_id, pending, member = found
    links = Links.from_settings(rt.settings)
    language = pending["language"]
    if member is None:
        form = await read_form(request)
        values = {k: form.get(k) if isinstance(form.get(k), str) else None for k in ("name", "organisation", "site")}
        organisations, sites = await choices(directory)
        errors: dict[str, bool] = {}
        try:
            subscriber = validate(values, NewSubscriber)
        except Invalid as exc:
            errors = {e.field: True for e in exc.errors}
        else:  # known codes only: a typed-in "TE-toimisto" would be a group no change is aimed at
            errors = {f: True for f, code, known in (("organisation", subscriber.organisation, organisations),
                                                    ("site", subscriber.site, sites)) if code not in known}
        if errors:
            return page(rt, "subscribe-confirm", language, status=400, known=False, organisations=organisations,
                        sites=sites, form=values, errors=errors)
    # The link works once: whoever deletes the pending record first goes on, even for two clicks
    # at the same moment.
    if not await rt.redis.delete(pending_key(pending_id)):
        # Used between our reading it and now (a second click): the first click subscribes them.
        return page(rt, "already-confirmed", language)
    if member is None:
        try:
            member, _ = await directory.save(
                new_staff_id(), StaffInput(subscriber.name, pending["email"], language, subscriber.organisation,
                                           subscriber.site, None, True), source="self",
            )
        except DuplicateEmail:  # a coordinator added them meanwhile
            member = await directory.find_by_email(pending["email"])
    if member is not None:
        member = await directory.update_choices(member.id, member.nonce, digest=True) or member
    if member is None:
        return invalid_link(rt, language)
    await rt.redis.set(subscribe_confirmed_key(pending_id), member.id, ex=PENDING_TTL)
    log.info("staff %s subscribed to the digest", member.id)
    return page(rt, "subscribed", member.language, preferences_url=links.preferences(member))


# -- /preferences and /unsubscribe ----------------------------------------------------------------


async def preferences_form(request: web.Request) -> web.Response:
    found = await staff_from_token(request, PREFERENCES)
    if isinstance(found, web.Response):
        return found
    rt, _, member, _ = found
    return page(rt, "preferences", member.language, member=member, saved=False)


async def save_preferences(request: web.Request) -> web.Response:
    found = await staff_from_token(request, PREFERENCES)
    if isinstance(found, web.Response):
        return found
    rt, directory, member, claim = found
    form = await read_form(request)
    language = form.get("language")
    if language not in LANGUAGES:
        return page(rt, "preferences", member.language, status=400, member=member, saved=False)
    assert isinstance(language, str)
    updated = await directory.update_choices(member.id, claim.nonce, language=language, digest=form.get("digest") == "on")
    if updated is None:
        return invalid_link(rt, member.language)
    log.info("staff %s changed preferences (digest=%s)", updated.id, updated.digest)
    return page(rt, "preferences", updated.language, member=updated, saved=True)


async def unsubscribe_form(request: web.Request) -> web.Response:
    found = await staff_from_token(request, UNSUBSCRIBE)
    if isinstance(found, web.Response):
        return found
    rt, _, member, _ = found
    return page(rt, "unsubscribe", member.language, member=member)


async def unsubscribe(request: web.Request) -> web.Response:
    """RFC 8058 one-click: a POST (from the mail client or the page's button) unsubscribes."""
    found = await staff_from_token(request, UNSUBSCRIBE)
    if isinstance(found, web.Response):
        return found
    rt, directory, member, claim = found
    updated = await directory.update_choices(member.id, claim.nonce, digest=False)
    if updated is None:
        return invalid_link(rt, member.language)
    log.info("staff %s unsubscribed from the digest", member.id)
    links = Links.from_settings(rt.settings)
    return page(rt, "unsubscribed", member.language, preferences_url=links.preferences(updated))


# -- /acknowledge ---------------------------------------------------------------------------------


async def _acknowledgement(request: web.Request) -> tuple[Runtime, StaffMember, Any, PracticeChanges] | web.Response:
    found = await staff_from_token(request, ACKNOWLEDGE)
    if isinstance(found, web.Response):
        return found
    rt, _, member, claim = found
    changes = PracticeChanges(rt.redis)
    change = await changes.get(claim.change_id or "")
    if change is None:
        return invalid_link(rt, member.language)
    return rt, member, change, changes


def _change_context(change: Any, language: str) -> dict[str, Any]:
    title, title_ok = localized(change.title, language)
    body, body_ok = localized(change.body, language)
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    return {"title": title, "paragraphs": paragraphs, "translated": title_ok and body_ok,
            "effective_from": change.effective_from.isoformat()}


async def acknowledge_form(request: web.Request) -> web.Response:
    found = await _acknowledgement(request)
    if isinstance(found, web.Response):
        return found
    rt, member, change, changes = found
    at = await changes.acknowledged_at(change.id, member.id)
    return page(rt, "acknowledge", member.language, change=_change_context(change, member.language),
                acknowledged_at=at.isoformat() if at else None, just_now=False)


async def acknowledge(request: web.Request) -> web.Response:
    found = await _acknowledgement(request)
    if isinstance(found, web.Response):
        return found
    rt, member, change, changes = found
    at = await changes.acknowledge(change.id, member.id, utcnow(), callbacks=bool(rt.settings.status_callback_url))
    log.info("staff %s acknowledged practice change %s", member.id, change.id)
    return page(rt, "acknowledge", member.language, change=_change_context(change, member.language),
                acknowledged_at=at.isoformat(), just_now=True)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/subscribe", subscribe_form)
    r.add_post("/subscribe", subscribe)
    r.add_get("/subscribe/confirm/{token}", confirm_form)
    r.add_post("/subscribe/confirm/{token}", confirm)
    r.add_get("/preferences/{token}", preferences_form)
    r.add_post("/preferences/{token}", save_preferences)
    r.add_get("/unsubscribe/{token}", unsubscribe_form)
    r.add_post("/unsubscribe/{token}", unsubscribe)
    r.add_get("/acknowledge/{token}", acknowledge_form)
    r.add_post("/acknowledge/{token}", acknowledge)
