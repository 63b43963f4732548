"""The first hour in production, with real processes: `notifier secrets` gives a set that a web
and a worker start with and deliver by; a process given another data key refuses to start,
naming NOTIFIER_DATA_KEY, and so does `notifier check`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.support.service import referral
from notifier.casework.case_system import CaseSystem
from notifier.app.embedded_redis import EmbeddedRedis, free_port
from notifier.sealing import generate_key
from tests.support.processes import Notifier, wait_until

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
NAMES = {"NOTIFIER_DATA_KEY", "NOTIFIER_WEBHOOK_SECRET", "NOTIFIER_API_TOKEN", "NOTIFIER_COORDINATOR_TOKEN",
         "NOTIFIER_SIGNING_SECRET", "NOTIFIER_STATUS_CALLBACK_SECRET", "NOTIFIER_SMS_CALLBACK_TOKEN"}


def notifier(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notifier", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def fresh_set(env: dict[str, str]) -> dict[str, str]:
    out = notifier("secrets", env=env)
    assert out.returncode == 0, out.stderr
    pairs = [line.split("=", 1) for line in out.stdout.splitlines() if line and not line.startswith("#")]
    return dict(pairs)


@pytest.fixture
def redis(tmp_path: Path):
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_secrets_output_starts_a_web_and_a_worker_that_deliver_a_referral(redis, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_"))}
    secrets = fresh_set(base)
    assert set(secrets) == NAMES and all(secrets.values())
    assert fresh_set(base)["NOTIFIER_DATA_KEY"] != secrets["NOTIFIER_DATA_KEY"]  # fresh every time
    env = {**base, **secrets, "REDIS_URL": redis.url, "NOTIFIER_DATA_DIR": str(tmp_path / "data"),
           "NOTIFIER_PUBLIC_URL": "https://notifier.example"}
    check = notifier("check", "--json", "--timeout", "30", env=env)  # a busy machine answers slowly
    assert check.returncode == 0 and json.loads(check.stdout)["ok"] is True, check.stdout

    service = Notifier(env, tmp_path)
    port = free_port()
    try:
        service.web(port)
        service.worker()
        url = f"http://127.0.0.1:{port}"

        async def send() -> str:
            async with aiohttp.ClientSession() as http:
                status, answer = await CaseSystem(url, secrets["NOTIFIER_WEBHOOK_SECRET"], http).send("client.referred", referral())
                assert status == 202, answer
                return answer["messages"][0]

        message_id = asyncio.run(send())

        def status() -> str | None:
            import urllib.request

            request = urllib.request.Request(f"{url}/api/messages/{message_id}",
                                             headers={"Authorization": f"Bearer {secrets['NOTIFIER_API_TOKEN']}"})
            with urllib.request.urlopen(request, timeout=5) as r:
                got = json.loads(r.read())["status"]
            return got if got in ("sent", "permanent-failure", "technical-failure") else None

        assert wait_until(status, 60, "the referral sent") == "sent"
        assert (tmp_path / "data" / "outbox" / "email" / f"{message_id}.eml").exists()

        # Another data key: the worker and a second web refuse to start, naming the variable, and
        # `notifier check` fails naming it too.
        other = {**env, "NOTIFIER_DATA_KEY": generate_key()}
        for command in (["worker"], ["web", "--port", str(free_port())]):
            refused = notifier(*command, env=other)
            assert refused.returncode != 0 and "NOTIFIER_DATA_KEY" in refused.stderr, refused.stderr[-2000:]
            assert "Traceback" not in refused.stderr, refused.stderr[-2000:]
        check = notifier("check", "--timeout", "30", env=other)
        assert check.returncode == 1
        assert [line for line in check.stdout.splitlines() if line.startswith("FAIL")] == [
            next(line for line in check.stdout.splitlines() if "NOTIFIER_DATA_KEY cannot open" in line)]
    finally:
        service.stop_all()
