"""Fault tests with real processes: a worker killed with SIGKILL, SMTP down, Redis restarted.

Each starts Redis, the SMTP sink, `notifier web` and `notifier worker` as subprocesses, sends a
burst of 200 referrals, breaks something mid-burst, and checks that every accepted message
arrives, and that duplicates stay within the documented bound (README "Guarantees").
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiohttp
import pytest
import redis as redis_sync

from notifier.casework.case_system import signed_headers
from notifier.messages.delivery import TAKEOVERS
from notifier.app.embedded_redis import EmbeddedRedis, free_port
from notifier.sealing import generate_key

from tests.support.service import SECRET, referral
from tests.support.kickoff import attendance, invitee, scheduled, starting_soon, until_started
from tests.support.processes import Notifier, StandIn, wait_until

pytestmark = pytest.mark.slow
BURST = 200
MAX_JOBS = 8
SMTP_CONNECTIONS = 2  # a worker's sends overlap on two connections


@pytest.fixture
def rig(tmp_path: Path):
    redis = EmbeddedRedis(tmp_path / "r")
    redis.start()
    sink = StandIn("smtp", free_port(), tmp_path / "smtp.jsonl", tmp_path / "smtp.log")
    sink.start()
    gateway = StandIn("gateway", free_port(), tmp_path / "sms.jsonl", tmp_path / "gateway.log")
    gateway.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update({
        "REDIS_URL": redis.url,
        "NOTIFIER_DATA_DIR": str(tmp_path / "data"),
        "NOTIFIER_WEBHOOK_SECRET": SECRET,
        "NOTIFIER_API_TOKEN": "faults-test-api-token",
        "NOTIFIER_COORDINATOR_TOKEN": "faults-test-coordinator-token",
        "NOTIFIER_DATA_KEY": generate_key(),
        "NOTIFIER_EMAIL_BACKEND": "smtp",
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": str(sink.port),
        "NOTIFIER_SMS_BACKEND": "gatewayapi",
        "NOTIFIER_SMS_URL": f"http://127.0.0.1:{gateway.port}",
        "NOTIFIER_SMS_TOKEN": "gateway-token",
        "NOTIFIER_SEND_TIMEOUT_SECONDS": "2",
        "NOTIFIER_RETRY_BASE_SECONDS": "0.5",
        "NOTIFIER_RETRY_MAX_SECONDS": "2",
        "NOTIFIER_RETRY_WINDOW_SECONDS": "300",
        "NOTIFIER_WORKER_MAX_JOBS": str(MAX_JOBS),
        "NOTIFIER_SMTP_CONNECTIONS": str(SMTP_CONNECTIONS),
        "NOTIFIER_LOG_LEVEL": "INFO",
    })
    service = Notifier(env, tmp_path)
    port = free_port()
    service.web(port)
    service.gateway = gateway  # type: ignore[attr-defined]
    yield redis, sink, service, f"http://127.0.0.1:{port}"
    service.stop_all()
    gateway.stop()
    sink.stop()
    redis.stop()


async def _burst(url: str, n: int, prefix: str) -> list[str]:
    ids: list[str] = []
    sem = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> None:
            body = json.dumps({"type": "client.referred", "data": referral(f"{prefix}-{i}")})
            async with sem, http.post(url + "/webhooks/case-events", data=body.encode(), headers=signed_headers(SECRET, body)) as r:
                assert r.status == 202, await r.text()
                ids.extend((await r.json())["messages"])
        await asyncio.gather(*(one(i) for i in range(n)))
    return ids


def _arrived(sink: StandIn, ids: list[str]) -> set[str]:
    wanted = {f"<{i}@localhost>" for i in ids}
    return wanted & set(sink.counts())


async def _no_show_burst(url: str, n: int) -> list[str]:
    """A kickoff with `n` phone-only invitees and an attendance with nobody there: n no-show SMS."""
    from notifier.casework.case_system import CaseSystem

    invitees = [invitee(f"N-{i}", "fi", email=None, phone=f"040 {1000000 + i}") for i in range(n)]
    async with aiohttp.ClientSession() as http:
        case = CaseSystem(url, SECRET, http)
        starts = starting_soon()
        status, _ = await case.send("kickoff.scheduled", scheduled("S-FAULT", invitees, starts_at=starts))
        assert status == 202
        await until_started(starts)  # attendance is taken once the session has started
        status, answer = await case.send("kickoff.attendance", attendance("S-FAULT", []))
        assert status == 202
    return answer["messages"]


def test_worker_killed_mid_burst_loses_nothing(rig):
    redis, sink, service, url = rig
    gateway = service.gateway
    worker = service.worker()
    ids = asyncio.run(_burst(url, BURST, "K"))
    sms_ids = asyncio.run(_no_show_burst(url, 50))
    r = redis_sync.Redis.from_url(redis.url)
    wait_until(lambda: len(sink.counts()) >= 30, 60, "first sends")
    worker.kill9()
    service.worker()
    wait_until(lambda: len(_arrived(sink, ids)) == BURST, 90, "all 200 e-mails delivered after the restart")
    sms_wanted = {i for i in sms_ids if _is_sms(r, i)}
    assert len(sms_wanted) == 50
    wait_until(lambda: sms_wanted <= set(gateway.counts()), 90, "all 50 no-show SMS delivered")
    duplicates = sum(c - 1 for c in sink.counts().values()) + sum(c - 1 for c in gateway.counts().values())
    takeovers = int(r.get(TAKEOVERS) or 0)
    # One dead worker: at most one e-mail per SMTP connection (one transaction on each at a time)
    # plus MAX_JOBS SMS.
    assert duplicates <= SMTP_CONNECTIONS + MAX_JOBS, f"{duplicates} duplicates"
    assert duplicates <= takeovers


def _is_sms(r: redis_sync.Redis, message_id: str) -> bool:
    import json as _json

    meta = r.hget(f"notifier:msg:{message_id}", "meta")
    return bool(meta) and _json.loads(meta)["channel"] == "sms"


def test_smtp_down_for_ten_seconds_then_every_message_once(rig):
    redis, sink, service, url = rig
    service.worker()
    ids = asyncio.run(_burst(url, BURST, "S"))
    wait_until(lambda: len(sink.counts()) >= 20, 60, "first sends")
    sink.stop()
    r = redis_sync.Redis.from_url(redis.url)
    # While SMTP is down, messages go to temporary-failure and wait.
    wait_until(lambda: any(r.hget(k, "status") == b"temporary-failure" for k in r.scan_iter("notifier:msg:*") if not k.endswith(b":history")), 30, "temporary failures")
    ids += asyncio.run(_burst(url, 10, "S2"))  # the web side keeps accepting meanwhile
    import time
    down_since = time.monotonic()
    wait_until(lambda: time.monotonic() - down_since > 10 or None, 15, "ten seconds of outage")
    sink.start()
    wait_until(lambda: len(_arrived(sink, ids)) == BURST + 10, 90, "all delivered after SMTP returns")
    assert max(sink.counts().values()) == 1


def test_redis_restart_mid_burst_loses_nothing(rig):
    redis, sink, service, url = rig
    service.worker()
    ids = asyncio.run(_burst(url, BURST, "R"))
    wait_until(lambda: len(sink.counts()) >= 20, 60, "first sends")
    redis.stop()
    from tests.support.processes import http_ok
    wait_until(lambda: not http_ok(url + "/healthz"), 10, "health check fails while Redis is down")
    redis.start()
    wait_until(lambda: http_ok(url + "/healthz"), 30, "health check recovers")
    wait_until(lambda: len(_arrived(sink, ids)) == BURST, 90, "all delivered after Redis returns")
