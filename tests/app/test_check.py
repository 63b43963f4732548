"""`notifier check`: real Redis, SMTP server and SMS gateway stand-in; one line per problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.service import SECRET
from notifier.app.check import FAIL, OK, WARN, report, run_checks
from notifier.app.embedded_redis import free_port
from notifier.sealing import generate_key

REPO = Path(__file__).resolve().parents[2]
GATEWAY_TOKEN = "gateway-token-for-check"


def production_env(redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "REDIS_URL": redis_url, "NOTIFIER_DATA_DIR": str(data_dir), "NOTIFIER_WEBHOOK_SECRET": SECRET,
        "NOTIFIER_API_TOKEN": "a-long-enough-api-token", "NOTIFIER_DATA_KEY": generate_key(),
        "NOTIFIER_SIGNING_SECRET": "a-long-enough-signing-secret", "NOTIFIER_PUBLIC_URL": "https://notifier.example",
        "NOTIFIER_COORDINATORS": "kirsi.koordinaattori@elinvoimakeskus.example",
        "NOTIFIER_OFFICE_NAME_FI": "Turun seudun työllisyysalue", "NOTIFIER_OFFICE_NAME_SV": "Åbonejdens sysselsättningsområde",
        "NOTIFIER_OFFICE_PHONE": "02 262 3000",
    }
    env.update(extra)
    return env


async def gateway() -> tuple[TestServer, str]:
    async def me(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Token {GATEWAY_TOKEN}":
            return web.json_response({"message": "unauthorized"}, status=401)
        return web.json_response({"credit": 10.0, "currency": "EUR", "id": 1})

    app = web.Application()
    app.router.add_get("/rest/me", me)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


def levels(findings) -> dict[str, str]:
    return {f.check: f.level for f in findings}


async def test_a_working_production_configuration_passes(redis_url, smtp, tmp_path):
    _, smtp_port = smtp
    server, gateway_url = await gateway()
    try:
        env = production_env(redis_url, tmp_path / "data", NOTIFIER_EMAIL_BACKEND="smtp", NOTIFIER_SMTP_HOST="127.0.0.1",
                             NOTIFIER_SMTP_PORT=str(smtp_port), NOTIFIER_SMS_BACKEND="gatewayapi",
                             NOTIFIER_SMS_URL=gateway_url, NOTIFIER_SMS_TOKEN=GATEWAY_TOKEN,
                             NOTIFIER_SMS_CALLBACK_TOKEN="callback-token", NOTIFIER_SMS_SENDER="0401234567")
        findings = await run_checks(env, timeout=3)
    finally:
        await server.close()
    found = levels(findings)
    assert found["redis"] == OK and found["smtp"] == OK and found["SMS gateway"] == OK
    assert [f for f in findings if f.level != OK] == []
    text, code = report(findings, as_json=False)
    assert code == 0 and text.startswith("configuration ok")
    assert not (tmp_path / "data").exists()  # checking creates nothing


async def test_every_problem_is_one_line_and_fails_the_check(redis_url, tmp_path):
    server, gateway_url = await gateway()
    dead = free_port()
    try:
        env = production_env(f"redis://:hunter2@127.0.0.1:{dead}/0", tmp_path,
                             NOTIFIER_WEBHOOK_SECRET="whsec_c2hvcnQ=", NOTIFIER_API_TOKEN="short",
                             NOTIFIER_DATA_KEY="not-a-fernet-key", NOTIFIER_EMAIL_BACKEND="smtp",
                             NOTIFIER_SMTP_HOST="127.0.0.1", NOTIFIER_SMTP_PORT=str(dead),
                             NOTIFIER_SMS_BACKEND="gatewayapi", NOTIFIER_SMS_URL=gateway_url,
                             NOTIFIER_SMS_TOKEN="wrong-token", NOTIFIER_SMS_SENDER="Tyollisyys",
                             NOTIFIER_COORDINATORS="", NOTIFIER_OFFICE_PHONE="")
        findings = await run_checks(env, timeout=3)
    finally:
        await server.close()
    found = levels(findings)
    for check in ("redis", "smtp", "SMS gateway", "webhook secret", "API token", "data key"):
        assert found[check] == FAIL, (check, findings)
    assert found["SMS sender"] == WARN and found["SMS delivery reports"] == WARN
    assert found["console"] == WARN  # nobody could sign in to the coordinators' console
    assert found["organisation"] == WARN  # a no-show SMS could be left without a number to call
    text, code = report(findings, as_json=False)
    assert code == 1
    lines = text.splitlines()
    assert len(lines) == sum(1 for f in findings if f.level != OK)
    assert all(line.split()[0] in ("FAIL", "WARN") for line in lines)
    assert "hunter2" not in text and "wrong-token" not in text and "not-a-fernet-key" not in text


def test_cli_json_output_and_exit_status(redis_url, tmp_path):
    def run(env: dict[str, str]) -> tuple[int, dict]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_"))}
        proc = subprocess.run([sys.executable, "-m", "notifier", "check", "--json", "--timeout", "3"],
                              env={**base, **env}, cwd=REPO, capture_output=True, text=True, timeout=60)
        return proc.returncode, json.loads(proc.stdout)

    code, answer = run(production_env(redis_url, tmp_path))
    assert code == 0 and answer["ok"] is True
    assert {c["check"] for c in answer["checks"]} >= {"configuration", "redis", "webhook secret", "data dir"}
    code, answer = run(production_env(f"redis://127.0.0.1:{free_port()}/0", tmp_path))
    assert code == 1 and answer["ok"] is False
    assert [c["check"] for c in answer["checks"] if c["level"] == "fail"] == ["redis"]
    code, answer = run({"NOTIFIER_EMAIL_BACKEND": "pigeon"})
    assert code == 1 and answer["checks"] == [{"check": "configuration", "level": "fail",
                                               "detail": "NOTIFIER_EMAIL_BACKEND must be one of outbox, smtp, not 'pigeon'"}]


async def test_digests_with_a_plain_http_public_url_fail_the_check(redis_url, tmp_path, caplog):
    """RFC 8058: the one-click List-Unsubscribe URI must be https. Loopback (a trial) and digests off pass."""
    import asyncio

    from notifier.app.config import Settings
    from notifier.app.serve import serve
    from notifier.staff.list_headers import unsubscribe_url_problem

    env = production_env(redis_url, tmp_path / "data", NOTIFIER_PUBLIC_URL="http://notifier.example")
    found = {f.check: f for f in await run_checks(env, timeout=3)}
    assert found["public URL"].level == FAIL and "RFC 8058" in found["public URL"].detail
    assert levels(await run_checks({**env, "NOTIFIER_DIGEST_SCHEDULE": "off"}, timeout=3))["public URL"] == OK
    for url in ("https://notifier.example", "http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"):
        assert unsubscribe_url_problem(Settings(public_url=url)) is None, url
    # ...and the service says so when it starts.
    stop, started = asyncio.Event(), asyncio.Event()
    settings = Settings(public_url="http://notifier.example", redis_url=redis_url, data_dir=tmp_path)
    task = asyncio.create_task(serve(settings, with_web=False, with_worker=False, stop=stop, started=started))
    await asyncio.wait_for(started.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert any(getattr(r, "event", None) == "config.unsubscribe-not-https" and r.levelname == "WARNING"
               for r in caplog.records)
