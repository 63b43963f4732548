"""`notifier check`: is this configuration going to work? One line per problem, exit 1 on any failure.

Reads the same environment as `web`/`worker` and tries what they will need: Redis answers, the
SMTP server takes a login, the SMS gateway takes the token, Suomi.fi gives a token, secrets are
there and well-formed, the sender name is one operators accept. Nothing is sent and nothing is
written to Redis. Secrets are never printed, nor the password part of a Redis URL.

Levels: `fail` (the service will not work: exit status 1), `warn` (it works, but something is
probably not meant that way), `ok`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import tempfile
from dataclasses import asdict, dataclass
from typing import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import aiohttp
import aiosmtplib
from cryptography.fernet import Fernet
from redis.exceptions import RedisError

from notifier.app.config import ConfigError, Settings
from notifier.app.connection import redis_client
from notifier.app.secret_formats import webhook_secret_problem

OK, WARN, FAIL = "ok", "warn", "fail"
#: Alphanumeric sender names: up to 11 of these (what operators pass on); or a number of up to 15 digits.
SENDER_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9 .\-_&]{1,11}$")
SENDER_NUMERIC = re.compile(r"^\+?[0-9]{3,15}$")
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    detail: str

    def line(self) -> str:
        return f"{self.level.upper():4} {self.check}: {self.detail}"


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def redis_where(settings: Settings) -> str:
    """Where Redis is, without the password."""
    if settings.redis_sentinels:
        hosts = ",".join(f"{h}:{p}" for h, p in settings.redis_sentinels)
        return f"sentinels {hosts} (primary {settings.redis_sentinel_master!r})"
    parts = urlsplit(settings.redis_url or "")
    return f"{parts.hostname}:{parts.port or 6379}{parts.path or ''}"


# -- checks that need no network ------------------------------------------------------------------


def check_secrets(s: Settings) -> list[Finding]:
    # In production (web/worker against a real Redis) a missing secret stops the service; for
    # `notifier run` it is generated into the data dir.
    missing = FAIL if s.has_redis else WARN
    later = "" if s.has_redis else " (`notifier run` generates one into NOTIFIER_DATA_DIR)"
    out = []
    if not s.webhook_secret:
        out.append(Finding("webhook secret", missing, "NOTIFIER_WEBHOOK_SECRET is not set" + later))
    elif problem := webhook_secret_problem(s.webhook_secret):
        out.append(Finding("webhook secret", FAIL, f"NOTIFIER_WEBHOOK_SECRET {problem}"))
    else:
        out.append(Finding("webhook secret", OK, "present and well-formed"))
    if not s.api_token:
        out.append(Finding("API token", missing, "NOTIFIER_API_TOKEN is not set" + later))
    elif len(s.api_token) < MIN_TOKEN_LENGTH:
        out.append(Finding("API token", FAIL, f"NOTIFIER_API_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters"))
    else:
        out.append(Finding("API token", OK, "present"))
    if s.coordinator_token and len(s.coordinator_token) < MIN_TOKEN_LENGTH:
        out.append(Finding("coordinator token", FAIL, f"NOTIFIER_COORDINATOR_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters"))
    elif s.coordinator_token and s.coordinator_token == s.api_token:
        out.append(Finding("coordinator token", WARN, "NOTIFIER_COORDINATOR_TOKEN equals NOTIFIER_API_TOKEN: the roles are not separate"))
    elif not s.coordinator_token:
        out.append(Finding("coordinator token", OK, "not set: NOTIFIER_API_TOKEN serves coordinators too"))
    else:
        out.append(Finding("coordinator token", OK, "present"))
    if not s.data_keys:
        out.append(Finding("data key", missing, "NOTIFIER_DATA_KEY is not set: personal data would be stored unencrypted" + later))
    else:
        bad = []
        for i, key in enumerate(s.data_keys, 1):
            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                bad.append(str(i))
        if bad:
            out.append(Finding("data key", FAIL, f"NOTIFIER_DATA_KEY: key {', '.join(bad)} is not a Fernet key "
                                                 "(32 bytes, url-safe base64)"))
        else:
            out.append(Finding("data key", OK, f"{len(s.data_keys)} Fernet key(s)"))
    if not s.signing_secrets:
        out.append(Finding("signing secret", WARN if s.has_redis else OK,
                           "NOTIFIER_SIGNING_SECRET is not set: staff pages answer 503 and digests are not run" + later))
    elif any(len(k) < MIN_TOKEN_LENGTH for k in s.signing_secrets):
        out.append(Finding("signing secret", FAIL, f"NOTIFIER_SIGNING_SECRET: every secret needs at least {MIN_TOKEN_LENGTH} characters"))
    else:
        out.append(Finding("signing secret", OK, "present"))
    if s.status_callback_url:
        out.append(Finding("status callbacks", OK, f"to {s.status_callback_url} (secret well-formed)"))
    return out


def check_sms_settings(s: Settings) -> list[Finding]:
    out = []
    sender = s.sms_sender
    if not (SENDER_ALPHANUMERIC.match(sender) or SENDER_NUMERIC.match(sender)):
        out.append(Finding("SMS sender", FAIL, f"NOTIFIER_SMS_SENDER {sender!r}: use up to 11 letters A-Z, digits, "
                                               "space . - _ &, or a phone number of up to 15 digits"))
    elif s.sms_backend == "gatewayapi" and not SENDER_NUMERIC.match(sender):
        out.append(Finding("SMS sender", WARN, f"{sender!r} is an alphanumeric sender: unless it is registered for "
                                               "Finnish operators, recipients see it as 'Unknown'"))
    else:
        out.append(Finding("SMS sender", OK, repr(sender)))
    if s.sms_backend == "gatewayapi" and not s.sms_callback_token:
        out.append(Finding("SMS delivery reports", WARN, "NOTIFIER_SMS_CALLBACK_TOKEN is not set: no delivery reports, "
                                                         "SMS stay 'sent'"))
    return out


def check_public_url(s: Settings) -> list[Finding]:
    from notifier.staff.list_headers import unsubscribe_url_problem

    if problem := unsubscribe_url_problem(s):
        return [Finding("public URL", FAIL, problem)]
    host = urlsplit(s.public_url).hostname or ""
    if s.has_redis and host in ("127.0.0.1", "localhost", "::1"):
        return [Finding("public URL", WARN, f"NOTIFIER_PUBLIC_URL is {s.public_url}: links in messages will not "
                                            "work for their readers")]
    return [Finding("public URL", OK, s.public_url)]


def check_console(s: Settings) -> list[Finding]:
    if not s.coordinators:
        return [Finding("console", WARN, "NOTIFIER_COORDINATORS is empty: nobody can sign in to the coordinators' console")]
    return [Finding("console", OK, f"{len(s.coordinators)} coordinator(s) may sign in")]


def check_organisation(s: Settings) -> list[Finding]:
    """The authority's phone is the last number a no-show SMS can give (after the session's staff
    member and the provider); its name in both languages keeps Swedish texts Swedish."""
    found = []
    if not s.office.phone:
        found.append(Finding("organisation", WARN, "NOTIFIER_OFFICE_PHONE is empty: a no-show SMS gives no number "
                                                   "to call when neither the session's staff member nor the provider "
                                                   "has a phone"))
    missing = [lang for lang in ("fi", "sv") if not getattr(s.office.name, lang)]
    if missing:
        found.append(Finding("organisation", WARN, f"NOTIFIER_OFFICE_NAME_{missing[0].upper()} is empty: "
                                                   f"messages in that language use the other language's name"))
    return found or [Finding("organisation", OK, f"{s.office.name.fi} / {s.office.name.sv}")]


def check_data_dir(s: Settings) -> list[Finding]:
    outboxes = [name for name, backend in (("e-mail", s.email_backend), ("SMS", s.sms_backend)) if backend == "outbox"]
    outboxes.append("letter")  # the letter outbox is always used for clients reached only by post
    existing = s.data_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the service creates the rest; the check creates nothing
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".notifier-check-"):
            pass
    except OSError as exc:
        return [Finding("data dir", FAIL, f"cannot write to {s.data_dir} (outbox for {', '.join(outboxes)}): {_why(exc)}")]
    return [Finding("data dir", OK, f"{s.data_dir} is writable")]


# -- checks that reach out -------------------------------------------------------------------------


async def check_redis(s: Settings, timeout: float) -> list[Finding]:
    if not s.has_redis:
        return [Finding("redis", OK, "REDIS_URL is not set: `notifier run` starts an embedded Redis "
                                     "(`web` and `worker` need REDIS_URL)")]
    where = redis_where(s)
    redis = redis_client(s)
    try:
        await asyncio.wait_for(redis.ping(), timeout)
    except (RedisError, OSError, asyncio.TimeoutError) as exc:
        return [Finding("redis", FAIL, f"no answer from {where} ({_why(exc)})")]
    finally:
        await redis.aclose()
    return [Finding("redis", OK, f"answers at {where}")]


async def check_smtp(s: Settings, timeout: float) -> list[Finding]:
    if s.email_backend != "smtp":
        return []
    where = f"{s.smtp_host}:{s.smtp_port}"
    smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, use_tls=s.smtp_tls == "tls",
                           start_tls=s.smtp_tls == "starttls", username=s.smtp_username, password=s.smtp_password,
                           timeout=timeout)
    try:
        await smtp.connect()
        await smtp.quit()
    except aiosmtplib.SMTPAuthenticationError:
        return [Finding("smtp", FAIL, f"{where} refused the login of NOTIFIER_SMTP_USERNAME")]
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
        return [Finding("smtp", FAIL, f"cannot talk to {where} with TLS mode {s.smtp_tls!r} ({_why(exc)})")]
    finally:
        smtp.close()
    return [Finding("smtp", OK, f"{where} answers" + (" and takes the login" if s.smtp_username else ""))]


async def _get(url: str, headers: dict[str, str], timeout: float, method: str = "GET", body: object = None) -> int:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        async with http.request(method, url, headers=headers, json=body, allow_redirects=False) as resp:
            await resp.read()
            return resp.status


async def check_sms_gateway(s: Settings, timeout: float) -> list[Finding]:
    if s.sms_backend != "gatewayapi":
        return []
    url = f"{s.sms_url}/rest/me"  # the account's details: proves the token without sending anything
    try:
        status = await _get(url, {"Authorization": f"Token {s.sms_token}", "Accept": "application/json"}, timeout)
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        return [Finding("SMS gateway", FAIL, f"cannot reach {s.sms_url} ({_why(exc)})")]
    if status in (401, 403):
        return [Finding("SMS gateway", FAIL, f"{s.sms_url} refused NOTIFIER_SMS_TOKEN ({status})")]
    if status != 200:
        return [Finding("SMS gateway", FAIL, f"{url} answered {status}")]
    return [Finding("SMS gateway", OK, f"{s.sms_url} takes the token")]


async def check_suomifi(s: Settings, timeout: float) -> list[Finding]:
    if s.letter_backend != "suomifi":
        return []
    try:
        status = await _get(f"{s.suomifi_url}/v1/token", {"Accept": "application/json"}, timeout, "POST",
                            {"username": s.suomifi_username, "password": s.suomifi_password})
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        return [Finding("Suomi.fi Messages", FAIL, f"cannot reach {s.suomifi_url} ({_why(exc)})")]
    if status != 200:
        return [Finding("Suomi.fi Messages", FAIL, f"{s.suomifi_url} refused the login of NOTIFIER_SUOMIFI_USERNAME ({status})")]
    found = [Finding("Suomi.fi Messages", OK, f"{s.suomifi_url} gives a token")]
    if not s.suomifi_posti_username:
        found.append(Finding("Suomi.fi paper mail", OK, "no Posti printing contract (NOTIFIER_SUOMIFI_POSTI_*): letters "
                                                        "go electronic-only; clients without a Suomi.fi mailbox get "
                                                        "theirs in the letter outbox, to be posted by hand"))
    return found


async def check_callback_receiver(s: Settings, timeout: float) -> list[Finding]:
    """That the endpoint is not disabled (a 410), and that something listens: the case system may be
    down for a while (callbacks wait)."""
    if not s.status_callback_url:
        return []
    if s.has_redis:
        from notifier.messages.callbacks import disabled_since, pending

        redis = redis_client(s)
        try:
            gone = await asyncio.wait_for(disabled_since(redis), timeout)
            waiting = await asyncio.wait_for(pending(redis), timeout) if gone else 0
        except (RedisError, OSError, asyncio.TimeoutError):
            gone = None  # check_redis reports it
        finally:
            await redis.aclose()
        if gone and gone.get("url") == s.status_callback_url:
            return [Finding("status callbacks", FAIL, f"{s.status_callback_url} answered 410 Gone at {gone.get('at')}: "
                                                      f"callbacks are disabled and {waiting} subject(s) wait in Redis; "
                                                      "fix the receiver, then run `notifier callbacks enable`")]
    parts = urlsplit(s.status_callback_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), timeout)
        writer.close()
    except (OSError, asyncio.TimeoutError, socket.gaierror) as exc:
        return [Finding("status callbacks", WARN, f"nothing answers at {parts.hostname}:{port} yet ({_why(exc)}); "
                                                  "callbacks wait in Redis and are retried")]
    return []


async def run_checks(env: Mapping[str, str] | None = None, timeout: float = 5.0) -> list[Finding]:
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        return [Finding("configuration", FAIL, str(exc))]
    findings = [Finding("configuration", OK, "every variable parses")]
    for local in (check_secrets, check_sms_settings, check_public_url, check_console, check_organisation,
                  check_data_dir):
        findings += local(settings)
    remote: list[Callable[[Settings, float], Awaitable[list[Finding]]]] = [
        check_redis, check_smtp, check_sms_gateway, check_suomifi, check_callback_receiver]
    for found in await asyncio.gather(*(check(settings, timeout) for check in remote)):
        findings += found
    return findings


def report(findings: list[Finding], as_json: bool, verbose: bool = False) -> tuple[str, int]:
    """The text (or JSON) to print and the exit status: 1 when anything failed."""
    failed = [f for f in findings if f.level == FAIL]
    code = 1 if failed else 0
    if as_json:
        return json.dumps({"ok": not failed, "checks": [asdict(f) for f in findings]}, ensure_ascii=False, indent=2), code
    shown = [f for f in findings if verbose or f.level != OK]
    lines = [f.line() for f in shown]
    if not failed:
        warned = sum(1 for f in findings if f.level == WARN)
        lines.append(f"configuration ok ({len(findings)} checks" + (f", {warned} warning(s))" if warned else ")"))
    return "\n".join(lines), code


def main(as_json: bool = False, verbose: bool = False, timeout: float = 5.0) -> int:
    text, code = report(asyncio.run(run_checks(os.environ, timeout)), as_json, verbose)
    print(text, flush=True)
    return code
