"""Starting safe: web/worker refuse unsafe configurations; the embedded Redis and the data dir are private."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import redis as redis_sync

from tests.support.service import SECRET
from notifier.app.config import Settings
from notifier.app.local_secrets import local_settings, redis_password, write_secret
from notifier.app.embedded_redis import EmbeddedRedis
from notifier.sealing import SealError, Sealer, generate_key


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_"))}
    env.update({
        "NOTIFIER_DATA_DIR": str(tmp_path / "data"),
        # Nothing listens here: every refusal below comes before the first connection.
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "NOTIFIER_WEBHOOK_SECRET": SECRET, "NOTIFIER_API_TOKEN": "a-long-enough-api-token",
        "NOTIFIER_COORDINATOR_TOKEN": "a-long-enough-coordinator-token", "NOTIFIER_DATA_KEY": generate_key(),
    })
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def _start(tmp_path: Path, command: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "notifier", command], env=_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_refuse_to_start_without_a_data_key(tmp_path, command):
    proc = _start(tmp_path, command, NOTIFIER_DATA_KEY="")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "NOTIFIER_DATA_KEY" in lines[0]


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_refuse_to_start_without_a_coordinator_token(tmp_path, command):
    proc = _start(tmp_path, command, NOTIFIER_COORDINATOR_TOKEN="")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "NOTIFIER_COORDINATOR_TOKEN" in lines[0] and "NOTIFIER_SINGLE_TOKEN" in lines[0]


@pytest.mark.parametrize(("variable", "value"), [
    ("NOTIFIER_WEBHOOK_SECRET", "not-a-whsec-secret"),
    ("NOTIFIER_API_TOKEN", "tooShrt"),
    ("NOTIFIER_SMS_CALLBACK_TOKEN", "only-31-characters-long-token.."),
])
def test_web_refuses_to_start_with_a_secret_notifier_check_fails(tmp_path, variable, value):
    proc = _start(tmp_path, "web", **{variable: value})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]
    assert value not in proc.stderr  # the secret itself is never printed


def test_single_token_mode_is_explicit():
    settings = Settings.from_env({"NOTIFIER_SINGLE_TOKEN": "on"})
    assert settings.single_token
    from notifier.app.check import start_up_problems
    base = dict(redis_url="redis://x", webhook_secret=SECRET, api_token="a-long-enough-api-token",
                data_keys=(generate_key(),))
    assert [f.check for f in start_up_problems(Settings(**base))] == ["coordinator token"]
    assert start_up_problems(Settings(**base, single_token=True)) == []


def test_sealer_refuses_plain_records_once_a_key_is_set():
    plain = Sealer().seal({"name": "Matti"})
    with pytest.raises(SealError, match="notifier reseal"):
        Sealer((generate_key(),)).open(plain)
    assert Sealer((generate_key(),), accept_plain=True).open(plain) == {"name": "Matti"}


def test_embedded_redis_refuses_a_client_without_the_password(tmp_path):
    with EmbeddedRedis(tmp_path / "data", password=redis_password(tmp_path / "data")) as server:
        anonymous = redis_sync.Redis(host="127.0.0.1", port=server.port)
        with pytest.raises(redis_sync.AuthenticationError):
            anonymous.ping()
        with pytest.raises(redis_sync.AuthenticationError):
            redis_sync.Redis(host="127.0.0.1", port=server.port, password="wrong").ping()
        assert redis_sync.Redis.from_url(server.url).ping()
        anonymous.close()
    assert (tmp_path / "data" / "redis-password").read_text().strip() == server.password


def test_embedded_redis_is_reached_through_a_private_unix_socket_where_the_path_fits(tmp_path):
    with EmbeddedRedis(tmp_path / "data") as server:
        assert server.url.startswith("unix://") and server.socket is not None
        assert stat.S_IMODE(server.socket.stat().st_mode) == 0o700
        assert stat.S_IMODE(server.socket.parent.stat().st_mode) == 0o700
        with pytest.raises(redis_sync.AuthenticationError):
            redis_sync.Redis(unix_socket_path=str(server.socket)).ping()
        assert redis_sync.Redis.from_url(server.url).ping() and redis_sync.Redis.from_url(server.tcp_url).ping()
    deep = tmp_path / ("x" * 120)
    with EmbeddedRedis(deep) as server:  # too long for a socket path: loopback TCP only
        assert server.socket is None and server.url == server.tcp_url
        assert redis_sync.Redis.from_url(server.url).ping()


def test_data_dir_and_secret_files_are_private(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    settings, _ = local_settings(Settings(data_dir=data))
    redis_password(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    secrets = ["webhook-secret", "api-token", "coordinator-token", "data-key", "signing-secret", "redis-password"]
    for name in secrets:
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    assert sorted(p.name for p in data.iterdir()) == sorted(secrets)  # no temporary files left behind
    # Generated once: a second start reads the same values.
    again, _ = local_settings(Settings(data_dir=data))
    assert again.data_keys == settings.data_keys and again.api_token == settings.api_token


def test_a_secret_file_is_never_overwritten(tmp_path):
    path = tmp_path / "d" / "secret"
    assert write_secret(path, "first")
    assert not write_secret(path, "second")
    assert path.read_text() == "first\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
