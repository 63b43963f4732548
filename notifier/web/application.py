"""The aiohttp application: routes and the middleware that turns errors into problem+json."""

from __future__ import annotations

import logging

from aiohttp import web
from redis.exceptions import RedisError
from standardwebhooks.webhooks import Webhook

from notifier.app.config import Settings
from notifier.app.runtime import Runtime
from notifier.app import key_canary
from notifier.coaching.planning import warm_holidays
from notifier.console import routes as console_routes
from notifier.kickoff import pages as rebooking_pages
from notifier.staff import pages as staff_pages
from notifier.web import (
    call_prompts,
    contact_log_api,
    docs,
    messages_api,
    metrics_endpoint,
    sms_reports,
    staff_api,
)
from notifier.web import webhooks
from notifier.web.app_keys import RUNTIME, WEBHOOK
from notifier.web.problems import Problem, problem
from notifier.web.route_log import route_pattern

log = logging.getLogger("notifier.web")


@web.middleware
async def problem_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except Problem as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/problem+json":
            # Keep the error's own headers: a 405 must carry `Allow` (RFC 9110 15.5.6), a 413 may carry
            # `Retry-After`, and so on; only the body and its type are replaced.
            return problem(exc.status, exc.reason, headers=exc.headers)
        raise
    except RedisError as exc:
        log.error("redis unavailable while answering %s %s: %s", request.method, route_pattern(request),
                  type(exc).__name__)
        return problem(503, "storage unavailable; retry later")


async def healthz(request: web.Request) -> web.Response:
    try:
        await request.app[RUNTIME].redis.ping()
    except (RedisError, OSError):
        return web.json_response({"status": "unavailable", "redis": "down"}, status=503)
    return web.json_response({"status": "ok", "redis": "up"})


def create_app(settings: Settings, runtime: Runtime | None = None) -> web.Application:
    if not settings.webhook_secret:
        raise RuntimeError("NOTIFIER_WEBHOOK_SECRET is not set")
    app = web.Application(middlewares=[problem_middleware], client_max_size=settings.max_body_bytes + 1)
    app[RUNTIME] = runtime or Runtime.create(settings)
    app[WEBHOOK] = Webhook(settings.webhook_secret)

    async def close_redis(app: web.Application) -> None:
        if runtime is None:
            await app[RUNTIME].redis.aclose()

    async def check_data_key(app: web.Application) -> None:
        """Write the data key canary on first start, and refuse to serve with a key that cannot
        open the stored data (key_canary.py). Redis down at start: the check is left to workers."""
        rt = app[RUNTIME]
        try:
            await key_canary.ensure(rt.redis, rt.store.sealer)
        except (RedisError, OSError) as exc:
            log.warning("data key not checked at start: Redis unavailable (%s)", type(exc).__name__)

    async def warm(app: web.Application) -> None:
        """What the first requests would otherwise pay for: the holiday calendars (coaching deadlines)."""
        rt = app[RUNTIME]
        warm_holidays(rt.clock().astimezone(rt.settings.timezone).date())

    app.on_startup.append(check_data_key)
    app.on_startup.append(warm)
    app.on_cleanup.append(close_redis)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/webhooks/case-events", webhooks.case_events)
    app.router.add_get("/api/messages/{id}", messages_api.get_message)
    app.router.add_get("/api/messages", messages_api.list_messages)
    call_prompts.add_routes(app)
    sms_reports.add_routes(app)
    staff_api.add_routes(app)
    staff_pages.add_routes(app)
    rebooking_pages.add_routes(app)
    metrics_endpoint.add_routes(app)
    contact_log_api.add_routes(app)
    console_routes.add_routes(app)
    docs.add_routes(app)  # last: documents every route above
    return app
