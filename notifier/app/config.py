"""The one place configuration lives: a frozen settings object read from the environment.

Every setting is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notifier.casework.names import Bilingual, Party
from notifier.coaching.model import Rules


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""



EMAIL_BACKENDS = ("outbox", "smtp")
SMS_BACKENDS = ("outbox", "gatewayapi")
LETTER_BACKENDS = ("outbox", "suomifi")
SMTP_TLS_MODES = ("none", "starttls", "tls")


#: Neutral names used when neither an event nor the configuration names a body (never a closed one).
DEFAULT_OFFICE_NAME = Bilingual("Työllisyyspalvelut", "Sysselsättningstjänsterna")
DEFAULT_PROVIDER_NAME = Bilingual("Palveluntuottaja", "Serviceproducenten")
#: ASCII only: alphanumeric sender ids take letters and digits, at most 11 (and are registered by name).
DEFAULT_SMS_SENDER = "Tyollisyys"


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str = "mymaster"
    redis_password: str | None = None  # the primary's, when found through sentinels (a URL carries its own)
    redis_sentinel_password: str | None = None  # the sentinels' own
    redis_sentinel_tls: bool = False  # TLS to the sentinels and the primary
    redis_tls_ca_file: str | None = None  # CA bundle for rediss:// and Sentinel TLS (default: the system's)
    data_dir: Path = Path("var")
    webhook_secret: str | None = None
    api_token: str | None = None
    coordinator_token: str | None = None
    single_token: bool = False  # NOTIFIER_SINGLE_TOKEN=on: web/worker may start with the API token serving both roles
    data_keys: tuple[str, ...] = ()
    public_url: str = "http://127.0.0.1:8080"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Helsinki"))
    log_level: str = "INFO"
    log_format: str = "text"

    email_backend: str = "outbox"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: str = "none"
    smtp_connections: int = 1  # per worker; also the most e-mails a dead worker may leave sent twice
    mail_from: str = "notifier@localhost"
    mail_from_name: str = "Notifier"

    sms_backend: str = "outbox"
    sms_url: str = "https://gatewayapi.com"
    sms_token: str | None = None
    sms_sender: str = DEFAULT_SMS_SENDER
    sms_callback_token: str | None = None

    # Letters (README "Letters"): outbox PDFs, or Suomi.fi Messages for clients with a personal id.
    letter_backend: str = "outbox"
    suomifi_url: str = "https://api.messages.suomi.fi"
    suomifi_username: str | None = None
    suomifi_password: str | None = None
    suomifi_service_id: str | None = None
    suomifi_posti_username: str | None = None
    suomifi_posti_password: str | None = None
    suomifi_posti_email: str | None = None
    suomifi_poll_events: bool = True  # workers read Suomi.fi status events every minute
    # The authority's postal address: the sender block of letters, and the return address on paper.
    # `_sv`: the Swedish forms (Bangårdsgatan, Åbo) for Swedish letters, when they differ.
    office_street: str = ""
    office_postal_code: str = ""
    office_city: str = ""
    office_street_sv: str = ""
    office_city_sv: str = ""

    # Staff communication (README "Staff: digest, pages and announcements").
    signing_secrets: tuple[str, ...] = ()
    staff_email_domains: tuple[str, ...] = ()
    # The coordinators' console (README "Coordinators' console"): who may sign in, by work e-mail.
    coordinators: tuple[str, ...] = ()
    digest_schedule: tuple[int, int, int] | None = (0, 7, 0)  # weekday (0 = Monday), hour, minute
    # The coaching rhythm (README "The coaching rhythm"): deadlines, reminders, the weekly e-mail.
    coaching: Rules = field(default_factory=Rules)
    coaching_weekly_schedule: tuple[int, int, int] | None = (0, 7, 0)

    # The authority and the provider named in messages when an event does not say (README).
    office: Party = Party(DEFAULT_OFFICE_NAME)
    provider: Party = Party(DEFAULT_PROVIDER_NAME)

    # Reliability knobs (see README "Guarantees").
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 1800.0
    retry_window_seconds: float = 86400.0
    send_timeout_seconds: float = 30.0
    webhook_id_ttl_seconds: int = 7 * 86400
    max_body_bytes: int = 1024 * 1024
    worker_max_jobs: int = 32
    email_rate: float = 0.0  # messages/s over all workers; 0 = unlimited
    sms_rate: float = 0.0
    retention_days: float = 90.0
    subscribe_limit_per_hour: int = 20  # /subscribe posts per client address
    sign_in_limit_per_client: int = 30  # /console/sign-in posts per client address per day
    sign_in_limit_per_address: int = 10  # sign-in links per typed e-mail address per day
    # Proxies whose X-Forwarded-For is believed (README "Client addresses behind a proxy").
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    ack_link_days: float = 60.0  # how long an "I have read this" link stays valid
    worker_poll_delay: float = 0.05

    # Calls to clients who missed their kickoff (README "Call prompts"): attempts, retry delay in
    # working days, and the local time of the authority's daily e-mail of unreachable clients.
    call_attempts: int = 3
    call_retry_working_days: int = 1
    unreachable_report_at: tuple[int, int] = (15, 0)

    # Status callbacks to the case system (README "Status callbacks"): Standard-Webhooks-signed.
    status_callback_url: str | None = None
    status_callback_secret: str | None = None
    # How long a callback is retried after its event (Standard Webhooks: "a retry schedule spanning
    # multiple days"); separate from the messages' window, which is about people getting a message.
    status_callback_retry_window_seconds: float = 3 * 86400.0

    @property
    def has_redis(self) -> bool:
        return bool(self.redis_url or self.redis_sentinels)

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def lease_seconds(self) -> float:
        """How long a claimed send may run before another worker may take it over."""
        # A send must finish 5 s before its lease ends (`Deliverer._deadline`), leaving time for its
        # status write; a dead worker's work items are taken over once idle this long + 1 s (XAUTOCLAIM,
        # `consumer.py`, looked for every 5 s), so the takeover finds the lease expired: within
        # send + 16 s of the death, inside README's promise of send + 20 s.
        return self.send_timeout_seconds + 10

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

        sender = get("NOTIFIER_SMS_SENDER", DEFAULT_SMS_SENDER)
        if not 1 <= len(sender) <= 11:
            raise ConfigError("NOTIFIER_SMS_SENDER must be 1 to 11 characters")
        if choice("NOTIFIER_SMS_BACKEND", "outbox", SMS_BACKENDS) == "gatewayapi" and not get("NOTIFIER_SMS_TOKEN"):
            raise ConfigError("NOTIFIER_SMS_TOKEN is required with NOTIFIER_SMS_BACKEND=gatewayapi")

        smtp_connections = int(number("NOTIFIER_SMTP_CONNECTIONS", 1, int))
        if smtp_connections < 1:
            raise ConfigError("NOTIFIER_SMTP_CONNECTIONS must be at least 1")

        digest_schedule = parse_digest_schedule(get("NOTIFIER_DIGEST_SCHEDULE", "mon 07:00"))
        coaching_weekly = parse_digest_schedule(get("NOTIFIER_COACHING_WEEKLY_SCHEDULE", "mon 07:00"),
                                                "NOTIFIER_COACHING_WEEKLY_SCHEDULE")
        coaching = parse_coaching_rules(get, number)
        coordinators = parse_coordinators(get("NOTIFIER_COORDINATORS", ""))
        callback_url, callback_secret = parse_status_callback(
            get("NOTIFIER_STATUS_CALLBACK_URL", ""), get("NOTIFIER_STATUS_CALLBACK_SECRET", ""))

        letter_backend = choice("NOTIFIER_LETTER_BACKEND", "outbox", LETTER_BACKENDS)
        if letter_backend == "suomifi":
            for name in ("NOTIFIER_SUOMIFI_USERNAME", "NOTIFIER_SUOMIFI_PASSWORD", "NOTIFIER_SUOMIFI_SERVICE_ID",
                         "NOTIFIER_OFFICE_STREET", "NOTIFIER_OFFICE_POSTAL_CODE", "NOTIFIER_OFFICE_CITY"):
                if not get(name):
                    raise ConfigError(f"{name} is required with NOTIFIER_LETTER_BACKEND=suomifi")
        posti = parse_posti([get(f"NOTIFIER_SUOMIFI_POSTI_{k}") or "" for k in ("USERNAME", "PASSWORD", "EMAIL")])

        return cls(
            redis_url=get("REDIS_URL") or None,
            redis_sentinels=parse_sentinels(get("REDIS_SENTINELS", "")),
            redis_sentinel_master=get("REDIS_SENTINEL_MASTER", "mymaster"),
            redis_password=get("REDIS_PASSWORD") or None,
            redis_sentinel_password=get("REDIS_SENTINEL_PASSWORD") or None,
            redis_sentinel_tls=choice("REDIS_SENTINEL_TLS", "off", ("on", "off")) == "on",
            redis_tls_ca_file=get("REDIS_TLS_CA_FILE") or None,
            data_dir=Path(get("NOTIFIER_DATA_DIR", "var")),
            webhook_secret=get("NOTIFIER_WEBHOOK_SECRET") or None,
            api_token=get("NOTIFIER_API_TOKEN") or None,
            coordinator_token=get("NOTIFIER_COORDINATOR_TOKEN") or None,
            single_token=choice("NOTIFIER_SINGLE_TOKEN", "off", ("on", "off")) == "on",
            data_keys=tuple(k.strip() for k in get("NOTIFIER_DATA_KEY", "").split(",") if k.strip()),
            public_url=get("NOTIFIER_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/"),
            timezone=tz,
            log_level=get("NOTIFIER_LOG_LEVEL", "INFO").upper(),
            log_format=choice("NOTIFIER_LOG_FORMAT", "text", ("text", "json")),
            email_backend=choice("NOTIFIER_EMAIL_BACKEND", "outbox", EMAIL_BACKENDS),
            smtp_host=get("NOTIFIER_SMTP_HOST", "localhost"),
            smtp_port=int(number("NOTIFIER_SMTP_PORT", 25, int)),
            smtp_username=get("NOTIFIER_SMTP_USERNAME") or None,
            smtp_password=get("NOTIFIER_SMTP_PASSWORD") or None,
            smtp_tls=choice("NOTIFIER_SMTP_TLS", "none", SMTP_TLS_MODES),
            smtp_connections=smtp_connections,
            mail_from=get("NOTIFIER_MAIL_FROM", "notifier@localhost"),
            mail_from_name=get("NOTIFIER_MAIL_FROM_NAME", "Notifier"),
            sms_backend=choice("NOTIFIER_SMS_BACKEND", "outbox", SMS_BACKENDS),
            sms_url=get("NOTIFIER_SMS_URL", "https://gatewayapi.com").rstrip("/"),
            sms_token=get("NOTIFIER_SMS_TOKEN") or None,
            sms_sender=sender,
            sms_callback_token=get("NOTIFIER_SMS_CALLBACK_TOKEN") or None,
            letter_backend=letter_backend,
            suomifi_url=get("NOTIFIER_SUOMIFI_URL", "https://api.messages.suomi.fi").rstrip("/"),
            suomifi_username=get("NOTIFIER_SUOMIFI_USERNAME") or None,
            suomifi_password=get("NOTIFIER_SUOMIFI_PASSWORD") or None,
            suomifi_service_id=get("NOTIFIER_SUOMIFI_SERVICE_ID") or None,
            suomifi_posti_username=posti[0] or None,
            suomifi_posti_password=posti[1] or None,
            suomifi_posti_email=posti[2] or None,
            suomifi_poll_events=choice("NOTIFIER_SUOMIFI_POLL_EVENTS", "on", ("on", "off")) == "on",
            office_street=get("NOTIFIER_OFFICE_STREET", ""),
            office_postal_code=get("NOTIFIER_OFFICE_POSTAL_CODE", ""),
            office_city=get("NOTIFIER_OFFICE_CITY", ""),
            office_street_sv=get("NOTIFIER_OFFICE_STREET_SV", ""),
            office_city_sv=get("NOTIFIER_OFFICE_CITY_SV", ""),
            signing_secrets=tuple(k.strip() for k in get("NOTIFIER_SIGNING_SECRET", "").split(",") if k.strip()),
            staff_email_domains=tuple(
                d.strip().lower().lstrip("@") for d in get("NOTIFIER_STAFF_EMAIL_DOMAINS", "").split(",") if d.strip()
            ),
            digest_schedule=digest_schedule,
            coaching=coaching,
            coaching_weekly_schedule=coaching_weekly,
            coordinators=coordinators,
            office=Party(
                bilingual_setting(get, "NOTIFIER_OFFICE_NAME", DEFAULT_OFFICE_NAME),
                get("NOTIFIER_OFFICE_PHONE", ""),
                get("NOTIFIER_OFFICE_EMAIL", ""),
            ),
            provider=Party(
                bilingual_setting(get, "NOTIFIER_PROVIDER_NAME", DEFAULT_PROVIDER_NAME),
                get("NOTIFIER_PROVIDER_PHONE", ""),
                get("NOTIFIER_PROVIDER_EMAIL", ""),
            ),
            retry_base_seconds=number("NOTIFIER_RETRY_BASE_SECONDS", 30.0),
            retry_max_seconds=number("NOTIFIER_RETRY_MAX_SECONDS", 1800.0),
            retry_window_seconds=number("NOTIFIER_RETRY_WINDOW_SECONDS", 86400.0),
            send_timeout_seconds=number("NOTIFIER_SEND_TIMEOUT_SECONDS", 30.0),
            worker_max_jobs=int(number("NOTIFIER_WORKER_MAX_JOBS", 32, int)),
            email_rate=number("NOTIFIER_EMAIL_RATE", 0.0),
            sms_rate=number("NOTIFIER_SMS_RATE", 0.0),
            retention_days=number("NOTIFIER_RETENTION_DAYS", 90.0),
            subscribe_limit_per_hour=int(number("NOTIFIER_SUBSCRIBE_LIMIT_PER_HOUR", 20, int)),
            sign_in_limit_per_client=int(number("NOTIFIER_SIGN_IN_LIMIT_PER_CLIENT", 30, int)),
            sign_in_limit_per_address=int(number("NOTIFIER_SIGN_IN_LIMIT_PER_ADDRESS", 10, int)),
            trusted_proxies=parse_trusted_proxies(get("NOTIFIER_TRUSTED_PROXIES", "")),
            ack_link_days=number("NOTIFIER_ACK_LINK_DAYS", 60.0),
            status_callback_url=callback_url,
            status_callback_secret=callback_secret,
            status_callback_retry_window_seconds=number("NOTIFIER_STATUS_CALLBACK_RETRY_WINDOW_SECONDS", 3 * 86400.0),
            call_attempts=max(int(number("NOTIFIER_CALL_ATTEMPTS", 3, int)), 1),
            call_retry_working_days=max(int(number("NOTIFIER_CALL_RETRY_WORKING_DAYS", 1, int)), 1),
            unreachable_report_at=parse_clock("NOTIFIER_UNREACHABLE_REPORT_AT", get("NOTIFIER_UNREACHABLE_REPORT_AT", "15:00")),
        )


#: Lengths the Suomi.fi Messages v2 schema `PostiMessaging` sets (as quoted in issue 15 from
#: https://api.messages.suomi.fi/docs/messages-api.yaml): `username` exactly 6 characters, `password`
#: exactly 4, `contactDetails.email` 5 to 256. A letter carrying anything else is refused with 400.
POSTI_LENGTHS = {
    "NOTIFIER_SUOMIFI_POSTI_USERNAME": (6, 6),
    "NOTIFIER_SUOMIFI_POSTI_PASSWORD": (4, 4),
    "NOTIFIER_SUOMIFI_POSTI_EMAIL": (5, 256),
}


def parse_posti(values: list[str]) -> list[str]:
    """The Posti printing contract (username, password, e-mail): all three or none, each of the length
    Suomi.fi takes, so that a wrong one stops the start instead of every paper letter."""
    values = [v.strip() for v in values]
    if any(values) and not all(values):
        raise ConfigError("NOTIFIER_SUOMIFI_POSTI_USERNAME, _PASSWORD and _EMAIL go together")
    if any(values):
        for (name, (low, high)), value in zip(POSTI_LENGTHS.items(), values):
            if not low <= len(value) <= high:
                size = f"exactly {low}" if low == high else f"{low} to {high}"
                raise ConfigError(f"{name} must be {size} characters (Suomi.fi's PostiMessaging), not {len(value)}")
    return values
def bilingual_setting(get: Any, name: str, default: Bilingual) -> Bilingual:
    """`NAME` (the same in both languages) and/or `NAME_FI`, `NAME_SV` (each overrides `NAME`).

    None set: `default`. Only one language set: messages in the other language use it and record
    the fallback (`name_fallback`), as with a name an event gives in one language.
    """
    both = (get(name) or "").strip()
    fi = (get(f"{name}_FI") or "").strip() or both
    sv = (get(f"{name}_SV") or "").strip() or both
    if not fi and not sv:
        return default
    for var, value in ((f"{name}_FI", fi), (f"{name}_SV", sv)):
        if len(value) > 200 or any(ord(c) < 32 for c in value):
            raise ConfigError(f"{var} must be one line of at most 200 characters")
    return Bilingual(fi or None, sv or None)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_coaching_rules(get, number) -> Rules:  # type: ignore[no-untyped-def]
    """NOTIFIER_COACHING_* (README table): the pilot's deadlines in days (months for the plan)."""
    d = Rules()
    values = {
        name: int(number(f"NOTIFIER_COACHING_{name.upper()}", getattr(d, name), int))
        for name in ("first_contact_days", "first_contact_remind_day", "first_contact_escalate_day",
                     "contact_days", "contact_remind_day", "plan_months", "plan_remind_days_before", "remind_hour")
    }
    if not values["first_contact_remind_day"] <= values["first_contact_days"]:
        raise ConfigError("NOTIFIER_COACHING_FIRST_CONTACT_REMIND_DAY must not be after NOTIFIER_COACHING_FIRST_CONTACT_DAYS")
    if not values["contact_remind_day"] <= values["contact_days"]:
        raise ConfigError("NOTIFIER_COACHING_CONTACT_REMIND_DAY must not be after NOTIFIER_COACHING_CONTACT_DAYS")
    if values["remind_hour"] > 23 or values["plan_months"] < 1:
        raise ConfigError("NOTIFIER_COACHING_REMIND_HOUR must be 0-23 and NOTIFIER_COACHING_PLAN_MONTHS at least 1")
    feedback = get("NOTIFIER_FEEDBACK_URL", "").strip()
    if feedback and not feedback.startswith(("https://", "http://")):
        raise ConfigError(f"NOTIFIER_FEEDBACK_URL must be an http(s) URL, not {feedback!r}")
    return Rules(**values, feedback_url=feedback or None)


def parse_digest_schedule(value: str, name: str = "NOTIFIER_DIGEST_SCHEDULE") -> tuple[int, int, int] | None:
    """`mon 07:00` -> (0, 7, 0); `off` -> None (no weekly digest cron)."""
    text = value.strip().lower()
    if text == "off":
        return None
    day, _, clock = text.partition(" ")
    hour, _, minute = clock.strip().partition(":")
    if day[:3] not in _WEEKDAYS or not hour.isdigit() or not minute.isdigit() or int(hour) > 23 or int(minute) > 59:
        raise ConfigError(f"{name} must be like 'mon 07:00' or 'off', not {value!r}")
    return _WEEKDAYS.index(day[:3]), int(hour), int(minute)


def parse_clock(name: str, value: str) -> tuple[int, int]:
    """`15:00` -> (15, 0)."""
    hour, _, minute = value.strip().partition(":")
    if not hour.isdigit() or not minute.isdigit() or int(hour) > 23 or int(minute) > 59:
        raise ConfigError(f"{name} must be a local time like '15:00', not {value!r}")
    return int(hour), int(minute)


def parse_status_callback(url: str, secret: str) -> tuple[str | None, str | None]:
    """The case system's callback URL (http/https) and its `whsec_` secret: both or neither."""
    from urllib.parse import urlsplit

    from notifier.app.secret_formats import webhook_secret_problem

    url, secret = url.strip(), secret.strip()
    if not url:
        return None, secret or None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"NOTIFIER_STATUS_CALLBACK_URL must be an http(s) URL, not {url!r}")
    if not secret:
        raise ConfigError("NOTIFIER_STATUS_CALLBACK_SECRET is required with NOTIFIER_STATUS_CALLBACK_URL")
    problem = webhook_secret_problem(secret)
    if problem:
        raise ConfigError(f"NOTIFIER_STATUS_CALLBACK_SECRET {problem}")
    return url, secret


def parse_coordinators(value: str) -> tuple[str, ...]:
    """`NOTIFIER_COORDINATORS=a@x.fi,b@y.fi` -> the lower-cased addresses allowed into the console."""
    from notifier.validation import parse_email

    out: list[str] = []
    for item in (v.strip() for v in value.split(",") if v.strip()):
        if parse_email(item) is None:
            raise ConfigError(f"NOTIFIER_COORDINATORS must be e-mail addresses separated by commas, not {item!r}")
        if item.lower() not in out:
            out.append(item.lower())
    return tuple(out)


def parse_trusted_proxies(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """`NOTIFIER_TRUSTED_PROXIES=10.0.0.0/8,192.168.1.5` -> the networks whose X-Forwarded-For counts."""
    out = []
    for item in (v.strip() for v in value.split(",") if v.strip()):
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"NOTIFIER_TRUSTED_PROXIES must be IP addresses or CIDR networks separated by commas, "
                              f"not {item!r}") from None
    return tuple(out)


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """`REDIS_SENTINELS=host1:26379,host2:26379` -> ((host1, 26379), (host2, 26379))."""
    out = []
    for item in (v.strip() for v in value.split(",") if v.strip()):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"REDIS_SENTINELS must be host:port pairs separated by commas, not {item!r}")
        out.append((host, int(port)))
    return tuple(out)
