"""`build_email`: built with the classic message classes for speed, it says exactly what the email
package's default policy builds (the reference below, the builder it replaced), as a mail client
reads it; and it refuses header injection as that policy did."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage

import email.policy
import email.utils
from email.headerregistry import Address

import pytest

from channels.email import Mailbox, build_email, recipients_of, wire_bytes
from notifier.messages.render import Attachment, EmailContent

SENDER = Mailbox("Notifier, Turku", "notifier@tyollisyysalue.example")
LONG_URL = "https://notifier.example/unsubscribe/" + "x" * 120

CONTENTS = [
    EmailContent(subject="Referral", text="Hello Matti,\n\nshort lines.\n", html="<p>Hello</p>\n", language="fi"),
    EmailContent(
        subject="Sinut on ohjattu tehostettuun työnvälityspalveluun – lue tämä huolellisesti ennen alkuinfoa",
        text="Hei " + "pitkä rivi ilman rivinvaihtoa " * 12 + "\n\n€ š Å\n", html="<p>Hei &amp; tervetuloa</p>\n",
        language="fi", headers={"List-Unsubscribe": f"<{LONG_URL}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                                "List-Id": "Practice changes <practice-changes.tyollisyysalue.example>"},
    ),
    EmailContent(
        subject="Inbjudan till informationsmöte", text="Hej Sven,\n", html="<p>Hej</p>\n", language="sv",
        attachments=(Attachment("kickoff.ics", "text/calendar; charset=utf-8; method=REQUEST",
                                b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"),),
    ),
]
RECIPIENTS = [Mailbox("Matti Meikäläinen", "matti@example.fi"), Mailbox('Ström, "Sven" (ext)', "sven@example.fi"),
              Mailbox("", "plain@example.fi")]


def reference(content: EmailContent, *, to: Mailbox, sender: Mailbox, message_id: str) -> EmailMessage:
    """The same message built with the email package's default policy."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = Address(display_name=sender.name, addr_spec=sender.address)
    msg["To"] = Address(display_name=to.name, addr_spec=to.address)
    msg["Subject"] = content.subject
    msg["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = f"<{message_id}@{sender.address.rpartition('@')[2]}>"
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in content.headers.items():
        msg[name] = value
    msg.set_content(content.text, subtype="plain", charset="utf-8")
    msg.add_alternative(content.html, subtype="html", charset="utf-8")
    for att in content.attachments:
        maintype, _, rest = att.content_type.partition("/")
        subtype, _, params_text = rest.partition(";")
        params = dict((k.strip(), v.strip()) for k, _, v in (p.partition("=") for p in params_text.split(";") if p.strip()))
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype.strip(), filename=att.filename, params=params)
    msg["Content-Language"] = content.language
    return msg


def on_the_wire(msg: object) -> bytes:
    """What the SMTP channel sends (DATA has CRLF line ends)."""
    raw = wire_bytes(msg) if not isinstance(msg, EmailMessage) else msg.as_bytes(policy=email.policy.SMTP)  # type: ignore[arg-type]
    return re.sub(rb"\r?\n", b"\r\n", raw)


def as_received(msg: object) -> EmailMessage:
    """The message as a mail client reads it."""
    return message_from_bytes(on_the_wire(msg), policy=policy.default)  # type: ignore[arg-type]


def summary(msg: EmailMessage) -> dict[str, object]:
    body = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert body is not None and html is not None
    return {
        "headers": {k: str(msg[k]) for k in ("From", "To", "Subject", "Message-ID", "Auto-Submitted", "Content-Language",
                                           "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id") if msg[k] is not None},
        "to": [a.addr_spec for a in msg["To"].addresses],
        "type": msg.get_content_type(),
        "text": body.get_content(),
        "html": html.get_content(),
        "attachments": [(p.get_filename(), p.get_content_type(), dict(p.get_params()[1:]), p.get_content())
                        for p in msg.iter_attachments()],
    }


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("to", RECIPIENTS)
def test_fast_builder_says_what_the_default_policy_builder_says(content: EmailContent, to: Mailbox) -> None:
    fast = as_received(build_email(content, to=to, sender=SENDER, message_id="m-1"))
    expected = as_received(reference(content, to=to, sender=SENDER, message_id="m-1"))
    assert summary(fast) == summary(expected)
    assert fast["Date"] and fast["Message-ID"] == "<m-1@tyollisyysalue.example>"
    built = build_email(content, to=to, sender=SENDER, message_id="m-1")
    assert recipients_of(built) == [to.address]
    # The SMTP envelope travels with the message: what its headers say, without parsing them again.
    assert (built.envelope_from, list(built.envelope_to)) == (SENDER.address, recipients_of(built))


def test_headers_are_seven_bit_and_encoded_words_folded() -> None:
    raw = on_the_wire(build_email(CONTENTS[1], to=RECIPIENTS[0], sender=SENDER, message_id="m-2"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert max(len(line) for line in head.splitlines()) <= 998
    encoded = [line for line in head.splitlines() if b"=?utf-8?" in line]
    assert encoded and max(len(line) for line in encoded) <= 78


@pytest.mark.parametrize("where", ["subject", "name", "header", "filename"])
def test_cr_or_lf_in_a_header_value_is_refused(where: str) -> None:
    evil = "x\r\nBcc: everyone@example.fi"
    content = CONTENTS[2]
    to = RECIPIENTS[0]
    if where == "subject":
        content = EmailContent(subject=evil, text="t", html="h", language="fi")
    elif where == "name":
        to = Mailbox(evil, "matti@example.fi")
    elif where == "header":
        content = EmailContent(subject="s", text="t", html="h", language="fi", headers={"List-Id": evil})
    else:
        content = EmailContent(subject="s", text="t", html="h", language="fi",
                               attachments=(Attachment(evil, "text/plain", b"x"),))
    with pytest.raises(ValueError):
        build_email(content, to=to, sender=SENDER, message_id="m-3")


def test_non_ascii_address_is_refused_as_before() -> None:
    with pytest.raises(ValueError):  # the default policy refused it too (NonASCIILocalPartDefect)
        build_email(CONTENTS[0], to=Mailbox("Åsa", "åsa@example.fi"), sender=SENDER, message_id="m-4")
    with pytest.raises(ValueError):
        reference(CONTENTS[0], to=Mailbox("Åsa", "åsa@example.fi"), sender=SENDER, message_id="m-4")


def test_long_header_without_spaces_stays_on_its_line() -> None:
    raw = on_the_wire(build_email(CONTENTS[1], to=RECIPIENTS[0], sender=SENDER, message_id="m-5"))
    assert f"List-Unsubscribe: <{LONG_URL}>\r\n".encode() in raw


@pytest.mark.parametrize("subject", [
    "Ä", "Kutsu alkuinfoon", "Sinut on ohjattu tehostettuun työnvälityspalveluun – lue tämä huolellisesti",
    "€" * 13 + "x", "€" * 14, "😀" * 30, "Åbo " * 40, "a" * 38 + "ä",
])
def test_non_ascii_subject_is_encoded_words_that_decode_to_it(subject: str) -> None:
    raw = on_the_wire(build_email(EmailContent(subject=subject, text="t", html="h", language="fi"),
                                  to=RECIPIENTS[2], sender=SENDER, message_id="m-6"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and max(len(line) for line in head.splitlines()) <= 78
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject


@pytest.mark.parametrize("name", [
    "Åsa-Maria Östergård-Lindqvist Väisänen-Hämäläinen",  # a double-barrelled name of two families
    "Ström, \"Sven\" (ext) Ålandsbanken-Håkansson Ekström",  # specials and non-ASCII together
    "😀" * 20,
])
def test_a_long_non_ascii_name_is_encoded_words_of_at_most_75_characters(name: str) -> None:
    """RFC 2047 section 2: an encoded word is at most 75 characters; a client may show a longer
    one undecoded, as `=?utf-8?b?...`, in place of the recipient's name."""
    raw = on_the_wire(build_email(CONTENTS[0], to=Mailbox(name, "matti@example.fi"), sender=SENDER, message_id="m-7"))
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    words = re.findall(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=", head)
    assert words and max(len(w) for w in words) <= 75
    assert max(len(line) for line in head.splitlines()) <= 78
    # Decoded as RFC 2047 section 6.2 says (the space between adjacent encoded words is not text);
    # the email package's address parser keeps that space, also for what its own policy writes.
    to = message_from_bytes(raw, policy=policy.compat32)["To"]
    assert str(make_header(decode_header(to))) == f"{name} <matti@example.fi>"
