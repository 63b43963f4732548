"""Done means: after a referral with an identity code and an address, a kickoff invitation and a
staff record, no personal value and no pickle is in any file of the Redis data folder; the folder
and its secret files are the service user's alone; the embedded Redis wants its password."""

from __future__ import annotations

import stat

import pytest
import redis as redis_sync

from tests.support.service import referral
from tests.support.kickoff import invitee, scheduled
from notifier.app.config import Settings
from notifier.app.local_secrets import local_settings, redis_password
from notifier.app.embedded_redis import EmbeddedRedis
from tests.support.staff import TURKU_FI, put_staff, staff_service

ADDRESS = {"street": "Kotikatu 12 B 7", "postal_code": "20540", "city": "Turku"}
PERSONAL = [
    "Meikäläinen", "Matti", "131052-308T", "Kotikatu 12 B 7", "c-9301@example.fi", "401234567",
    "Ström", "c-9302@example.fi", "Tiina Turunen", "tiina.turunen@te-toimisto.example",
]
#: What a pickle of protocol 2 to 5 starts with.
PICKLE_HEADERS = [b"\x80\x02", b"\x80\x03", b"\x80\x04\x95", b"\x80\x05\x95"]


@pytest.fixture
def private_redis(tmp_path):
    data = tmp_path / "data"
    settings, _ = local_settings(Settings(data_dir=data))  # the secrets `notifier run` generates
    server = EmbeddedRedis(data, password=redis_password(data))
    server.start()
    yield settings, server
    server.stop()


async def test_no_personal_value_and_no_pickle_in_the_redis_data_folder(private_redis, start_service):
    generated, server = private_redis
    svc = await staff_service(start_service, redis_url=server.url, data_dir=generated.data_dir,
                              data_keys=generated.data_keys)
    status, answer = await svc.case.send("client.referred", referral("C-9301", personal_id="131052-308T",
                                         address=ADDRESS, email=None, phone=None))
    assert status == 202
    ids = list(answer["messages"])
    status, answer = await svc.case.send("kickoff.scheduled", scheduled("S-REST-1", [
        invitee("C-9302", "sv", email="c-9302@example.fi", phone="040 1234567")]))
    assert status == 202
    ids += answer["messages"]
    await put_staff(svc, "T-1", TURKU_FI)
    assert (await svc.final(ids[0])).status == "sent"  # the letter (identity code and address)
    assert (await svc.final(ids[1])).status == "sent"  # the invitation
    r = redis_sync.Redis.from_url(server.url)
    r.config_set("rdbcompression", "no")  # so that a value in the snapshot could be found by a search
    r.save()
    r.close()
    server.stop()  # flushes the AOF

    folder = generated.data_dir / "redis"
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != "redis.log"]
    names = {p.name for p in files}
    assert any(n.endswith(".rdb") for n in names) and any(".aof" in n for n in names), names
    data = b"".join(p.read_bytes() for p in files)
    assert b"notifier:msg:" in data  # the search looks at the right files
    for value in PERSONAL:
        assert value.encode() not in data, value
    for header in PICKLE_HEADERS:
        assert header not in data

    # The data folder and the secrets in it are the service user's alone.
    assert stat.S_IMODE(generated.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for secret in ("data-key", "api-token", "webhook-secret", "signing-secret", "redis-password"):
        assert stat.S_IMODE((generated.data_dir / secret).stat().st_mode) == 0o600

    # And the embedded Redis refuses a client without its password.
    server.start()
    with pytest.raises(redis_sync.AuthenticationError):
        redis_sync.Redis(host="127.0.0.1", port=server.port).ping()
