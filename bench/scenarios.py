"""The benchmark's scenarios (issue 8): referral burst, no-show burst, digest fan-out.

Each drives the running service through its public contracts only (signed webhooks, the
coordinators' API), waits until the stand-in providers have every message it caused, and then
measures the ceiling with the very same messages (`ceiling.py`). A scenario whose feature is not
in this checkout reports `skipped: <why>` instead of failing.

Waiting never has a fixed deadline: a wait gives up only when nothing has arrived for `STALL`
seconds, so a slow machine gives slow numbers, not a failure.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import aiohttp
from redis.asyncio import Redis

from notifier.casework.case_system import signed_headers
from notifier.app.config import Settings

from bench import ceiling
from bench.rig import API_TOKEN, SECRET, SMS_TOKEN, Rig
from bench.stats import percentiles

#: Give up waiting when no new message has arrived for this long.
STALL = 60.0
HELSINKI = ZoneInfo("Europe/Helsinki")


class Skipped(Exception):
    """The scenario's feature is not available in this checkout."""


class Stalled(Exception):
    """Messages stopped arriving before all of them had."""


@dataclass
class Context:
    rig: Rig
    settings: Settings
    http: aiohttp.ClientSession
    connections: int  # K, for the K-connection ceiling

    @property
    def message_domain(self) -> str:
        return self.settings.mail_from.rpartition("@")[2] or "localhost"

    def message_header_id(self, message_id: str) -> str:
        return f"<{message_id}@{self.message_domain}>"

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.request(method, self.rig.web_url + path, data=data, headers=headers) as r:
            return r.status, await r.json(content_type=None) if r.status != 204 else None


async def wait_for_count(read: Callable[[], Awaitable[int]], target: int, what: str) -> int:
    last, changed = -1, time.monotonic()
    while True:
        n = await read()
        if n >= target:
            return n
        if n != last:
            last, changed = n, time.monotonic()
        elif time.monotonic() - changed > STALL:
            raise Stalled(f"{what}: {n} of {target}, nothing new for {STALL:.0f}s")
        await asyncio.sleep(0.05)


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


#: The service's own processes: what "service CPU per message" counts (not the sink, the
#: gateway stand-in or the load generator).
def _is_service(name: str) -> bool:
    return name in ("web", "redis") or name.startswith("worker-")


def service_cpu(rig: Rig, before: dict[str, float], messages: int) -> dict[str, Any]:
    """Service CPU per message over a burst: web + every worker + Redis, from the processes' CPU
    time (user + system) since `before`, divided by the messages. CPU time, unlike wall-clock
    time, does not grow when other programs share the machine (only a little, through caches)."""
    after = rig.sampler.cpu_seconds()
    spent = {k: after[k] - before.get(k, 0.0) for k in after if _is_service(k)}
    total = sum(spent.values())
    per = (lambda v: round(v * 1000 / messages, 3)) if messages else (lambda v: None)
    workers = sum(v for k, v in spent.items() if k.startswith("worker-"))
    return {
        "messages": messages,
        "seconds": round(total, 3),
        "ms_per_message": per(total),
        "by_process_ms": {"web": per(spent.get("web", 0.0)), "workers": per(workers), "redis": per(spent.get("redis", 0.0))},
    }


# -- 1. referral burst ----------------------------------------------------------------------------


def referral_event(i: int) -> str:
    language = "fi" if i % 3 else "sv"
    first, last = {"fi": ("Matti", "Meikäläinen"), "sv": ("Sven", "Ström")}[language]
    data = {
        "client": {"id": f"B-{i}", "first_name": first, "last_name": last, "language": language,
                   "email": f"b-{i}@example.fi", "phone": "040 1234567"},
        "referred_at": "2026-11-30T09:00:00+02:00",
        "office": {"name": "Turun seudun työllisyysalue", "phone": "02 262 3000"},
        "provider": {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": "info@example.fi"},
    }
    return json.dumps({"type": "client.referred", "data": data}, ensure_ascii=False)


async def post_webhooks(url: str, bodies: list[str], in_flight: int) -> tuple[list[float], list[str], list[int]]:
    """POST every body, signed, `in_flight` at a time; (answer latencies, message ids, failures)."""
    latencies: list[float] = [0.0] * len(bodies)
    ids: list[str] = []
    failures: list[int] = []
    order = iter(range(len(bodies)))
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as client:
        async def lane() -> None:
            for i in order:
                body = bodies[i]
                headers = signed_headers(SECRET, body)
                started = time.perf_counter()
                async with client.post(url, data=body.encode(), headers=headers) as r:
                    payload = await r.json(content_type=None)
                    status = r.status
                latencies[i] = time.perf_counter() - started
                if status == 202:
                    ids.extend(payload["messages"])
                else:
                    failures.append(status)

        await asyncio.gather(*(lane() for _ in range(in_flight)))
    return latencies, ids, failures


async def referral_burst(ctx: Context, n: int, in_flight: int = 64) -> dict[str, Any]:
    rig = ctx.rig
    bodies = [referral_event(i) for i in range(n)]
    base = await rig.smtp_count(ctx.http)
    cpu_before = rig.sampler.cpu_seconds()
    started = time.time()
    latencies, ids, failures = await post_webhooks(rig.web_url + "/webhooks/case-events", bodies, in_flight)
    answered = time.time()
    if failures:
        raise RuntimeError(f"{len(failures)} webhooks refused: {sorted(set(failures))}")
    await wait_for_count(lambda: rig.smtp_count(ctx.http), base + len(ids), "referral e-mails at the sink")
    cpu = service_cpu(rig, cpu_before, len(ids))
    arrivals = await rig.smtp_arrivals(ctx.http, base)
    wanted = {ctx.message_header_id(i) for i in ids}
    mine = [(t, m) for t, m in arrivals if m in wanted]
    seen = {m for _t, m in mine}
    last = max(t for t, _m in mine)
    e2e = last - started
    result: dict[str, Any] = {
        "webhooks": n,
        "in_flight": in_flight,
        "answer_latency_ms": {k: round(v * 1000, 1) for k, v in percentiles(latencies, 6).items()},
        "intake_per_second": rate(n, answered - started),
        "emails": len(ids),
        "missing": len(wanted - seen),
        "duplicates": len(mine) - len(seen),
        "end_to_end_seconds": round(e2e, 3),
        "end_to_end_per_second": rate(len(ids), e2e),
        "service_cpu": cpu,
    }
    composed = await ceiling.render_stored(ctx.settings, ids)
    mails = ceiling.raw_emails(composed)
    one = await ceiling.push_smtp("127.0.0.1", rig.smtp_port, mails, 1)
    many = await ceiling.push_smtp("127.0.0.1", rig.smtp_port, mails, ctx.connections)
    result["ceiling_one_connection"] = one.to_dict()
    result["ceiling_k_connections"] = many.to_dict()
    result["fraction_of_one_connection_ceiling"] = round(result["end_to_end_per_second"] / one.rate, 3)
    result["fraction_of_k_connection_ceiling"] = round(result["end_to_end_per_second"] / many.rate, 3)
    await wait_for_count(lambda: rig.smtp_count(ctx.http), base + 3 * len(ids), "ceiling e-mails at the sink")
    return result


# -- 2. no-show burst -----------------------------------------------------------------------------


def invitee(i: int) -> dict[str, Any]:
    language = "fi" if i % 3 else "sv"
    first, last = {"fi": ("Matti", "Meikäläinen"), "sv": ("Sven", "Åström")}[language]
    return {"id": f"K-{i}", "first_name": first, "last_name": last, "language": language,
            "email": f"k-{i}@example.fi", "phone": f"+35840{1_000_000 + i}"}


def kickoff_session(session_id: str, invitees: list[dict[str, Any]], starts: datetime) -> dict[str, Any]:
    # Starting seconds from now: invitations go out now, the day-before reminder is already past (so
    # no deferred reminder job waits in the queue), and attendance is taken once it has started.
    return {
        "session": {
            "id": session_id, "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "site": "turku",
            "location": {"name": "Työnvälityspiste", "street": "Ratapihankatu 36", "postal_code": "20100", "city": "Turku"},
            "staff": {"id": "ST-7", "name": "Maija Meikäläinen", "email": "maija@example.fi", "language": "fi"},
        },
        "invitees": invitees,
    }


async def send_event(ctx: Context, event_type: str, data: dict[str, Any]) -> tuple[int, Any, float, float]:
    """One signed webhook: (status, answer, time sent, time answered) with wall-clock times."""
    body = json.dumps({"type": event_type, "data": data}, ensure_ascii=False)
    headers = signed_headers(SECRET, body)
    sent = time.time()
    async with ctx.http.post(ctx.rig.web_url + "/webhooks/case-events", data=body.encode(), headers=headers) as r:
        payload = await r.json(content_type=None)
        answered = time.time()
        return r.status, payload, sent, answered


async def no_show_burst(ctx: Context, n: int) -> dict[str, Any]:
    from notifier.casework.handlers import HANDLERS

    if "kickoff.attendance" not in HANDLERS or "kickoff.scheduled" not in HANDLERS:
        raise Skipped("kickoff events (issue 3) are not handled in this checkout")
    rig = ctx.rig
    session_id = f"S-BENCH-{uuid.uuid4().hex[:8]}"
    base = await rig.smtp_count(ctx.http)
    starts = (datetime.now(HELSINKI) + timedelta(seconds=3)).replace(microsecond=0)
    status, answer, _s, _a = await send_event(ctx, "kickoff.scheduled", kickoff_session(session_id, [invitee(i) for i in range(n)], starts))
    if status != 202:
        raise Skipped(f"kickoff.scheduled answered {status}: {answer.get('detail') if isinstance(answer, dict) else answer}")
    # The invitations (by e-mail) go out first; the burst is measured on a quiet service.
    await wait_for_count(lambda: rig.smtp_count(ctx.http), base + n, "kickoff invitations at the sink")
    # Attendance is refused before the session starts (it would tell invitees they missed it).
    await asyncio.sleep(max(0.0, (starts - datetime.now(HELSINKI)).total_seconds()) + 0.01)
    sms_base = await rig.sms_count(ctx.http)
    smtp_base = await rig.smtp_count(ctx.http)
    cpu_before = rig.sampler.cpu_seconds()
    status, answer, sent, answered = await send_event(ctx, "kickoff.attendance", {"session_id": session_id, "attended": []})
    if status != 202:
        raise RuntimeError(f"kickoff.attendance answered {status}: {answer}")
    ids = set(answer["messages"])
    await wait_for_count(lambda: rig.sms_count(ctx.http), sms_base + n, "no-show SMS at the gateway")
    await wait_for_count(lambda: rig.smtp_count(ctx.http), smtp_base + 1, "call-prompt e-mail at the sink")
    cpu = service_cpu(rig, cpu_before, n)  # the SMS, plus the one call-prompt e-mail
    arrivals = [(t, m) for t, m in await rig.sms_arrivals(ctx.http, sms_base) if m in ids]
    sms_ids = list(dict.fromkeys(m for _t, m in arrivals))
    delays = [t - answered for t, _m in arrivals]
    result: dict[str, Any] = {
        "absentees": n,
        "sms": len(sms_ids),
        "duplicates": len(arrivals) - len(sms_ids),
        "attendance_answer_ms": round((answered - sent) * 1000, 1),
        "sms_after_answer_s": percentiles(delays),
        "sms_per_second": rate(len(delays), max(delays) if delays else 0.0),
        "service_cpu": cpu,
    }
    composed = await ceiling.render_stored(ctx.settings, sms_ids)
    bodies = ceiling.sms_bodies(ctx.settings, composed)
    one = await ceiling.push_http(rig.gateway_url, SMS_TOKEN, bodies, 1)
    many = await ceiling.push_http(rig.gateway_url, SMS_TOKEN, bodies, ctx.connections)
    result["ceiling_one_connection"] = one.to_dict()
    result["ceiling_k_connections"] = many.to_dict()
    return result


# -- 3. digest fan-out ----------------------------------------------------------------------------

ORGANISATIONS = ("te-office", "provider", "municipality")
SITES = ("turku", "salo")


def staff_member(i: int) -> dict[str, Any]:
    return {"name": f"Henkilö {i}", "email": f"staff-{i}@example.fi", "language": "fi" if i % 4 else "sv",
            "organisation": ORGANISATIONS[i % 3], "site": SITES[i % 2], "digest": True}


def practice_change(i: int) -> dict[str, Any]:
    return {
        "title": {"fi": f"Muutos {i}: asiakkaan siirto", "sv": f"Ändring {i}: överföring av kunden"},
        "body": {"fi": "Uusi käytäntö alkaa maanantaina.\n\nLue ohje intrasta.",
                 "sv": "Den nya rutinen börjar på måndag.\n\nLäs anvisningen på intranätet."},
        "effective_from": (datetime.now(HELSINKI).date() + timedelta(days=7)).isoformat(),
    }


async def put_staff(ctx: Context, n: int, in_flight: int = 32) -> None:
    order = iter(range(n))
    failures: list[Any] = []

    async def lane() -> None:
        for i in order:
            status, body = await ctx.api("PUT", f"/api/staff/ST-{i}", staff_member(i))
            if status not in (200, 201):
                failures.append((status, body))

    await asyncio.gather(*(lane() for _ in range(in_flight)))
    if failures:
        raise RuntimeError(f"{len(failures)} staff PUTs failed, e.g. {failures[0]}")


async def digest_fanout(ctx: Context, staff: int, changes: int = 5) -> dict[str, Any]:
    rig = ctx.rig
    status, _ = await ctx.api("GET", "/api/digests/runs")
    if status == 404:
        raise Skipped("the staff directory and digest runs (issue 4) are not in this checkout's API")
    setup = time.monotonic()
    await put_staff(ctx, staff)
    for i in range(changes):
        status, body = await ctx.api("POST", "/api/practice-changes", practice_change(i + 1))
        if status != 201:
            raise RuntimeError(f"practice change answered {status}: {body}")
    setup_seconds = time.monotonic() - setup
    base = await rig.smtp_count(ctx.http)
    cpu_before = rig.sampler.cpu_seconds()
    started = time.time()
    status, report = await ctx.api("POST", "/api/digests/run", {})
    answered = time.time()
    if status != 202:
        raise RuntimeError(f"digest run answered {status}: {report}")
    run_id, recipients = report["id"], int(report["recipients"])
    await wait_for_count(lambda: rig.smtp_count(ctx.http), base + recipients, "digests at the sink")
    cpu = service_cpu(rig, cpu_before, recipients)
    from notifier.staff.keys import run_messages_key

    redis = Redis.from_url(ctx.settings.redis_url or "")
    try:
        ids = [i.decode() for i in await redis.smembers(run_messages_key(run_id))]
    finally:
        await redis.aclose()
    wanted = {ctx.message_header_id(i) for i in ids}
    mine = [(t, m) for t, m in await rig.smtp_arrivals(ctx.http, base) if m in wanted]
    seen = {m for _t, m in mine}
    last = max(t for t, _m in mine)
    _status, final = await ctx.api("GET", f"/api/digests/runs/{run_id}")
    result: dict[str, Any] = {
        "staff": staff,
        "practice_changes": changes,
        "setup_seconds": round(setup_seconds, 1),
        "run_answer_ms": round((answered - started) * 1000, 1),
        "digests": len(seen),
        "missing": len(wanted - seen),
        "duplicates": len(mine) - len(seen),
        "last_digest_seconds": round(last - started, 3),
        "digests_per_second": rate(len(seen), last - started),
        "service_cpu": cpu,
        "run_report": {k: final.get(k) for k in ("recipients", "digests", "sent", "pending", "failed", "skipped", "complete")}
        if isinstance(final, dict) else None,
    }
    composed = await ceiling.render_stored(ctx.settings, ids)
    mails = ceiling.raw_emails(composed)
    one = await ceiling.push_smtp("127.0.0.1", rig.smtp_port, mails, 1)
    many = await ceiling.push_smtp("127.0.0.1", rig.smtp_port, mails, ctx.connections)
    result["ceiling_one_connection"] = one.to_dict()
    result["ceiling_k_connections"] = many.to_dict()
    result["fraction_of_one_connection_ceiling"] = round(result["digests_per_second"] / one.rate, 3)
    return result


#: A referral's rendering context, for what renders one in process (letters here, `bench.floor`).
REFERRAL_CONTEXT: dict[str, Any] = {
    "first_name": "Šárka", "last_name": "Žižková", "referred_at": "2026-11-30T09:00:00+02:00",
    "office": {"name": "Turun seudun työllisyysalue", "phone": "02 262 3000", "email": ""},
    "provider": {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": "info@example.fi"},
}


def letter_rendering(n: int) -> dict[str, Any]:
    """Issue 6's budget: one referral info letter rendered to PDF "well under 100 ms".

    In this process, no I/O: compose the letter from the same templates a worker uses, then
    render it with the embedded font, alternating Finnish and Swedish.
    """
    import statistics
    import time as _time
    from datetime import date

    from channels.letter.pdf import render_pdf
    from notifier.app.config import Settings
    from notifier.resources import LOCALE_DIR, TEMPLATE_DIR
    from notifier.messages.letters import compose_letter
    from notifier.messages.render import Renderer

    settings = Settings(office_street="Ratapihankatu 36", office_postal_code="20100", office_city="Turku")
    renderer = Renderer(TEMPLATE_DIR, LOCALE_DIR, settings.timezone)
    context = REFERRAL_CONTEXT
    address = {"street": "Kauppakatu 5 B 12", "postal_code": "24100", "city": "Salo"}
    times_ms: list[float] = []
    warm_up = compose_letter(renderer, settings, message_id="00000000-0000-0000-0000-000000000000", template="referral",
                             language="fi", context=context, recipient={"name": "Šárka Žižková", "address": address})
    render_pdf(warm_up)  # loads fpdf2, fontTools and the font, then freezes them as a worker does
    import gc

    gc.freeze()
    for i in range(n + 1):
        language = ("fi", "sv")[i % 2]
        began = _time.perf_counter()
        letter = compose_letter(renderer, settings, message_id=f"00000000-0000-0000-0000-{i:012d}", template="referral",
                                language=language, context=context,
                                recipient={"name": "Šárka Žižková", "address": address}, today=date(2026, 11, 30))
        render_pdf(letter)
        if i:  # the first one pays for loading the font
            times_ms.append((_time.perf_counter() - began) * 1000)
    times_ms.sort()
    return {
        "letters": n,
        "ms": {"p50": round(statistics.median(times_ms), 1),
               "p99": round(times_ms[min(len(times_ms) - 1, int(len(times_ms) * 0.99))], 1),
               "max": round(times_ms[-1], 1)},
    }
