"""`notifier reseal`: rotation end to end, plain records sealed, resumable batches."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis as redis_sync

from tests.support.service import referral
from tests.support.kickoff import invitee, scheduled
from notifier.app.reseal import CURSOR_KEY, reseal
from notifier.sealing import SealError, Sealer, generate_key
from tests.support.staff import TURKU_FI, put_staff, staff_service


def _reseal_cli(redis_url: str, keys: str, data_dir) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_"))}
    env.update(REDIS_URL=redis_url, NOTIFIER_DATA_KEY=keys, NOTIFIER_DATA_DIR=str(data_dir), NOTIFIER_LOG_LEVEL="WARNING")
    return subprocess.run([sys.executable, "-m", "notifier", "reseal", "--batch", "7"], env=env,
                          capture_output=True, text=True, timeout=120)


def _sealed_values(redis_url: str) -> list[bytes]:
    r = redis_sync.Redis.from_url(redis_url)
    out = []
    for key in r.scan_iter("notifier:*"):
        kind = r.type(key)
        values = ([r.get(key)] if kind == b"string" else list(r.hgetall(key).values()) if kind == b"hash"
                  else r.lrange(key, 0, -1) if kind == b"list" else [])
        out += [v for v in values if v and (v.startswith(b"gAAAAA") or v.startswith(b"plain:"))]
    r.close()
    return out


async def test_rotation_end_to_end_old_key_retired(start_service, tmp_path):
    key_a, key_b = generate_key(), generate_key()
    svc = await staff_service(start_service, worker=False, data_keys=(key_a,))
    status, answer = await svc.case.send("client.referred", referral("C-8001", personal_id="131052-308T",
                                         address={"street": "Kotikatu 1", "postal_code": "20100", "city": "Turku"}))
    assert status == 202
    [message_id] = answer["messages"]
    await put_staff(svc, "T-1", TURKU_FI)
    status, _ = await svc.case.send("kickoff.scheduled", scheduled("S-ROT-1", [invitee("C-8002")]))
    assert status == 202
    before = _sealed_values(svc.settings.redis_url)
    assert len(before) >= 3

    proc = _reseal_cli(svc.settings.redis_url, f"{key_b},{key_a}", tmp_path / "data")
    assert proc.returncode == 0, proc.stderr
    assert "sealed with the newest key" in proc.stdout

    # Every sealed value now opens with B alone, and none with A alone.
    only_a, only_b = Sealer((key_a,)), Sealer((key_b,))
    after = _sealed_values(svc.settings.redis_url)
    assert len(after) == len(before)
    for value in after:
        only_b.open(value)
        with pytest.raises(SealError):
            only_a.open(value)

    # Restarted with only B: the message and staff APIs return the records.
    new = await staff_service(start_service, worker=False, data_keys=(key_b,))
    status, message = await new.api("GET", f"/api/messages/{message_id}")
    assert status == 200 and message["recipient"]["email"] and message["recipient"]["email"] != "c-8001@example.fi"
    status, member = await new.api("GET", "/api/staff/T-1")
    assert status == 200 and member["name"] == TURKU_FI["name"] and member["email"] == TURKU_FI["email"]


async def test_reseal_seals_plain_records_and_resumes_from_its_cursor(start_service):
    svc = await staff_service(start_service, worker=False, data_keys=())  # written before a key was set
    for i in range(12):
        await put_staff(svc, f"T-{i}", {**TURKU_FI, "email": f"t{i}@te-toimisto.example"})
    key = generate_key()
    with pytest.raises(SealError):
        Sealer((key,)).open(await svc.runtime.redis.hget("notifier:staff:T-1", "personal"))
    sealer = Sealer((key,), accept_plain=True)
    first = await reseal(svc.runtime.redis, sealer, batch=2, max_batches=1)
    assert CURSOR_KEY == "notifier:reseal:cursor"  # as the README names it
    assert not first.complete and await svc.runtime.redis.exists(CURSOR_KEY)
    rest = await reseal(svc.runtime.redis, sealer, batch=2)
    assert rest.complete and not await svc.runtime.redis.exists(CURSOR_KEY)
    assert first.plain + rest.plain == 12
    new = await staff_service(start_service, worker=False, data_keys=(key,))
    status, listing = await new.api("GET", "/api/staff")
    assert status == 200 and len(listing["staff"]) == 12
    again = await reseal(svc.runtime.redis, sealer)
    assert again.resealed == 0 and again.current == 13  # the twelve records and the data-key canary


def test_reseal_uses_the_embedded_redis_of_the_data_dir_without_redis_url(tmp_path):
    from notifier.app.embedded_redis import EmbeddedRedis
    from notifier.app.local_secrets import redis_password

    data = tmp_path / "data"
    server = EmbeddedRedis(data, password=redis_password(data))
    server.start()
    r = redis_sync.Redis.from_url(server.url)
    r.hset("notifier:staff:T-9", mapping={"meta": "{}", "personal": Sealer().seal({"name": "Tiina"})})
    r.close()
    server.stop()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFIER_", "REDIS_"))}
    env.update(NOTIFIER_DATA_DIR=str(data), NOTIFIER_LOG_LEVEL="WARNING")
    run = lambda: subprocess.run([sys.executable, "-m", "notifier", "reseal"], env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=120)
    refused = run()
    assert refused.returncode == 2 and "NOTIFIER_DATA_KEY" in refused.stderr
    key = generate_key()
    env["NOTIFIER_DATA_KEY"] = key
    proc = run()
    assert proc.returncode == 0, proc.stderr
    assert "1 of them were plain" in proc.stdout
    server.start()
    r = redis_sync.Redis.from_url(server.url)
    assert Sealer((key,)).open(r.hget("notifier:staff:T-9", "personal")) == {"name": "Tiina"}
    r.close()
    server.stop()
