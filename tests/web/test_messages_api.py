"""The message API and the health check."""

from __future__ import annotations

from tests.support.service import referral


async def test_api_needs_the_bearer_token(start_service):
    svc = await start_service(worker=False)
    assert (await svc.api("GET", "/api/messages?client_id=C-1", token=None))[0] == 401
    assert (await svc.api("GET", "/api/messages?client_id=C-1", token="wrong"))[0] == 401
    assert (await svc.api("GET", "/api/messages?client_id=C-1"))[0] == 200


async def test_messages_by_client_with_history_and_masked_recipient(start_service):
    svc = await start_service()
    _, a = await svc.case.send("client.referred", referral("C-77"))
    _, b = await svc.case.send("client.referred", referral("C-78"))
    await svc.final(a["messages"][0])
    status, body = await svc.api("GET", "/api/messages?client_id=C-77")
    assert status == 200
    [m] = body["messages"]
    assert m["id"] == a["messages"][0] and m["client_id"] == "C-77"
    assert m["status"] == "sent" and [h["status"] for h in m["history"]] == ["created", "sending", "sent"]
    assert m["recipient"]["email"] == "c***@example.fi"
    assert m["created_at"].endswith("+02:00")  # Helsinki at the edges
    assert "Matti" not in str(body)


async def test_unknown_message_is_404_and_missing_filter_422(start_service):
    svc = await start_service(worker=False)
    assert (await svc.api("GET", "/api/messages/nope"))[0] == 404
    status, body = await svc.api("GET", "/api/messages")
    assert status == 422 and body["errors"]


async def test_healthz_follows_redis(start_service, tmp_path):
    """200 while Redis answers, 503 once it is stopped, 200 again after it is back (same port)."""
    from tests.support.service import wait_for
    from notifier.app.embedded_redis import EmbeddedRedis

    own = EmbeddedRedis(tmp_path / "own-redis")  # not the suite's Redis: this one is stopped
    own.start()
    try:
        svc = await start_service(worker=False, redis_url=own.url)

        async def health() -> tuple[int, dict]:
            async with svc.http.get(svc.url + "/healthz") as resp:
                return resp.status, await resp.json()

        assert await health() == (200, {"status": "ok", "redis": "up"})
        own.stop()
        assert await health() == (503, {"status": "unavailable", "redis": "down"})
        own.start()
        assert await wait_for(lambda: _is(health(), 200))
    finally:
        own.stop()


async def _is(answer, status: int) -> bool:  # type: ignore[no-untyped-def]
    return (await answer)[0] == status


async def test_roles_have_separate_tokens_when_a_coordinator_token_is_set(start_service):
    svc = await start_service(worker=False, coordinator_token="coordinator-secret")
    staff = {"name": "Tiina T", "email": "tiina@example.fi", "language": "fi", "organisation": "te-office", "site": "turku"}
    # The case systems' token may read messages but not change the staff directory.
    assert (await svc.api("GET", "/api/messages?client_id=C-1"))[0] == 200
    status, body = await svc.api("PUT", "/api/staff/ST-1", json=staff)
    assert status == 403 and "coordinator" in body["detail"]
    # The coordinators' token may do both.
    assert (await svc.api("PUT", "/api/staff/ST-1", token="coordinator-secret", json=staff))[0] in (200, 201)
    assert (await svc.api("GET", "/api/messages?client_id=C-1", token="coordinator-secret"))[0] == 200
    assert (await svc.api("GET", "/api/staff", token="nobody"))[0] == 401
