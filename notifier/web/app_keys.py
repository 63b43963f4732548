"""Typed keys for objects stored on the aiohttp application."""

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from notifier.app.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
WEBHOOK = web.AppKey("webhook", Webhook)
#: On a webhook request whose answer was counted inside its transaction (`metrics_endpoint`).
ANSWER_COUNTED = web.RequestKey("answer_counted", bool)
