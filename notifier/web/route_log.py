"""What a log line may say about a request: its route pattern, never its path or query."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


def route_pattern(request: web.Request) -> str:
    """`/preferences/{token}` rather than the path, which can carry a live sign-in, preferences,
    unsubscribe or acknowledgement token (and the query, an SMS delivery-report token)."""
    route = request.match_info.route if request.match_info else None
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "(no route)"


class RouteAccessLogger(AbstractAccessLogger):
    """aiohttp's access log, by route: `GET /preferences/{token} 200 3.1ms` (at DEBUG), no path, no query,
    no client address (`notifier serve` and the tests' servers use it instead of aiohttp's own)."""

    @property
    def enabled(self) -> bool:
        """Only at DEBUG: otherwise aiohttp neither times nor hands over each request (its public
        switch for access loggers)."""
        return self.logger.isEnabledFor(logging.DEBUG)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = route_pattern(request) if isinstance(request, web.Request) else "(no route)"
        self.logger.debug("%s %s %d %.1fms", request.method, route, response.status, time * 1000)
