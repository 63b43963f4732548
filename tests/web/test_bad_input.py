"""Property-based bad input: validly signed payloads of every malformed kind reach the parser.

Whatever arrives, the answer is below 500, a non-2xx answer queues nothing, and the service is
still healthy afterwards.
"""

from __future__ import annotations

import json
from typing import Any

from notifier.messages.queue import queue_length
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support.service import SECRET, referral
from notifier.casework.case_system import signed_headers

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=50))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)

nasty_strings = st.one_of(
    st.text(max_size=300),
    st.just("x" * 100_000),
    st.sampled_from([
        "", " ", "2026-11-30T09:00:00", "2026-13-40T25:00:00+02:00", "30.11.2026", "+1 202 555 0100",
        "040 123", "0401234567890123", "a@b.fi\r\nBcc: x@y.fi", "Matti\nMeikäläinen", "<script>alert(1)</script>",
        "\x00", "fi\r\n", "sv ", "FI", "ääkköset@example.fi", "😀" * 10,
    ]),
)

CLIENT_FIELDS = ["id", "first_name", "last_name", "language", "email", "phone"]


@st.composite
def mutated_referrals(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "client.referred", "data": referral()}
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["client", "data", "root"]))
        value = draw(st.one_of(json_values, nasty_strings))
        if where == "client" and not isinstance(doc.get("data"), dict) or where == "client" and not isinstance(doc["data"].get("client"), dict):
            where = "root"
        if where == "data" and not isinstance(doc.get("data"), dict):
            where = "root"
        if where == "client":
            key = draw(st.sampled_from(CLIENT_FIELDS + ["unknown"]))
            if draw(st.booleans()):
                doc["data"]["client"][key] = value
            else:
                doc["data"]["client"].pop(key, None)
        elif where == "data":
            key = draw(st.sampled_from(["client", "referred_at", "office", "provider"]))
            doc["data"][key] = value
        else:
            key = draw(st.sampled_from(["type", "data"]))
            doc[key] = value
    return doc


async def _state(svc) -> tuple[int, int]:
    redis = svc.runtime.redis
    return await queue_length(redis), len(await redis.keys("notifier:msg:*"))


async def _post(svc, body: bytes, text_for_signature: str, content_type: str = "application/json"):
    headers = signed_headers(SECRET, text_for_signature)
    headers["content-type"] = content_type
    async with svc.http.post(svc.url + "/webhooks/case-events", data=body, headers=headers) as resp:
        await resp.read()
        return resp.status, resp.headers.get("Content-Type", "")


async def _healthy(svc) -> bool:
    async with svc.http.get(svc.url + "/healthz") as resp:
        return resp.status == 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=mutated_referrals())
async def test_mutated_events_never_5xx_and_queue_nothing_when_refused(start_service_once, doc):
    svc = await start_service_once()
    body = json.dumps(doc, ensure_ascii=False)
    before = await _state(svc)
    status, ctype = await _post(svc, body.encode(), body)
    assert status < 500
    if status != 202:
        assert 400 <= status < 500 and ctype.startswith("application/problem+json")
        assert await _state(svc) == before
    assert await _healthy(svc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300), depth=st.integers(0, 3000), content_type=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=latin-1"]))
async def test_raw_bodies_never_5xx(start_service_once, raw, depth, content_type):
    svc = await start_service_once()
    before = await _state(svc)
    body = b"[" * depth + raw + b"]" * depth
    text = body.decode("utf-8", errors="replace")
    status, _ = await _post(svc, body, text, content_type)
    assert status < 500
    if status != 202:
        assert await _state(svc) == before
    assert await _healthy(svc)


# -- every JSON endpoint, and the kickoff events --------------------------------------------------

JSON_ENDPOINTS = [
    ("PUT", "/api/staff/ST-fuzz"),
    ("POST", "/api/practice-changes"),
    ("POST", "/api/announcements"),
    ("POST", "/api/digests/run"),
    ("POST", "/api/call-prompts/unknown/outcome"),
]
FORM_ENDPOINTS = ["/subscribe", "/preferences/x.y.z", "/unsubscribe/x.y.z", "/acknowledge/x.y.z", "/subscribe/confirm/x.y.z"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(JSON_ENDPOINTS), body=st.one_of(json_values, st.dictionaries(
    st.sampled_from(["name", "email", "phone", "language", "organisation", "site", "digest", "title", "body",
                     "effective_from", "sites", "organisations", "subject", "audience", "channels", "send_at",
                     "outcome", "note", "week"]),
    st.one_of(json_values, nasty_strings), max_size=8)))
async def test_json_endpoints_never_5xx_on_any_json(start_service_once, endpoint, body):
    svc = await start_service_once()
    method, path = endpoint
    before = await _state(svc)
    status, answer = await svc.api(method, path, json=body)
    assert status < 500, answer
    if status >= 400:
        assert await _state(svc) == before
    assert await _healthy(svc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(endpoint=st.sampled_from(JSON_ENDPOINTS), raw=st.binary(max_size=200),
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
async def test_json_endpoints_never_5xx_on_raw_bodies(start_service_once, endpoint, raw, content_type):
    svc = await start_service_once()
    method, path = endpoint
    status, _ = await svc.api(method, path, data=raw, headers_extra={"Content-Type": content_type})
    assert status < 500
    assert await _healthy(svc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(FORM_ENDPOINTS), form=st.dictionaries(
    st.sampled_from(["email", "language", "digest", "csrf", "x"]), st.one_of(st.text(max_size=300), st.just("x" * 20000)), max_size=4))
async def test_pages_never_5xx_on_any_form(start_service_once, path, form):
    svc = await start_service_once()
    async with svc.http.post(svc.url + path, data=form) as resp:
        await resp.read()
        assert resp.status < 500
    assert await _healthy(svc)


@st.composite
def mutated_kickoffs(draw: st.DrawFn) -> dict[str, Any]:
    from tests.support.kickoff import attendance, invitee, scheduled

    kind = draw(st.sampled_from(["kickoff.scheduled", "kickoff.attendance", "kickoff.cancelled"]))
    if kind == "kickoff.scheduled":
        data: Any = scheduled("S-FUZZ", [invitee("C-1", phone="040 1234567")])
        target = draw(st.sampled_from([data, data["session"], data["session"]["location"], data["session"]["staff"], data["invitees"][0]]))
    elif kind == "kickoff.attendance":
        data = attendance("S-FUZZ", ["C-1"])
        target = data
    else:
        data = {"session_id": "S-FUZZ"}
        target = data
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(target) + ["unknown"]))
        if draw(st.booleans()):
            target[key] = draw(st.one_of(json_values, nasty_strings))
        else:
            target.pop(key, None)
    return {"type": kind, "data": data}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=mutated_kickoffs())
async def test_mutated_kickoff_events_never_5xx(start_service_once, doc):
    svc = await start_service_once()
    body = json.dumps(doc, ensure_ascii=False)
    before = await _state(svc)
    status, ctype = await _post(svc, body.encode(), body)
    assert status < 500
    if status != 202:
        assert await _state(svc) == before
    assert await _healthy(svc)
