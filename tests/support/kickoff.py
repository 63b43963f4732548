"""Builders for kickoff events, and a GatewayAPI stand-in: a real aiohttp server on loopback that
speaks the REST protocol, records what it receives, can fail on purpose, and posts delivery
reports back to the callback URL it was given."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from notifier.app.embedded_redis import free_port

HELSINKI = ZoneInfo("Europe/Helsinki")


def session_start(days_ahead: int = 3, hour: int = 9) -> datetime:
    """A session `days_ahead` days from today at `hour` Helsinki time (so reminders are ahead)."""
    day = datetime.now(HELSINKI).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(hour), tzinfo=HELSINKI)


def invitee(client_id: str, language: str = "fi", email: str | None = "auto", phone: str | None = None,
            first_name: str | None = None, last_name: str | None = None) -> dict[str, Any]:
    names = {"fi": ("Matti", "Meikäläinen"), "sv": ("Sven", "Åström")}[language]
    c = {"id": client_id, "first_name": first_name or names[0], "last_name": last_name or names[1],
         "language": language, "email": f"{client_id.lower()}@example.fi" if email == "auto" else email, "phone": phone}
    return {k: v for k, v in c.items() if v is not None}


def scheduled(session_id: str, invitees: list[dict[str, Any]], starts_at: datetime | None = None,
              staff_language: str = "fi", staff_phone: str | None = None, hours: int = 2) -> dict[str, Any]:
    starts_at = starts_at or session_start()
    staff = {"id": "ST-7", "name": "Maija Meikäläinen" if staff_language == "fi" else "Stina Holm",
             "email": "staff.st-7@example.fi", "language": staff_language}
    if staff_phone:
        staff["phone"] = staff_phone
    return {
        "session": {
            "id": session_id,
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + timedelta(hours=hours)).isoformat(),
            "site": "turku",
            "location": {"name": "Työnvälityspiste", "street": {"fi": "Ratapihankatu 36", "sv": "Bangårdsgatan 36"},
                         "postal_code": "20100", "city": {"fi": "Turku", "sv": "Åbo"}},
            "staff": staff,
        },
        "invitees": invitees,
    }


def attendance(session_id: str, attended: list[str], next_starts: datetime | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"session_id": session_id, "attended": attended}
    if next_starts is not None:
        data["next_session"] = {"starts_at": next_starts.isoformat()}
    return data


def sms_outbox(outbox: Path) -> dict[str, dict[str, Any]]:
    """Every SMS written to the outbox, by message id."""
    folder = outbox / "sms"
    if not folder.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


@dataclass
class GatewayStandIn:
    """GatewayAPI's `POST /rest/mtsms` on loopback.

    `fail_with` lists HTTP statuses to answer for the next requests (e.g. `[503]`: one failure,
    then success); `hang` makes the next requests wait until released (to provoke our timeout).
    """

    token: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)
    hang: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)
    app_url: str = ""  # our service, to post delivery reports to
    public_url: str = ""  # what our service thinks it is called (the start of its callback URLs)
    server: TestServer | None = None
    next_id: int = 1000
    ids: dict[str, int] = field(default_factory=dict)  # userref -> the gateway id it answered

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/rest/mtsms", self.mtsms)
        self.server = TestServer(app, host="127.0.0.1", port=free_port())
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def close(self) -> None:
        self.released.set()
        if self.server is not None:
            await self.server.close()

    async def mtsms(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Token {self.token}":
            return web.json_response({"code": "0x0101", "message": "unauthorized"}, status=401)
        body = await request.json()
        self.headers.append(dict(request.headers))
        self.requests.append(body)
        if self.hang:
            self.hang -= 1
            await self.released.wait()
        if self.fail_with:
            status = self.fail_with.pop(0)
            return web.json_response({"code": "0x0000", "message": "stand-in failure"}, status=status)
        self.next_id += 1
        self.ids[body["userref"]] = self.next_id
        return web.json_response({"ids": [self.next_id], "usage": {"countries": {"FI": 1}, "currency": "EUR", "total_cost": 0.05}})

    async def report(self, http: aiohttp.ClientSession, body: dict[str, Any], status: str,
                     callback_url: str | None = None, gateway_id: int | None = None,
                     ref_field: str | None = "userref") -> tuple[int, Any]:
        """Post a delivery report for the SMS sent with request `body` to its callback URL (our id as
        `userref`, as `user_ref` – the docs spell it both ways – or, with `ref_field=None`, not at all)."""
        url = callback_url or body["callback_url"]
        assert url.startswith(self.public_url), url
        parts = urlsplit(url)
        target = f"{self.app_url}{parts.path}?{parts.query}" if parts.query else f"{self.app_url}{parts.path}"
        if gateway_id is None:
            gateway_id = self.ids.get(body["userref"])
        report = {"id": gateway_id, "msisdn": body["recipients"][0]["msisdn"], "time": 1764300000,
                  "status": status, "charge_status": "CAPTURED",
                  "country_code": "FI", "country_prefix": 358, "error": None, "code": None}
        if ref_field:
            report[ref_field] = body["userref"]
        async with http.post(target, json=report) as resp:
            return resp.status, await resp.json(content_type=None)


def started(svc: Any, days: int = 14) -> None:
    """Move the service's clock `days` ahead, past the start of the sessions the tests schedule:
    attendance is refused before a session starts."""
    from notifier.clock import utcnow

    svc.runtime.clock = lambda: utcnow() + timedelta(days=days)


def past_start(svc: Any, starts_at: datetime | None = None) -> None:
    """Move the service's clock to just after `starts_at` (default: `session_start()`), running on
    from there: attendance is taken once a session has started, and later sessions stay ahead."""
    from notifier.clock import utcnow

    offset = (starts_at or session_start()) - utcnow() + timedelta(minutes=1)
    svc.runtime.clock = lambda: utcnow() + offset


def starting_soon(seconds: int = 2) -> datetime:
    """A start time `seconds` (whole seconds) from now: for processes whose clock a test cannot move."""
    return (datetime.now(HELSINKI) + timedelta(seconds=seconds + 1)).replace(microsecond=0)


async def until_started(starts_at: datetime) -> None:
    """Wait (with a deadline) until `starts_at` has passed on this machine's clock."""
    from tests.support.service import wait_for

    await wait_for(lambda: datetime.now(HELSINKI) > starts_at, timeout=(starts_at - datetime.now(HELSINKI)).total_seconds() + 10)
