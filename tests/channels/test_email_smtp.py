"""`SmtpEmail` against a real SMTP server (aiosmtpd): the transaction it makes with aiosmtplib's
MAIL, RCPT and DATA, what a refusal at each step means, and that the kept connection goes on."""

from __future__ import annotations

import asyncio

import pytest

from channels.base import PermanentFailure, TemporaryFailure
from channels.email import Mailbox, SmtpEmail, build_email, wire_bytes
from notifier.messages.render import EmailContent
from tests.support.service import SmtpSink

SENDER = Mailbox("Notifier", "notifier@tyollisyysalue.example")
CONTENT = EmailContent(subject="Lähete", text="Hei Matti,\n\ntervetuloa.\n", html="<p>Hei</p>\n", language="fi")


def message(address: str, n: int = 1):  # type: ignore[no-untyped-def]
    return build_email(CONTENT, to=Mailbox("Matti Meikäläinen", address), sender=SENDER, message_id=f"m-{n}")


@pytest.fixture
async def channel(smtp: tuple[SmtpSink, int]):  # type: ignore[no-untyped-def]
    _, port = smtp
    ch = SmtpEmail("127.0.0.1", port, timeout=10)
    yield ch
    await ch.close()


async def test_one_transaction_declares_the_exact_size_and_delivers_the_bytes(smtp, channel) -> None:  # type: ignore[no-untyped-def]
    sink, _ = smtp
    msg = message("matti@example.fi")
    await channel.send("m-1", msg)
    [envelope] = sink.envelopes
    assert envelope.mail_from == SENDER.address and envelope.rcpt_tos == ["matti@example.fi"]
    assert f"SIZE={len(wire_bytes(msg))}" in envelope.mail_options
    assert envelope.content == wire_bytes(msg)


@pytest.mark.parametrize("reply, failure", [
    ("550 5.1.1 no such user", PermanentFailure),
    ("450 4.2.1 mailbox busy, try later", TemporaryFailure),
])
async def test_a_refused_recipient_fails_the_send_and_the_next_one_goes_through(smtp, channel, reply, failure) -> None:  # type: ignore[no-untyped-def]
    sink, _ = smtp
    sink.refuse_recipients["gone@example.fi"] = reply
    with pytest.raises(failure, match=f"smtp-{reply[:3]}"):
        await channel.send("m-1", message("gone@example.fi"))
    await channel.send("m-2", message("matti@example.fi", 2))
    assert [e.rcpt_tos for e in sink.envelopes] == [["matti@example.fi"]]


@pytest.mark.parametrize("reply, failure", [
    ("554 5.6.0 message refused", PermanentFailure),
    ("451 4.3.0 try later", TemporaryFailure),
])
async def test_refused_data_fails_the_send_and_the_next_one_goes_through(smtp, channel, reply, failure) -> None:  # type: ignore[no-untyped-def]
    sink, _ = smtp
    sink.refuse_with, sink.refuse_times = reply, 1
    with pytest.raises(failure, match=f"smtp-{reply[:3]}"):
        await channel.send("m-1", message("matti@example.fi"))
    await channel.send("m-2", message("matti@example.fi", 2))
    assert len(sink.messages) == 1


async def test_with_two_connections_two_transactions_are_in_flight_at_once(smtp) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    sink.hold_data_until = 2  # the sink answers no DATA until two are in it
    ch = SmtpEmail("127.0.0.1", port, timeout=10, connections=2)
    try:
        await asyncio.gather(*(ch.send(f"m-{n}", message(f"c{n}@example.fi", n)) for n in range(4)))
    finally:
        await ch.close()
    assert sink.most_in_data == 2 and len(sink.sessions) == 2
    assert sorted(e.rcpt_tos[0] for e in sink.envelopes) == [f"c{n}@example.fi" for n in range(4)]


async def test_one_connection_carries_one_transaction_at_a_time(smtp, channel) -> None:  # type: ignore[no-untyped-def]
    sink, _ = smtp
    await asyncio.gather(*(channel.send(f"m-{n}", message(f"c{n}@example.fi", n)) for n in range(3)))
    assert sink.most_in_data == 1 and len(sink.sessions) == 1 and len(sink.messages) == 3


async def test_sends_one_after_another_keep_to_one_connection_of_several(smtp) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    ch = SmtpEmail("127.0.0.1", port, timeout=10, connections=4)
    try:
        for n in range(3):
            await ch.send(f"m-{n}", message(f"c{n}@example.fi", n))
    finally:
        await ch.close()
    assert len(sink.sessions) == 1 and len(sink.messages) == 3


def test_the_number_of_connections_is_at_least_one() -> None:
    from notifier.app.config import ConfigError, Settings

    with pytest.raises(ValueError, match="connections"):
        SmtpEmail("127.0.0.1", 25, connections=0)
    with pytest.raises(ConfigError, match="NOTIFIER_SMTP_CONNECTIONS"):
        Settings.from_env({"NOTIFIER_SMTP_CONNECTIONS": "0"})
    assert Settings.from_env({"NOTIFIER_SMTP_CONNECTIONS": "3"}).smtp_connections == 3
    assert Settings.from_env({}).smtp_connections == 1
