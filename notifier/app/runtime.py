"""The long-lived objects a process needs, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from urllib.parse import urlencode

from redis.asyncio import Redis

from channels.base import Channel
from channels.email import OutboxEmail, SmtpEmail
from channels.letter import OutboxLetter, PostiMessaging, SuomiFiClient, SuomiFiLetter
from channels.sms import GatewayApiSms, OutboxSms

from notifier.app.config import Settings
from notifier.clock import utcnow
from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
from notifier.messages.model import EMAIL, LETTER, SMS, SUOMIFI
from notifier.app.connection import redis_client
from notifier.messages.render import Renderer
from notifier.sealing import Sealer
from notifier.messages.compose import Composer
from notifier.messages.store import MessageStore

# The domains whose templates carry e-mail extras register them on import (`messages/extras.py`).
from notifier.kickoff import ical as _kickoff_ical  # noqa: F401  (calendar files of invitations)
from notifier.staff import list_headers as _list_headers  # noqa: F401  (the digest's list headers)


@dataclass
class Runtime:
    settings: Settings
    redis: Redis
    store: MessageStore
    renderer: Renderer
    composer: Composer
    #: What the handlers take as "now" where the time of day decides (e.g. whether a session has
    #: started); tests move it instead of waiting.
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def create(cls, settings: Settings, redis: Redis | None = None) -> "Runtime":
        if redis is None:
            redis = redis_client(settings)
        store = MessageStore(redis, Sealer(settings.data_keys), callbacks=bool(settings.status_callback_url))
        renderer = Renderer(TEMPLATE_DIR, LOCALE_DIR, settings.timezone)
        return cls(settings, redis, store, renderer, Composer(settings, renderer))


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels a worker sends through, chosen by the *_BACKEND settings."""
    channels: dict[str, Channel] = {}
    if settings.email_backend == "smtp":
        channels[EMAIL] = SmtpEmail(
            settings.smtp_host, settings.smtp_port, tls=settings.smtp_tls,
            username=settings.smtp_username, password=settings.smtp_password,
            timeout=settings.send_timeout_seconds, connections=settings.smtp_connections,
        )
    else:
        channels[EMAIL] = OutboxEmail(settings.outbox_dir / "email")
    if settings.sms_backend == "gatewayapi":
        channels[SMS] = GatewayApiSms(
            settings.sms_url, settings.sms_token or "",
            callback_url=sms_callback_url(settings), timeout=settings.send_timeout_seconds,
        )
    else:
        channels[SMS] = OutboxSms(settings.outbox_dir / "sms")
    channels.update(build_letter_channels(settings))
    return channels


def build_letter_channels(settings: Settings) -> dict[str, Channel]:
    """The outbox always (letters for manual posting); Suomi.fi when NOTIFIER_LETTER_BACKEND=suomifi."""
    channels: dict[str, Channel] = {LETTER: OutboxLetter(settings.outbox_dir / "letter")}
    if settings.letter_backend == "suomifi":
        s = settings
        posti = None
        if s.suomifi_posti_username and s.suomifi_posti_password and s.suomifi_posti_email:
            posti = PostiMessaging(s.suomifi_posti_username, s.suomifi_posti_password, s.suomifi_posti_email)
        client = SuomiFiClient(s.suomifi_url, s.suomifi_username or "", s.suomifi_password or "",
                               timeout=s.send_timeout_seconds)
        # Without a printing contract letters go electronic-only, and to the outbox for clients without
        # an active mailbox (channels/letter/suomifi.py).
        channels[SUOMIFI] = SuomiFiLetter(client, s.suomifi_service_id or "", posti, outbox=s.outbox_dir / "letter")
    return channels


def sms_callback_url(settings: Settings) -> str | None:
    """Where the SMS gateway posts delivery reports; the secret token makes them ours."""
    if not settings.sms_callback_token:
        return None
    return f"{settings.public_url}/webhooks/sms-status?{urlencode({'token': settings.sms_callback_token})}"
