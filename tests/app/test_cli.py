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


SUOMIFI_ENV = {
    "NOTIFIER_LETTER_BACKEND": "suomifi", "NOTIFIER_SUOMIFI_USERNAME": "api", "NOTIFIER_SUOMIFI_PASSWORD": "pw",
    "NOTIFIER_SUOMIFI_SERVICE_ID": "svc", "NOTIFIER_OFFICE_STREET": "Ratapihankatu 36",
    "NOTIFIER_OFFICE_POSTAL_CODE": "20100", "NOTIFIER_OFFICE_CITY": "Turku",
}


@pytest.mark.parametrize("setting, value", [
    ("NOTIFIER_SUOMIFI_POSTI_USERNAME", "TKU"),      # Suomi.fi's PostiMessaging.username: exactly 6
    ("NOTIFIER_SUOMIFI_POSTI_PASSWORD", "12345"),    # password: exactly 4
    ("NOTIFIER_SUOMIFI_POSTI_EMAIL", "a@b"),         # contactDetails.email: 5 to 256
])
def test_a_posti_setting_of_the_wrong_length_stops_the_start(tmp_path, setting, value):
    posti = {"NOTIFIER_SUOMIFI_POSTI_USERNAME": "TKU001", "NOTIFIER_SUOMIFI_POSTI_PASSWORD": "4321",
             "NOTIFIER_SUOMIFI_POSTI_EMAIL": "posti@te.example", setting: value}
    proc = subprocess.run([sys.executable, "-m", "notifier", "worker"], env=_env(tmp_path, **SUOMIFI_ENV, **posti),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert setting in proc.stderr and value not in proc.stderr  # names the setting, never echoes a secret


def test_callbacks_status_and_enable(tmp_path, redis_url):
    """`notifier callbacks status` says a 410 stopped them (exit 1); `enable` lifts it (exit 0)."""
    import redis as redis_sync

    from notifier.messages.callbacks import DISABLED

    url = "https://case.example/callbacks"
    r = redis_sync.Redis.from_url(redis_url)
    r.hset(DISABLED, mapping={"url": url, "at": "2026-11-30T09:00:00+00:00", "answer": "410"})
    env = _env(tmp_path, REDIS_URL=redis_url, NOTIFIER_STATUS_CALLBACK_URL=url,
               NOTIFIER_STATUS_CALLBACK_SECRET="whsec_dGhpcyBpcyBhIHRlc3QgY2FsbGJhY2sgc2VjcmV0IQ==")

    def run(action: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "notifier", "callbacks", action], env=env,
                              capture_output=True, text=True, timeout=60)

    status = run("status")
    assert status.returncode == 1 and "410" in status.stdout
    enabled = run("enable")
    assert enabled.returncode == 0 and "enabled again" in enabled.stdout
    assert not r.exists(DISABLED)
    assert run("status").returncode == 0
    r.close()
