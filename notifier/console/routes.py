"""The coordinators' console: server-rendered pages under `/console` for the people who run the pilot.

Sign-in, sessions and CSRF tokens are in `auth.py`, the request context and guards in
`context.py`, the sign-in pages in `sign_in.py`; the other pages are in `changes.py`,
`announcements.py`, `message_log.py`, `directory.py` and `coaches.py`; this module only routes. Handlers are thin: a
form becomes the JSON API's document (`forms.py`), which goes through the same parser and
the same function the API handler calls. Pages are plain HTML forms that work without JavaScript
(one small script refreshes a delivery status in place), in Finnish or Swedish as the coordinator
chooses, every string from the Babel catalogs and everything typed escaped by Jinja2.
"""

from __future__ import annotations

from aiohttp import web

from notifier.console import announcements as console_announcements
from notifier.console import attention as console_attention
from notifier.console import call_list
from notifier.console import figures as console_figures
from notifier.console import changes as console_changes
from notifier.console import coaches as console_coaches
from notifier.console import directory as console_directory
from notifier.console import message_log as console_log
from notifier.console import sign_in


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/console", sign_in.home)
    r.add_get("/console/", sign_in.home)
    r.add_get("/console/console.js", sign_in.script)
    r.add_get("/console/sign-in", sign_in.sign_in_form)
    r.add_post("/console/sign-in", sign_in.sign_in)
    r.add_get("/console/sign-in/{token}", sign_in.sign_in_link)
    r.add_post("/console/sign-in/{token}", sign_in.use_sign_in_link)
    r.add_post("/console/sign-out", sign_in.sign_out)
    r.add_post("/console/language", sign_in.choose_language)
    console_changes.add_routes(app)
    console_announcements.add_routes(app)
    console_log.add_routes(app)
    console_directory.add_routes(app)
    call_list.add_routes(app)
    console_attention.add_routes(app)
    console_figures.add_routes(app)
    console_coaches.add_routes(app)
