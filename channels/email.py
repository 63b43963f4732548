"""E-mail: building the RFC 5322 message, and two backends that carry it (SMTP, outbox).

`build_email` is the only place a MIME message is assembled (with Python's `email` package).
A header value with CR or LF is refused, so a hostile name or subject cannot inject headers.
"""

from __future__ import annotations

import asyncio
import binascii
import email.utils
import secrets
import ssl
from dataclasses import dataclass
from functools import lru_cache
from email import base64mime, encoders
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.policy import Compat32
from typing import Mapping, Protocol

import aiosmtplib

from channels.base import PermanentFailure, TemporaryFailure
from channels.outbox import OutboxChannel, write_atomic


class EmailContentLike(Protocol):
    subject: str
    text: str
    html: str
    language: str
    attachments: tuple  # of objects with filename, content_type, data
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Mailbox:
    name: str
    address: str


class OutgoingEmail(MIMEMultipart):
    """The message `build_email` makes, which knows its SMTP envelope: the SMTP channel need not
    parse the addresses back out of the headers it has just written (which cost as much as
    building the headers)."""

    envelope_from: str = ""
    envelope_to: tuple[str, ...] = ()


#: RFC 5322's recommended line length for header lines, and the longest a line may be.
_HEADER_LINE = 78
_MAX_LINE = 998


class _Verbatim(Compat32):
    """Writes every header value exactly as it was set (CRLF line ends).

    Each value set by `build_email` is already what goes on the wire (`_header` refuses CR/LF,
    and makes anything else 7-bit and folded; the MIME classes' own headers are short ASCII).
    `compat32` would parse each value into a `Header` and encode it again, the largest single
    cost of serialising a message. Overriding `fold`/`fold_binary` is how the email package
    documents changing a policy's folding (`email.policy.Policy`).
    """

    def fold(self, name: str, value: str) -> str:  # type: ignore[override]
        return f"{name}: {value}{self.linesep}"

    def fold_binary(self, name: str, value: str) -> bytes:  # type: ignore[override]
        return f"{name}: {value}{self.linesep}".encode("ascii")


#: How messages built here are written: CRLF, and header values exactly as `_header` made them.
WIRE = _Verbatim(linesep="\r\n", max_line_length=0)


def build_email(
    content: EmailContentLike,
    *,
    to: Mailbox,
    sender: Mailbox,
    message_id: str,
    extra_headers: Mapping[str, str] | None = None,
) -> OutgoingEmail:
    """A multipart/alternative (text + HTML) message, inside multipart/mixed with attachments.

    Built with the email package's classic (`compat32`) message classes, which do no parsing on
    the way: the same message with the default policy took two and a half times as long to build
    and serialise, the largest single cost of sending an e-mail (see `bench/README.md`). That
    policy is what refused CR/LF in header values; here `_header` refuses them itself, so a
    hostile name or subject still cannot inject headers. Non-ASCII text in headers becomes
    RFC 2047 encoded words; bodies are quoted-printable UTF-8, so the message is 7-bit clean.
    An address that is not ASCII (it would need SMTPUTF8) is refused with ValueError.
    """
    parts = [_text_part(content.text, "plain"), _text_part(content.html, "html")]
    if content.attachments:
        body = MIMEMultipart("alternative", boundary=_boundary(), _subparts=parts)
        del body["MIME-Version"]
        root = OutgoingEmail("mixed", boundary=_boundary(),
                             _subparts=[body, *(_attachment_part(a) for a in content.attachments)])
    else:
        root = OutgoingEmail("alternative", boundary=_boundary(), _subparts=parts)
    domain = sender.address.rpartition("@")[2] or "localhost"
    root["From"], root["To"] = _sender_mailbox(sender), _mailbox(to)  # as they go on the wire
    headers = {
        "Subject": content.subject,
        "Date": email.utils.formatdate(localtime=False, usegmt=True),
        "Message-ID": f"<{message_id}@{domain}>",
        "Auto-Submitted": "auto-generated",
        **content.headers,
        **(extra_headers or {}),
        "Content-Language": content.language,
    }
    for name, value in headers.items():
        root[name] = _header(name, value)
    root.envelope_from, root.envelope_to = sender.address, (to.address,)
    return root


def _no_crlf(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name} may not contain CR or LF")
    return value


def _header(name: str, value: str) -> str:
    """A header value as it goes on the wire (`WIRE` writes it unchanged): ASCII as it is, unless
    longer than a line may be; anything else as RFC 2047 encoded words folded at 78."""
    _no_crlf(name, value)
    if value.isascii() and len(name) + 2 + len(value) <= _MAX_LINE:
        return value  # a long URL stays on its line, as the default policy leaves it
    if value.isascii():
        return Header(value, "us-ascii", header_name=name, maxlinelen=_HEADER_LINE).encode(linesep="\r\n")
    return _encoded_words(value)


#: UTF-8 bytes per encoded word: base64 of 39 bytes is 52 characters, and with `=?utf-8?b?` and
#: `?=` a word is 64, so a line stays within 78 after a header name of up to 12 characters
#: ("Subject: "); after a longer name, well within the 998 a line may have.
_WORD_BYTES = 39


def _encoded_words(value: str) -> str:
    """Non-ASCII text as RFC 2047 "B" encoded words, one per line (CRLF + space between them).

    `email.header.Header` does the same, measuring every character of every candidate split in
    Python: 100 µs for a long Finnish subject, as much as the rest of the message's headers. Here
    the UTF-8 bytes are cut into pieces of at most `_WORD_BYTES`, never inside a character (a
    piece ends before a continuation byte), and each piece is encoded by the email package
    (`email.base64mime.header_encode`); decoders join adjacent encoded words and ignore the
    folding between them (RFC 2047, section 6.2).
    """
    data = value.encode("utf-8")
    words: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character: cut before it
            end -= 1
        words.append(base64mime.header_encode(data[start:end], "utf-8"))
        start = end
    return "\r\n ".join(words)


def _mailbox(m: Mailbox) -> str:
    """`Name <address>`: an ASCII name as `formataddr` quotes it; a non-ASCII one as encoded words
    of at most 64 characters (RFC 2047 allows 75; `formataddr` writes one word however long the
    name, which a client may show undecoded)."""
    if not m.address.isascii():
        raise ValueError("address is not ASCII (would need SMTPUTF8)")
    name, address = _no_crlf("name", m.name), _no_crlf("address", m.address)
    if name.isascii():
        return _header("To", email.utils.formataddr((name, address)))  # folded if over a line
    return f"{_encoded_words(name)}\r\n <{address}>"  # folded: every line within 78


#: The sender is the same on every message: formatted once (recipients are not kept).
_sender_mailbox = lru_cache(maxsize=8)(_mailbox)


def wire_bytes(msg: Message) -> bytes:
    """The complete message as SMTP carries it and the outbox keeps it."""
    return msg.as_bytes(policy=WIRE)


def _boundary() -> str:
    """A multipart boundary that cannot occur in the parts: every part here is quoted-printable
    or base64, and neither ever writes "=_" (RFC 2045 6.7's advice). Given, so the generator does
    not scan the whole message for a collision with a fresh regular expression per message."""
    return "=_" + secrets.token_hex(12)  # 96 random bits; the Content-Type line stays within 78


def _text_part(text: str, subtype: str) -> MIMEBase:
    """UTF-8 text as quoted-printable: readable 7-bit text whatever the relay supports. Encoded by
    `binascii` (C) rather than `email.quoprimime` (Python, a loop per character); the result is
    the same encoding, which the reference test in `tests/channels` reads back."""
    part = MIMEBase("text", subtype, charset="utf-8")
    del part["MIME-Version"]
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _attachment_part(att: object) -> MIMEBase:
    content_type: str = att.content_type  # type: ignore[attr-defined]
    maintype, _, rest = content_type.partition("/")
    subtype, _, params_text = rest.partition(";")
    params = dict(
        (k.strip(), v.strip()) for k, _, v in (p.partition("=") for p in params_text.split(";") if p.strip())
    )
    part = MIMEBase(maintype, subtype.strip(), **params)
    del part["MIME-Version"]
    part.set_payload(att.data)  # type: ignore[attr-defined]
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=_no_crlf("filename", att.filename))  # type: ignore[attr-defined]
    return part


def recipients_of(msg: Message) -> list[str]:
    return [address for _name, address in email.utils.getaddresses(msg.get_all("To", []))]


class OutboxEmail(OutboxChannel):
    """Writes each message to `<dir>/<message_id>.eml` exactly as SMTP would carry it."""

    name = "email"

    async def send(self, message_id: str, payload: Message) -> str | None:
        data = wire_bytes(payload)
        await asyncio.to_thread(write_atomic, self.directory / f"{message_id}.eml", data)
        return None


async def transaction(smtp: aiosmtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> None:
    """One SMTP mail transaction: MAIL, RCPT and DATA through aiosmtplib's public commands, as its
    `sendmail` does, less what `build_email` has already made sure of: `sendmail` parses every
    address twice (a Python address parser, 18 µs a time) and rewrites the message's line ends
    once more only to count its bytes, 70 µs per e-mail together. `wire_bytes` writes CRLF line
    ends throughout, so its length is the RFC 1870 SIZE. A refusal raises; the caller resets or
    drops the connection, as `sendmail` would have. (Also what `bench.floor` sends with.)"""
    options = [f"SIZE={len(data)}"] if smtp.supports_extension("size") else []
    await smtp.mail(sender, options=options, timeout=None)
    for recipient in recipients:
        await smtp.rcpt(recipient, timeout=None)
    await smtp.data(data, timeout=None)


class SmtpEmail:
    """`connections` SMTP connections per worker (default 1), each kept open, reused, and reopened
    when it drops.

    A connection carries one transaction at a time (SMTP has no concurrency on a connection); a
    send takes a free connection and gives it back. Connections open lazily, only as many as sends
    are waiting: the most recently used is taken first (a LIFO), so a quiet worker keeps using one.
    More connections let a worker's sends overlap; they also raise the number of e-mails that may
    be sent twice if the worker dies mid-send (README "Guarantees": one per connection).
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
        connections: int = 1,
    ) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        self.host, self.port, self.tls = host, port, tls
        self.username, self.password, self.timeout = username, password, timeout
        self.tls_context = tls_context
        self.connections = connections
        self._free: asyncio.LifoQueue[_Lane] = asyncio.LifoQueue()
        for _ in range(connections):
            self._free.put_nowait(_Lane())

    async def start(self) -> None:
        return None  # connect lazily: a worker must start even while the SMTP server is down

    async def close(self) -> None:
        """Wait for the sends in progress, then QUIT every open connection."""
        lanes = [await self._free.get() for _ in range(self.connections)]
        for lane in lanes:
            await lane.drop(quit=True)
        for lane in lanes:
            self._free.put_nowait(lane)

    async def send(self, message_id: str, payload: OutgoingEmail) -> str | None:
        data = wire_bytes(payload)
        sender, recipients = payload.envelope_from, list(payload.envelope_to)  # set by `build_email`
        lane = await self._free.get()
        try:
            try:
                smtp = await self._connection(lane)
                # One timer for the whole transaction instead of one `wait_for` per SMTP command
                # (four per e-mail): the same bound, a measurable part of a worker's CPU per e-mail.
                async with asyncio.timeout(self.timeout):
                    await transaction(smtp, sender, recipients, data)
            except aiosmtplib.SMTPResponseException as exc:  # MAIL, RCPT or DATA refused
                if 500 <= exc.code < 600:
                    await lane.reset()
                    raise PermanentFailure(f"smtp-{exc.code}") from None
                await lane.drop()
                raise TemporaryFailure(f"smtp-{exc.code}") from None
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                await lane.drop()
                raise TemporaryFailure(f"smtp-{type(exc).__name__}") from None
        finally:
            self._free.put_nowait(lane)
        return None

    async def _connection(self, lane: _Lane) -> aiosmtplib.SMTP:
        """`lane`'s connection, opened (again) if it has none or it dropped."""
        if lane.smtp is not None and lane.smtp.is_connected:
            return lane.smtp
        await lane.drop()
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
        if smtp.is_ehlo_or_helo_needed:  # now, so that `supports_extension` knows before MAIL
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        lane.smtp = smtp
        return smtp


class _Lane:
    """One kept SMTP connection of an `SmtpEmail`, used by one send at a time."""

    __slots__ = ("smtp",)

    def __init__(self) -> None:
        self.smtp: aiosmtplib.SMTP | None = None

    async def drop(self, quit: bool = False) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            if quit and smtp.is_connected:
                await smtp.quit()
            else:
                smtp.close()
        except Exception:
            smtp.close()

    async def reset(self) -> None:
        """After a refused transaction, RSET so the connection can be reused; drop it if that fails."""
        if self.smtp is None:
            return
        try:
            await self.smtp.rset()
        except Exception:
            await self.drop()
