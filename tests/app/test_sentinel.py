"""Redis through Sentinel: the service finds the primary via a real sentinel and sends."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis as redis_sync

from tests.support.service import referral
from notifier.app.embedded_redis import EmbeddedRedis, free_port, redis_executable


@pytest.fixture
def sentinel(tmp_path: Path):
    primary = EmbeddedRedis(tmp_path / "primary")
    primary.start()
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor notifier-primary 127.0.0.1 {primary.port} 1\n"
        "sentinel down-after-milliseconds notifier-primary 1000\n"
    )
    proc = subprocess.Popen([redis_executable(), str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis_sync.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            if client.execute_command("SENTINEL", "get-master-addr-by-name", "notifier-primary"):
                break
        except redis_sync.RedisError:
            pass
        assert time.monotonic() < deadline, "sentinel did not come up"
        time.sleep(0.05)
    client.close()
    yield port, primary
    proc.terminate()
    proc.wait(10)
    primary.stop()


async def test_service_works_through_sentinel(sentinel, start_service):
    port, primary = sentinel
    svc = await start_service(redis_url=None, redis_sentinels=(("127.0.0.1", port),), redis_sentinel_master="notifier-primary")
    status, answer = await svc.case.send("client.referred", referral("C-9101"))
    assert status == 202
    assert (await svc.final(answer["messages"][0])).status == "sent"
    # The message really lives on the primary the sentinel named.
    assert redis_sync.Redis(port=primary.port).exists(f"notifier:msg:{answer['messages'][0]}")
