"""Property-based bad input: validly signed payloads of every malformed kind reach the parser.

Whatever arrives, the answer is below 500, a non-2xx answer queues nothing, and the service is
still healthy afterwards. Bodies generated to be invalid (each breaks the contract at least once)
must be refused with a 4xx problem, and leave every key in Redis as it was (call outcomes
included); only the counters of answers for /metrics may move.
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


def mutate(draw: st.DrawFn, target: dict[str, Any]) -> None:
    """Change or drop 1-3 fields of `target` (or add an unknown one)."""
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(target) + ["unknown"]))
        if draw(st.booleans()):
            target[key] = draw(st.one_of(json_values, nasty_strings))
        else:
            target.pop(key, None)


async def taken_or_refused_without_change(svc: Any, doc: dict[str, Any]) -> None:
    """Never a 5xx; a refusal changes nothing in Redis; the service stays healthy."""
    body = json.dumps(doc, ensure_ascii=False)
    before = await _state(svc)
    status, _ = await _post(svc, body.encode(), body)
    assert status < 500
    if status != 202:
        assert await _state(svc) == before
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
    mutate(draw, target)
    return {"type": kind, "data": data}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=mutated_kickoffs())
async def test_mutated_kickoff_events_never_5xx(start_service_once, doc):
    await taken_or_refused_without_change(await start_service_once(), doc)


# -- generated invalid bodies: a 4xx, and nothing in Redis changed ----------------------------------

#: Keys that count answers (for /metrics) or requests (rate limits): they move on any answer.
COUNTERS = (b"notifier:metrics:", b"notifier:throttle:")


async def snapshot(svc) -> dict[bytes, bytes]:
    """Every key in Redis with its value (DUMP), but the answer counters."""
    redis = svc.runtime.redis
    keys = sorted(k for k in await redis.keys("*") if not k.startswith(COUNTERS))
    async with redis.pipeline(transaction=False) as pipe:
        for k in keys:
            pipe.dump(k)
        return dict(zip(keys, await pipe.execute()))


#: Values that break each field, whatever else is in the document.
BREAK_CLIENT = {
    "id": [None, 5, "", " ", "has space", "x" * 129, "-starts-with-dash"],
    "first_name": [None, 5, "", "Matti\nMeikäläinen", "x" * 201, ["Matti"]],
    "last_name": [None, False, "", "\x00", {"a": 1}],
    "language": [None, "en", "", "fin", 1, ["fi"]],  # ("fi\r\n" is taken: surrounding space is stripped)
    "email": ["not-an-address", "a@b.fi\r\nBcc: x@y.fi", 5, "@example.fi"],
    "phone": [5, ["040 1234567"], "x" * 41],
    "personal_id": ["131052-308X", "131052308T", 131052],
}
BREAK_DATA = {
    "referred_at": [None, "2026-11-30T09:00:00", "30.11.2026", "2026-13-40T25:00:00+02:00", 5, ""],
    "client": [None, "C-1", [], 5],
}
REQUIRED_CLIENT = ["id", "first_name", "last_name", "language"]


@st.composite
def invalid_referrals(draw: st.DrawFn) -> dict[str, Any]:
    """A client.referred event broken in 1-3 places (each change alone makes it invalid)."""
    doc: dict[str, Any] = {"type": "client.referred", "data": referral()}
    for _ in range(draw(st.integers(1, 3))):
        data, client = doc.get("data"), doc.get("data", {}).get("client") if isinstance(doc.get("data"), dict) else None
        kind = draw(st.sampled_from(["client", "drop", "data", "root"] if isinstance(client, dict)
                                    else ["data", "root"] if isinstance(data, dict) else ["root"]))
        if kind == "client":
            key = draw(st.sampled_from(sorted(BREAK_CLIENT)))
            client[key] = draw(st.sampled_from(BREAK_CLIENT[key]))
        elif kind == "drop":
            client.pop(draw(st.sampled_from(REQUIRED_CLIENT)), None)
        elif kind == "data":
            key = draw(st.sampled_from(sorted(BREAK_DATA)))
            data[key] = draw(st.sampled_from(BREAK_DATA[key]))
        else:
            key = draw(st.sampled_from(["type", "data"]))
            doc[key] = draw(st.sampled_from([None, 5, "client.unknown", [], "x"] if key == "type" else [None, 5, [], "x"]))
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=invalid_referrals())
async def test_invalid_referrals_are_refused_with_a_4xx_and_change_nothing(start_service_once, doc):
    svc = await start_service_once()
    body = json.dumps(doc, ensure_ascii=False)
    before = await snapshot(svc)
    status, ctype = await _post(svc, body.encode(), body)
    assert 400 <= status < 500 and ctype.startswith("application/problem+json"), (status, doc)
    assert await snapshot(svc) == before, doc


async def _prompted_session(svc) -> tuple[str, str]:
    """A session that has taken place, with one no-show and so one call prompt (made once per service)."""
    from tests.support.kickoff import attendance, invitee, scheduled, started

    redis = svc.runtime.redis
    existing = await redis.get("test:fuzz-prompt")
    if existing:
        return "S-FUZZ-PROMPT", existing.decode()
    status, _ = await svc.case.send("kickoff.scheduled", scheduled("S-FUZZ-PROMPT", [invitee("C-P", phone="040 1234567")]))
    assert status == 202
    clock = svc.runtime.clock
    started(svc)
    status, answer = await svc.case.send("kickoff.attendance", attendance("S-FUZZ-PROMPT", []))
    svc.runtime.clock = clock
    assert status == 202, answer
    [prompt_id] = answer["call_prompts"]
    await redis.set("test:fuzz-prompt", prompt_id)
    return "S-FUZZ-PROMPT", prompt_id


@st.composite
def invalid_outcomes(draw: st.DrawFn) -> Any:
    """A call outcome body that breaks the contract: an unknown outcome, a bad note, or no object."""
    body = {"outcome": draw(st.sampled_from(["reached", "no-answer", "wrong-number", "rescheduled"])),
            "note": draw(st.text(max_size=50).filter(lambda t: "\x00" not in t))}
    breaking = draw(st.sampled_from(["outcome", "missing", "note", "body"]))
    if breaking == "outcome":
        body["outcome"] = draw(st.one_of(st.text(max_size=40), st.integers(), st.none(), st.lists(st.text(), max_size=2))
                              .filter(lambda v: v not in ("reached", "no-answer", "wrong-number", "rescheduled")))
    elif breaking == "missing":
        del body["outcome"]
    elif breaking == "note":
        body["note"] = draw(st.sampled_from(["x" * 2001, 5, ["a"], {"a": 1}, "bell\x07"]))
    else:
        return draw(st.sampled_from([None, [], "reached", 5, [body]]))
    return body


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=invalid_outcomes())
async def test_invalid_call_outcomes_are_refused_with_a_4xx_and_change_nothing(start_service_once, body):
    svc = await start_service_once()
    _, prompt_id = await _prompted_session(svc)
    before = await snapshot(svc)
    status, answer = await svc.api("POST", f"/api/call-prompts/{prompt_id}/outcome", json=body)
    assert 400 <= status < 500, (status, answer, body)
    assert await snapshot(svc) == before, body


@st.composite
def invalid_kickoff_events(draw: st.DrawFn) -> dict[str, Any]:
    """Attendance and cancellation events that must be refused: broken fields, unknown sessions,
    and attendance for a session that has not started yet."""
    from tests.support.kickoff import attendance

    kind = draw(st.sampled_from(["attendance-field", "unknown-session", "not-started", "cancel-field"]))
    if kind == "attendance-field":
        data: Any = attendance("S-FUZZ-LATER", ["C-1"])
        key = draw(st.sampled_from(["session_id", "attended", "next_session"]))
        data[key] = draw(st.sampled_from({"session_id": [None, 5, "", "has space"],
                                          "attended": [None, "C-1", [5], [""], {"C-1": True}],
                                          "next_session": [5, "2026-12-10", {"starts_at": "tomorrow"}]}[key]))
        if key != "next_session" and draw(st.booleans()):
            data.pop(key)
        return {"type": "kickoff.attendance", "data": data}
    if kind == "unknown-session":
        event = draw(st.sampled_from(["kickoff.attendance", "kickoff.cancelled"]))
        sid = draw(st.from_regex(r"\AS-NOPE-[A-Z0-9]{1,8}\Z"))
        return {"type": event, "data": attendance(sid, []) if event == "kickoff.attendance" else {"session_id": sid}}
    if kind == "not-started":
        return {"type": "kickoff.attendance", "data": attendance("S-FUZZ-LATER", draw(st.lists(st.sampled_from(["C-1", "C-2"]), max_size=2)))}
    return {"type": "kickoff.cancelled", "data": draw(st.sampled_from([{}, {"session_id": None}, {"session_id": 5}, None, []]))}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=invalid_kickoff_events())
async def test_invalid_kickoff_events_are_refused_with_a_4xx_and_change_nothing(start_service_once, doc):
    from tests.support.kickoff import invitee, scheduled

    svc = await start_service_once()
    if not await svc.runtime.redis.exists("notifier:kickoff:S-FUZZ-LATER"):  # a session three days ahead
        status, _ = await svc.case.send("kickoff.scheduled", scheduled("S-FUZZ-LATER", [invitee("C-1", phone="040 1234567")]))
        assert status == 202
    body = json.dumps(doc, ensure_ascii=False)
    before = await snapshot(svc)
    status, ctype = await _post(svc, body.encode(), body)
    assert 400 <= status < 500 and ctype.startswith("application/problem+json"), (status, doc)
    assert await snapshot(svc) == before, doc
@st.composite
def mutated_coaching_events(draw: st.DrawFn) -> dict[str, Any]:
    coach = {"id": "K-FUZZ", "name": "Kaisa Valmentaja", "email": "kaisa@example.fi", "language": "fi"}
    at = "2026-11-01T09:00:00+02:00"
    kind = draw(st.sampled_from(["client.coach_assigned", "client.contacted", "client.plan_made",
                                 "client.service_ended", "client.referred"]))
    data: dict[str, Any] = {
        "client.coach_assigned": {"client_id": "C-FUZZ", "coach": dict(coach), "at": at},
        "client.contacted": {"client_id": "C-FUZZ", "at": at, "kind": "meeting"},
        "client.plan_made": {"client_id": "C-FUZZ", "at": at},
        "client.service_ended": {"client_id": "C-FUZZ", "at": at, "reason": "employed",
                                 "feedback_url": "https://example.fi/palaute"},
        "client.referred": {**referral("C-FUZZ"), "coach": dict(coach)},
    }[kind]
    target = data["coach"] if "coach" in data and draw(st.booleans()) else data
    mutate(draw, target)
    return {"type": kind, "data": data}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=mutated_coaching_events())
async def test_mutated_coaching_events_never_5xx(start_service_once, doc):
    await taken_or_refused_without_change(await start_service_once(), doc)
