"""The long-lived objects a process needs, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from channels.base import Channel
from channels.email import OutboxEmail, SmtpEmail

from .config import LOCALE_DIR, TEMPLATE_DIR, Settings
from .messages import EMAIL
from .render import Renderer
from .sealing import Sealer
from .store import MessageStore


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    store: MessageStore
    renderer: Renderer

    @classmethod
    def create(cls, settings: Settings, redis: Redis | None = None) -> "Runtime":
        if redis is None:
            if not settings.redis_url:
                raise RuntimeError("REDIS_URL is not set")
            redis = Redis.from_url(settings.redis_url, health_check_interval=10, socket_keepalive=True)
        store = MessageStore(redis, Sealer(settings.data_keys))
        return cls(settings, redis, store, Renderer(TEMPLATE_DIR, LOCALE_DIR, settings.timezone))


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels a worker sends through, chosen by the *_BACKEND settings."""
    channels: dict[str, Channel] = {}
    if settings.email_backend == "smtp":
        channels[EMAIL] = SmtpEmail(
            settings.smtp_host, settings.smtp_port, tls=settings.smtp_tls,
            username=settings.smtp_username, password=settings.smtp_password,
            timeout=settings.send_timeout_seconds,
        )
    else:
        channels[EMAIL] = OutboxEmail(settings.outbox_dir / "email")
    return channels
