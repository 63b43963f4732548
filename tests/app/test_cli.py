"""The `notifier` command as a real process: run with embedded Redis, web/worker without Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from notifier.casework.case_system import signed_headers
from notifier.app.embedded_redis import free_port

from tests.support.service import referral


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_") and k != "REDIS_URL"}
    env.update({"NOTIFIER_DATA_DIR": str(tmp_path / "data"), **extra})
    return env


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_refuse_to_start_without_redis_url(tmp_path, command):
    proc = subprocess.run([sys.executable, "-m", "notifier", command], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "REDIS_URL" in lines[0]


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_run_embedded_referral_lands_in_outbox_and_sigterm_exits_0(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "notifier", "run", "--port", str(port)],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait(lambda: _healthy(port))
        secret = (tmp_path / "data" / "webhook-secret").read_text().strip()
        body = json.dumps({"type": "client.referred", "data": referral("C-9001", "sv")})
        req = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/case-events", data=body.encode(),
                                     headers=signed_headers(secret, body), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 202
            [mid] = json.load(r)["messages"]
        eml = tmp_path / "data" / "outbox" / "email" / f"{mid}.eml"
        _wait(eml.exists, timeout=10)
        assert b"Content-Language: sv" in eml.read_bytes()
        assert (tmp_path / "data" / "redis" / "appendonlydir").exists() or list((tmp_path / "data" / "redis").glob("*.aof*"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = proc.stdout.read() if proc.stdout else ""
    assert "Sven" not in output and "c-9001@example.fi" not in output  # no personal data in logs
