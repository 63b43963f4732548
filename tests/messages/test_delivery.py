"""Sending through a real SMTP server: temporary and permanent failures, retries, final statuses."""

from __future__ import annotations

from tests.support.service import referral, wait_for


async def test_smtp_temporary_failure_is_retried_then_sent(start_service, smtp):
    sink, port = smtp
    sink.refuse_with, sink.refuse_times = "451 4.3.0 Try again later", 2
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    _, answer = await svc.case.send("client.referred", referral("C-5001"))
    m = await svc.final(answer["messages"][0])
    assert m.status == "sent"
    statuses = [h.status for h in m.history]
    assert statuses == ["created", "sending", "temporary-failure", "sending", "temporary-failure", "sending", "sent"]
    assert [h.reason for h in m.history if h.status == "temporary-failure"] == ["smtp-451", "smtp-451"]
    assert len(sink.messages) == 1


async def test_smtp_permanent_failure_is_final(start_service, smtp):
    sink, port = smtp
    sink.refuse_with, sink.refuse_times = "550 5.1.1 No such user", -1
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    _, answer = await svc.case.send("client.referred", referral("C-5002"))
    m = await svc.final(answer["messages"][0])
    assert m.status == "permanent-failure" and m.reason == "smtp-550"
    assert [h.status for h in m.history] == ["created", "sending", "permanent-failure"]


async def test_smtp_server_down_then_up(start_service):
    """Connection refused is temporary; once the server is up the message goes out, once."""
    from aiosmtpd.controller import Controller

    from notifier.app.embedded_redis import free_port
    from tests.support.service import SmtpSink

    port = free_port()  # nothing listens here yet
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    _, answer = await svc.case.send("client.referred", referral("C-5003"))
    [message_id] = answer["messages"]

    async def refused_twice() -> bool:
        m = await svc.runtime.store.get(message_id)
        return sum(1 for h in m.history if h.status == "temporary-failure") >= 2

    await wait_for(refused_twice)
    m = await svc.runtime.store.get(message_id)
    assert m.status != "sent"
    assert all(h.reason.startswith("smtp-") for h in m.history if h.status == "temporary-failure"), m.history
    sink = SmtpSink()
    server = Controller(sink, hostname="127.0.0.1", port=port)
    server.start()  # the server comes up
    try:
        m = await svc.final(message_id)
        assert m.status == "sent", m.history
        assert [h.status for h in m.history][-2:] == ["sending", "sent"]
        assert len(sink.messages) == 1 and sink.messages[0]["Message-ID"] == f"<{message_id}@localhost>"
    finally:
        server.stop()


async def test_retry_window_exhausted_is_technical_failure(start_service, smtp):
    sink, port = smtp
    sink.refuse_with, sink.refuse_times = "421 4.7.0 Busy", -1
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, retry_window_seconds=0.5)
    _, answer = await svc.case.send("client.referred", referral("C-5004"))
    m = await svc.final(answer["messages"][0])
    assert m.status == "technical-failure"
    assert sink.messages == []


async def test_one_smtp_connection_is_reused_across_messages(start_service, smtp):
    sink, port = smtp
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
    for i in range(5):
        await svc.case.send("client.referred", referral(f"C-60{i}"))
    await wait_for(lambda: len(sink.messages) == 5)
    peers = {e.mail_from for e in sink.envelopes}
    assert peers == {"notifier@localhost"}
    # aiosmtpd gives each connection its own session; all five came over one.
    assert len(sink.sessions) == 1


async def test_message_scheduled_days_ahead_still_gets_its_retry_window(start_service, smtp):
    """The window counts from when a message was due, not from when it was created: a reminder
    planned days before its send time is retried after a temporary failure like any other."""
    from datetime import timedelta

    from notifier.messages.intake import stage_messages
    from notifier.messages.model import PlannedMessage, Recipient
    from notifier.clock import utcnow

    sink, port = smtp
    sink.refuse_with, sink.refuse_times = "451 4.3.0 Try again later", 1
    svc = await start_service(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, retry_window_seconds=60)
    now = utcnow()
    planned = PlannedMessage("referral", "email", Recipient("Matti M", "fi", email="m@example.fi"),
                             referral()["client"] | {"referred_at": "2026-11-30T09:00:00+02:00",
                                                     "office": {"name": "TE", "phone": "", "email": ""},
                                                     "provider": {"name": "P", "phone": "", "email": ""}},
                             {"client": "C-5100"}, send_at=now)
    async with svc.runtime.redis.pipeline(transaction=True) as pipe:
        [mid] = stage_messages(pipe, svc.runtime.store, [planned], now - timedelta(days=3))
        await pipe.execute()
    m = await svc.final(mid)
    assert m.status == "sent", (m.status, m.reason)
    assert [h.status for h in m.history].count("temporary-failure") == 1
