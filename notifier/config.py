"""The one place configuration lives: a frozen settings object read from the environment.

Every setting is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = REPO_ROOT / "templates"
LOCALE_DIR = REPO_ROOT / "locale"

EMAIL_BACKENDS = ("outbox", "smtp")
SMS_BACKENDS = ("outbox", "gatewayapi")
SMTP_TLS_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True)
class Party:
    """The TE-office or the provider as named in messages when an event does not say."""

    name: str
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    data_dir: Path = Path("var")
    webhook_secret: str | None = None
    api_token: str | None = None
    data_keys: tuple[str, ...] = ()
    public_url: str = "http://127.0.0.1:8080"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Helsinki"))
    log_level: str = "INFO"

    email_backend: str = "outbox"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: str = "none"
    smtp_timeout: float = 30.0
    mail_from: str = "notifier@localhost"
    mail_from_name: str = "Notifier"

    sms_backend: str = "outbox"
    sms_url: str = "https://gatewayapi.com"
    sms_token: str | None = None
    sms_sender: str = "TE-palvelut"
    sms_callback_token: str | None = None

    office: Party = Party("TE-toimisto", "0295 025 500")
    provider: Party = Party("Palveluntuottaja")

    # Reliability knobs (see README "Guarantees").
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 1800.0
    retry_window_seconds: float = 86400.0
    send_timeout_seconds: float = 30.0
    webhook_id_ttl_seconds: int = 7 * 86400
    max_body_bytes: int = 1024 * 1024
    worker_max_jobs: int = 32
    worker_poll_delay: float = 0.05

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def lease_seconds(self) -> float:
        """How long a claimed send may run before another worker may take it over."""
        return self.send_timeout_seconds + 5

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        get = env.get

        def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
            value = get(name, default).strip().lower()
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
            return value

        def number(name: str, default: float, kind: type = float) -> float:
            raw = get(name)
            if raw is None or raw == "":
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a number, not {raw!r}") from None
            if value < 0:
                raise ConfigError(f"{name} must not be negative")
            return value

        tz_name = get("NOTIFIER_TIMEZONE", "Europe/Helsinki")
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"NOTIFIER_TIMEZONE: unknown time zone {tz_name!r}") from None

        sender = get("NOTIFIER_SMS_SENDER", "TE-palvelut")
        if not 1 <= len(sender) <= 11:
            raise ConfigError("NOTIFIER_SMS_SENDER must be 1 to 11 characters")

        return cls(
            redis_url=get("REDIS_URL") or None,
            data_dir=Path(get("NOTIFIER_DATA_DIR", "var")),
            webhook_secret=get("NOTIFIER_WEBHOOK_SECRET") or None,
            api_token=get("NOTIFIER_API_TOKEN") or None,
            data_keys=tuple(k.strip() for k in get("NOTIFIER_DATA_KEY", "").split(",") if k.strip()),
            public_url=get("NOTIFIER_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
            timezone=tz,
            log_level=get("NOTIFIER_LOG_LEVEL", "INFO").upper(),
            email_backend=choice("NOTIFIER_EMAIL_BACKEND", "outbox", EMAIL_BACKENDS),
            smtp_host=get("NOTIFIER_SMTP_HOST", "localhost"),
            smtp_port=int(number("NOTIFIER_SMTP_PORT", 25, int)),
            smtp_username=get("NOTIFIER_SMTP_USERNAME") or None,
            smtp_password=get("NOTIFIER_SMTP_PASSWORD") or None,
            smtp_tls=choice("NOTIFIER_SMTP_TLS", "none", SMTP_TLS_MODES),
            mail_from=get("NOTIFIER_MAIL_FROM", "notifier@localhost"),
            mail_from_name=get("NOTIFIER_MAIL_FROM_NAME", "Notifier"),
            sms_backend=choice("NOTIFIER_SMS_BACKEND", "outbox", SMS_BACKENDS),
            sms_url=get("NOTIFIER_SMS_URL", "https://gatewayapi.com").rstrip("/"),
            sms_token=get("NOTIFIER_SMS_TOKEN") or None,
            sms_sender=sender,
            sms_callback_token=get("NOTIFIER_SMS_CALLBACK_TOKEN") or None,
            office=Party(
                get("NOTIFIER_OFFICE_NAME", "TE-toimisto"),
                get("NOTIFIER_OFFICE_PHONE", "0295 025 500"),
                get("NOTIFIER_OFFICE_EMAIL", ""),
            ),
            provider=Party(
                get("NOTIFIER_PROVIDER_NAME", "Palveluntuottaja"),
                get("NOTIFIER_PROVIDER_PHONE", ""),
                get("NOTIFIER_PROVIDER_EMAIL", ""),
            ),
            retry_base_seconds=number("NOTIFIER_RETRY_BASE_SECONDS", 30.0),
            retry_max_seconds=number("NOTIFIER_RETRY_MAX_SECONDS", 1800.0),
            retry_window_seconds=number("NOTIFIER_RETRY_WINDOW_SECONDS", 86400.0),
            send_timeout_seconds=number("NOTIFIER_SEND_TIMEOUT_SECONDS", 30.0),
            worker_max_jobs=int(number("NOTIFIER_WORKER_MAX_JOBS", 32, int)),
        )
