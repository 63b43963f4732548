"""A case system's status-callback receiver: a real aiohttp server on loopback that verifies each
post with `standardwebhooks` and answers as a test tells it to."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifier.app.embedded_redis import free_port

CALLBACK_SECRET = "whsec_dGhpcyBpcyBhIHRlc3QgY2FsbGJhY2sgc2VjcmV0IQ=="


@dataclass
class Post:
    webhook_id: str
    payload: dict[str, Any]
    status: int  # what the receiver answered
    verified: bool


@dataclass
class Receiver:
    url: str
    posts: list[Post] = field(default_factory=list)
    #: Decides the answer to each post (status code, or "hang" to never answer); default 200.
    answer: Callable[[str, dict[str, Any], int], int | str] = lambda webhook_id, payload, attempt: 200

    def accepted(self, type_: str | None = None) -> list[dict[str, Any]]:
        return [p.payload for p in self.posts if 200 <= p.status < 300 and (type_ is None or p.payload["type"] == type_)]

    def for_message(self, message_id: str) -> list[Post]:
        return [p for p in self.posts if p.payload["data"].get("message_id") == message_id]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    webhook = Webhook(CALLBACK_SECRET)
    attempts: dict[str, int] = {}
    rec = Receiver(url="")
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        body = await request.text()
        try:
            webhook.verify(body, dict(request.headers))
            verified = True
        except WebhookVerificationError:
            verified = False
        payload = json.loads(body)
        webhook_id = request.headers.get("webhook-id", "")
        attempts[webhook_id] = attempts.get(webhook_id, 0) + 1
        answer = rec.answer(webhook_id, payload, attempts[webhook_id]) if verified else 401
        if answer == "hang":
            rec.posts.append(Post(webhook_id, payload, 0, verified))
            await release.wait()
        assert isinstance(answer, int)
        rec.posts.append(Post(webhook_id, payload, answer, verified))
        return web.Response(status=answer)

    app = web.Application()
    app.router.add_post("/callbacks", handle)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    rec.url = str(server.make_url("/callbacks"))
    yield rec
    release.set()
    await server.close()
