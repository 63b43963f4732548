"""Log lines name the route, never the path: a failing request (Redis down) with a live token in its
path leaves no trace of the token in any log line."""

from __future__ import annotations

import logging

from tests.support.service import SECRET
from notifier.console.auth import ConsoleAuth
from notifier.staff.links import ACKNOWLEDGE, PREFERENCES, SUBSCRIBE, UNSUBSCRIBE, Links
from notifier.app.embedded_redis import free_port
from notifier.sealing import Sealer

SIGNING = ("log-test-signing-secret-0123456789",)


async def test_a_failing_request_never_logs_its_token(start_service, caplog):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: every Redis call fails
    svc = await start_service(worker=False, redis_url=dead, signing_secrets=SIGNING,
                              coordinators=("kirsi@ely-keskus.example",))
    links = Links(SIGNING, svc.settings.public_url)
    _, sign_in = ConsoleAuth(svc.runtime.redis, Sealer(), svc.settings).new_link()
    tokens = {
        "/console/sign-in/": sign_in.rsplit("/", 1)[1],
        "/preferences/": links.sign(PREFERENCES, {"s": "T-1", "n": "n0nce"}),
        "/unsubscribe/": links.sign(UNSUBSCRIBE, {"s": "T-1", "n": "n0nce"}),
        "/acknowledge/": links.sign(ACKNOWLEDGE, {"s": "T-1", "n": "n0nce", "c": "change-1"}),
        "/subscribe/confirm/": links.sign(SUBSCRIBE, {"p": "pending-1"}),
    }
    caplog.set_level(logging.DEBUG)
    for prefix, token in tokens.items():
        async with svc.http.get(svc.url + prefix + token) as resp:
            assert resp.status == 503, prefix
    async with svc.http.post(svc.url + "/webhooks/sms-status?token=" + "q" * 40, json={}) as resp:
        pass
    lines = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("redis unavailable" in line and "/preferences/{token}" in line for line in lines), lines
    for token in [*tokens.values(), "q" * 40]:
        assert not [line for line in lines if token in line]
    assert SECRET not in "".join(lines)
