"""`GET /metrics` (Prometheus text format) and the counter of answers given to webhooks in.

The numbers live in Redis (`notifier/messages/metrics.py`), so every web process shows the same totals
for the whole service. No personal data is in any metric: labels are templates, channels,
statuses, endpoints and event types.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from notifier.messages import metrics, metrics_scrape
from notifier.web.app_keys import ANSWER_COUNTED as COUNTED, RUNTIME

log = logging.getLogger("notifier.web.metrics")

#: Paths whose answers are counted in `notifier_webhooks_total`.
WEBHOOK_PREFIX = "/webhooks/"


async def get_metrics(request: web.Request) -> web.Response:
    body = await metrics_scrape.render(request.app[RUNTIME].redis)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def _answer_field(request: web.Request, status: int) -> str:
    route = request.match_info.route.resource
    return f"{route.canonical if route is not None else 'other'}|{status}"


def count_accepted(request: web.Request, pipe: Pipeline) -> None:
    """Queue the count of a webhook's answer into the transaction that stores what it accepted
    (no round trip of its own). Once that transaction has run, the handler marks the request
    (`ANSWER_COUNTED`) so that the hook below does not count it again."""
    pipe.hincrby(metrics.WEBHOOKS, _answer_field(request, 202), 1)  # accepted: 202


async def count_webhook_answer(request: web.Request, response: web.StreamResponse) -> None:
    """Count each answer to a webhook by endpoint and status, just before it goes out (unless it
    was counted with its transaction: every accepted event is).

    A Redis hiccup must not cost the case system its answer: the count is then skipped.
    """
    if not request.path.startswith(WEBHOOK_PREFIX) or request.get(COUNTED):
        return
    with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
        await asyncio.wait_for(
            request.app[RUNTIME].redis.hincrby(metrics.WEBHOOKS, _answer_field(request, response.status), 1), 2)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", get_metrics)
    app.on_response_prepare.append(count_webhook_answer)
