"""Every answer of the webhook contract, and that nothing is queued for a non-2xx answer."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from standardwebhooks.webhooks import Webhook
from notifier.messages.queue import queue_length, queued

from tests.support.service import SECRET, referral
from notifier.casework.case_system import signed_headers

URL = "/webhooks/case-events"


async def post(svc, body: str | bytes, headers: dict[str, str]):
    async with svc.http.post(svc.url + URL, data=body if isinstance(body, bytes) else body.encode(), headers=headers) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.json(content_type=None)


async def nothing_queued(svc) -> bool:
    redis = svc.runtime.redis
    return await queue_length(redis) == 0 and not await redis.keys("notifier:msg:*")


def doc(data=None, type_="client.referred") -> str:
    return json.dumps({"type": type_, "data": data if data is not None else referral()})


async def test_same_webhook_id_gives_same_answer_and_sends_once(start_service):
    svc = await start_service()
    body = doc()
    first = await post(svc, body, signed_headers(SECRET, body, "msg_dup_1"))
    second = await post(svc, body, signed_headers(SECRET, body, "msg_dup_1"))
    assert first[0] == second[0] == 202
    assert first[2] == second[2]
    m = await svc.final(first[2]["messages"][0])
    assert m.status == "sent"
    assert len(list((svc.outbox / "email").glob("*.eml"))) == 1
    assert await svc.runtime.redis.keys("notifier:msg:*:history") == [f"notifier:msg:{m.id}:history".encode()]


async def test_bad_signature_is_401(start_service):
    svc = await start_service(worker=False)
    body = doc()
    headers = signed_headers("whsec_" + "A" * 32, body)
    status, ctype, answer = await post(svc, body, headers)
    assert status == 401 and ctype.startswith("application/problem+json")
    assert await nothing_queued(svc)


async def test_missing_signature_headers_is_401(start_service):
    svc = await start_service(worker=False)
    status, _, _ = await post(svc, doc(), {"content-type": "application/json"})
    assert status == 401
    headers = signed_headers(SECRET, doc())
    headers["webhook-signature"] = "garbage-without-comma"
    assert (await post(svc, doc(), headers))[0] == 401
    assert await nothing_queued(svc)


async def test_timestamp_outside_tolerance_is_401(start_service):
    svc = await start_service(worker=False)
    body = doc()
    old = datetime.now(timezone.utc) - timedelta(minutes=6)
    assert (await post(svc, body, signed_headers(SECRET, body, timestamp=old)))[0] == 401
    future = datetime.now(timezone.utc) + timedelta(minutes=6)
    assert (await post(svc, body, signed_headers(SECRET, body, timestamp=future)))[0] == 401
    assert await nothing_queued(svc)


async def test_a_reused_id_with_a_different_body_is_409_naming_it_and_changes_nothing(start_service, caplog):
    svc = await start_service(worker=False)
    first_body, other_body = doc(referral("C-1")), doc(referral("C-2"))
    status, _, first = await post(svc, first_body, signed_headers(SECRET, first_body, "msg_reuse_1"))
    assert status == 202
    redis = svc.runtime.redis
    before = {k: await redis.dump(k) for k in await redis.keys("notifier:msg*")}
    caplog.set_level("INFO", "notifier.webhooks")
    status, ctype, problem = await post(svc, other_body, signed_headers(SECRET, other_body, "msg_reuse_1"))
    assert status == 409 and ctype.startswith("application/problem+json")
    assert "msg_reuse_1" in problem["detail"] and "different body" in problem["detail"]
    assert {k: await redis.dump(k) for k in await redis.keys("notifier:msg*")} == before
    # The same id with the same body (signed again, as a resend is) is a replay: the first answer.
    status, _, again = await post(svc, first_body, signed_headers(SECRET, first_body, "msg_reuse_1"))
    assert status == 202 and again == first
    events = [getattr(r, "event", None) for r in caplog.records if r.name == "notifier.webhooks"]
    assert events == ["webhook.refused", "webhook.replay"], events


def naive_helsinki_headers(body: str, webhook_id: str = "msg_naive") -> dict[str, str]:
    """What a signer sends that takes `datetime.now()` on a Helsinki machine for UTC (the library
    treats a naive time as UTC, so the timestamp is two or three hours ahead)."""
    naive = datetime.now(ZoneInfo("Europe/Helsinki")).replace(tzinfo=None)
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(naive.replace(tzinfo=timezone.utc).timestamp())),
            "webhook-signature": Webhook(SECRET).sign(webhook_id, naive, body), "content-type": "application/json"}


async def test_401_details_say_which_check_failed(start_service, caplog):
    svc = await start_service(worker=False)
    body = doc()
    caplog.set_level("WARNING", "notifier.webhooks")
    _, _, wrong_secret = await post(svc, body, signed_headers("whsec_" + "A" * 32, body))
    _, _, changed = await post(svc, body.replace("Matti", "Mattias"), signed_headers(SECRET, body))
    _, _, skewed = await post(svc, body, naive_helsinki_headers(body))
    _, _, missing = await post(svc, body, {k: v for k, v in signed_headers(SECRET, body).items() if k != "webhook-timestamp"})
    _, _, late = await post(svc, body, signed_headers(SECRET, body, timestamp=datetime.now(timezone.utc) - timedelta(minutes=6)))
    details = [a["detail"] for a in (wrong_secret, changed, skewed, missing, late)]
    assert len(set(details)) == 4 and details[0] == details[1]  # a wrong secret and a changed body look the same
    assert "signature does not verify" in details[0] and "secret" in details[0] and "body" in details[0]
    seconds = int(re.search(r"is (\d+) seconds", skewed["detail"]).group(1))
    assert 2 * 3600 - 60 <= seconds <= 3 * 3600 + 60 and "ahead of" in skewed["detail"], skewed
    assert "webhook-timestamp" in missing["detail"] and "missing" in missing["detail"]
    assert "behind" in late["detail"] and "36" in late["detail"]  # 360 seconds, give or take one
    # One log line each: the reason, no body and no personal data.
    refused = [r for r in caplog.records if getattr(r, "event", None) == "webhook.refused"]
    assert [r.reason for r in refused] == ["signature-mismatch", "signature-mismatch", "timestamp-outside-tolerance",
                                           "headers-missing", "timestamp-outside-tolerance"]
    assert not [r for r in refused if "Matti" in r.getMessage() or "example.fi" in r.getMessage()]
    assert await nothing_queued(svc)


async def test_body_not_json_is_400_not_401(start_service):
    svc = await start_service(worker=False)
    body = "this is not json {"
    status, ctype, answer = await post(svc, body, signed_headers(SECRET, body))
    assert status == 400 and ctype.startswith("application/problem+json")
    assert await nothing_queued(svc)


async def test_invalid_utf8_is_400(start_service):
    svc = await start_service(worker=False)
    raw = b'{"type": "client.referred", "data": "\xff\xfe"}'
    headers = signed_headers(SECRET, "ignored")
    status, _, _ = await post(svc, raw, headers)
    assert status == 400
    assert await nothing_queued(svc)


async def test_duplicate_keys_and_deep_nesting_are_400(start_service):
    svc = await start_service(worker=False)
    dup = '{"type": "client.referred", "type": "client.referred", "data": {}}'
    assert (await post(svc, dup, signed_headers(SECRET, dup)))[0] == 400
    deep = '{"type": "client.referred", "data": ' + "[" * 5000 + "]" * 5000 + "}"
    assert (await post(svc, deep, signed_headers(SECRET, deep)))[0] == 400
    assert await nothing_queued(svc)


async def test_schema_errors_are_422_naming_every_field(start_service):
    svc = await start_service(worker=False)
    data = referral()
    del data["client"]["first_name"]
    data["client"]["language"] = "en"
    data["client"]["email"] = "not an address"
    data["referred_at"] = "2026-11-30T09:00:00"  # no offset
    body = doc(data)
    status, ctype, answer = await post(svc, body, signed_headers(SECRET, body))
    assert status == 422 and ctype.startswith("application/problem+json")
    fields = {e["field"] for e in answer["errors"]}
    assert fields == {"data.client.first_name", "data.client.language", "data.client.email", "data.referred_at"}
    assert await nothing_queued(svc)


async def test_unknown_type_and_wrong_types_are_422(start_service):
    svc = await start_service(worker=False)
    body = doc(type_="client.vanished")
    status, _, answer = await post(svc, body, signed_headers(SECRET, body))
    assert status == 422 and answer["errors"][0]["field"] == "type"
    data = referral()
    data["client"]["id"] = 1001
    data["client"]["first_name"] = ["Matti"]
    body = doc(data)
    status, _, answer = await post(svc, body, signed_headers(SECRET, body))
    assert status == 422
    assert {e["field"] for e in answer["errors"]} == {"data.client.id", "data.client.first_name"}
    assert await nothing_queued(svc)


async def test_email_with_line_break_is_422(start_service):
    svc = await start_service(worker=False)
    body = doc(referral(email="a@example.fi\r\nBcc: victim@example.fi"))
    status, _, answer = await post(svc, body, signed_headers(SECRET, body))
    assert status == 422 and answer["errors"][0]["field"] == "data.client.email"
    assert await nothing_queued(svc)


async def test_body_over_one_mebibyte_is_413(start_service):
    svc = await start_service(worker=False)
    data = referral()
    data["padding"] = "x" * (1024 * 1024)
    body = doc(data)
    status, _, _ = await post(svc, body, signed_headers(SECRET, body))
    assert status == 413
    assert await nothing_queued(svc)


async def test_wrong_content_type_is_415(start_service):
    svc = await start_service(worker=False)
    body = doc()
    headers = signed_headers(SECRET, body)
    headers["content-type"] = "text/plain"
    assert (await post(svc, body, headers))[0] == 415
    assert await nothing_queued(svc)


async def test_unknown_fields_are_ignored(start_service):
    svc = await start_service(worker=False)
    data = referral()
    data["client"]["shoe_size"] = 44
    data["extra"] = {"anything": True}
    body = doc(data)
    status, _, answer = await post(svc, body, signed_headers(SECRET, body))
    assert status == 202 and len(answer["messages"]) == 1


async def test_accepted_webhook_queues_its_sends_atomically(start_service):
    svc = await start_service(worker=False)
    body = doc()
    status, _, answer = await post(svc, body, signed_headers(SECRET, body))
    assert status == 202
    [mid] = answer["messages"]
    assert await queued(svc.runtime.redis) == [(f"deliver:{mid}:0", "deliver", [mid])]
    assert await svc.runtime.store.statuses_of([mid]) == ["created"]


async def test_the_readmes_curl_and_openssl_example_is_accepted(start_service):
    """The README's sending example without a library, run as written (with this service's URL and
    secret), gets 202: what it says is signed is what is checked."""
    import asyncio
    import shutil
    from pathlib import Path

    import pytest

    if not (shutil.which("curl") and shutil.which("openssl")):
        pytest.skip("curl or openssl is not installed")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    script = readme.split("With `curl` and `openssl` (no library):\n\n```sh\n", 1)[1].split("```", 1)[0]
    svc = await start_service(worker=False)
    script = (script.replace("SECRET=whsec_...", f"SECRET={SECRET}")
              .replace("https://notifier.example", svc.url).replace("curl -sS", "curl -sS -o /dev/null -w '%{http_code}'"))
    # A session to cancel, so that the example's event is accepted.
    from tests.support.kickoff import invitee, scheduled
    assert (await svc.case.send("kickoff.scheduled", scheduled("S-2026-12-03-TKU", [invitee("C-1")])))[0] == 202
    proc = await asyncio.create_subprocess_exec("bash", "-euc", script, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert out.decode().strip() == "202", (out, err)


async def test_wrong_method_is_405_problem_with_allow(start_service):
    """RFC 9110 15.5.6: a 405 lists the methods the resource takes; the problem body keeps it."""
    svc = await start_service()
    async with svc.http.delete(svc.url + URL) as resp:
        assert resp.status == 405
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert "POST" in {m.strip() for m in resp.headers["Allow"].split(",")}
        body = await resp.json(content_type=None)
    assert body["type"] == "about:blank" and body["title"] == "Method Not Allowed" and body["status"] == 405


async def test_problem_title_is_the_status_phrase(start_service):
    """RFC 9457 4.2.1: `about:blank` problems carry the status phrase as their title."""
    import http

    svc = await start_service()
    body = doc(type_="client.vanished")
    status, _, answer = await post(svc, body, signed_headers(SECRET, body, "msg_title_1"))
    assert status == 422 and answer["title"] == http.HTTPStatus(422).phrase
