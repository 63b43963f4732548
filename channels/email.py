"""E-mail: building the RFC 5322 message, and two backends that carry it (SMTP, outbox).

`build_email` is the only place a MIME message is assembled. Header values come from Python's
`email` package with the default policy, which refuses CR/LF in headers, so a hostile name or
subject cannot inject headers.
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import ssl
from dataclasses import dataclass
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from pathlib import Path
from typing import Mapping, Protocol

import aiosmtplib

from .base import PermanentFailure, TemporaryFailure
from .outbox import write_atomic


class EmailContentLike(Protocol):
    subject: str
    text: str
    html: str
    language: str
    attachments: tuple  # of objects with filename, content_type, data
    headers: Mapping[str, str]


class _HeaderClasses(HeaderRegistry):
    """The email package's header registry, keeping the one class it makes per header name.

    `HeaderRegistry.__getitem__` creates a new class with `type()` each time a header is set or
    parsed, a dozen times per message; that class depends only on the name. Remembering it cut
    a quarter of the time `build_email` and its serialisation take (see `bench/README.md`);
    parsing, validation (no CR/LF) and folding are the email package's, unchanged.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


#: `email.policy.SMTP` (CRLF, refuses CR/LF in header values) with the remembering registry.
SMTP_POLICY = email.policy.SMTP.clone(header_factory=_HeaderClasses())


@dataclass(frozen=True)
class Mailbox:
    name: str
    address: str


def build_email(
    content: EmailContentLike,
    *,
    to: Mailbox,
    sender: Mailbox,
    message_id: str,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative (text + HTML) message, with attachments when there are any."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=sender.name, addr_spec=sender.address)
    msg["To"] = Address(display_name=to.name, addr_spec=to.address)
    msg["Subject"] = content.subject
    msg["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    domain = sender.address.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<{message_id}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in {**content.headers, **(extra_headers or {})}.items():
        msg[name] = value
    msg.set_content(content.text, subtype="plain", charset="utf-8")
    msg.add_alternative(content.html, subtype="html", charset="utf-8")
    for att in content.attachments:
        maintype, _, rest = att.content_type.partition("/")
        subtype, _, params_text = rest.partition(";")
        params = dict(
            (k.strip(), v.strip()) for k, _, v in (p.partition("=") for p in params_text.split(";") if p.strip())
        )
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype.strip(), filename=att.filename, params=params)
    # set_content/add_alternative rewrite Content-* headers: set the language afterwards.
    msg["Content-Language"] = content.language
    return msg


def recipients_of(msg: EmailMessage) -> list[str]:
    return [a.addr_spec for a in msg["To"].addresses]


class OutboxEmail:
    """Writes each message to `<dir>/<message_id>.eml` exactly as SMTP would carry it."""

    name = "email"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def send(self, message_id: str, payload: EmailMessage) -> str | None:
        data = payload.as_bytes(policy=email.policy.SMTP)
        await asyncio.to_thread(write_atomic, self.directory / f"{message_id}.eml", data)
        return None


class SmtpEmail:
    """One SMTP connection per worker, kept open and reused, reopened when it drops.

    Sends on one connection are serialised by a lock (SMTP is one transaction at a time).
    4xx answers and connection trouble are temporary; 5xx answers are permanent.
    """

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.username, self.password, self.timeout = username, password, timeout
        self.tls_context = tls_context
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        return None  # connect lazily: a worker must start even while the SMTP server is down

    async def close(self) -> None:
        async with self._lock:
            await self._drop(quit=True)

    async def _drop(self, quit: bool = False) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if quit and smtp.is_connected:
                await smtp.quit()
            else:
                smtp.close()
        except Exception:
            smtp.close()

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        await self._drop()
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "tls",
            start_tls=True if self.tls == "starttls" else False,
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            tls_context=self.tls_context,
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    async def send(self, message_id: str, payload: EmailMessage) -> str | None:
        async with self._lock:
            try:
                smtp = await self._connection()
                errors, _response = await smtp.send_message(payload)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                codes = [r.code for r in exc.recipients]
                if codes and all(500 <= c < 600 for c in codes):
                    raise PermanentFailure(f"smtp-{codes[0]}") from None
                raise TemporaryFailure(f"smtp-{codes[0] if codes else 'refused'}") from None
            except aiosmtplib.SMTPResponseException as exc:
                if 500 <= exc.code < 600:
                    await self._reset()
                    raise PermanentFailure(f"smtp-{exc.code}") from None
                await self._drop()
                raise TemporaryFailure(f"smtp-{exc.code}") from None
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                await self._drop()
                raise TemporaryFailure(f"smtp-{type(exc).__name__}") from None
        return None

    async def _reset(self) -> None:
        """After a refused transaction, RSET so the connection can be reused; drop it if that fails."""
        if self._smtp is None:
            return
        try:
            await self._smtp.rset()
        except Exception:
            await self._drop()
