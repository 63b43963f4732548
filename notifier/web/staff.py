"""Staff communication on the web: the coordinators' API and the staff's self-service pages."""

from __future__ import annotations

from aiohttp import web

from notifier.web import staff_api
from notifier.staff import pages as staff_pages


def add_routes(app: web.Application) -> None:
    staff_api.add_routes(app)
    staff_pages.add_routes(app)
