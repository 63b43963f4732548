"""`notifier demo`: the whole service on embedded defaults, fed with sample case-system events.

It starts embedded Redis, the web server and a worker in a temporary data dir (or --data-dir),
sends signed webhooks through the real HTTP endpoint, waits until every message is dispatched,
prints what went out and where the outputs lie, and stops. Each feature adds a scene to SCENES.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import aiohttp

from notifier.messages import status as st
from notifier.casework.case_system import CaseSystem
from notifier.app.config import Settings
from notifier.app.local_secrets import local_settings
from notifier.app.logging_setup import configure
from notifier.demo.console_scene import DEMO_COORDINATOR, console_scene
from notifier.demo.context import (
    Demo,
    Scene,
    recipient_label as _recipient,
    table as _table,
    wait_dispatched as _wait_dispatched,
)
from notifier.demo.ecosystem import case_system_listens as listen
from notifier.demo.ecosystem import ecosystem as show
from notifier.demo.ecosystem import with_case_system
from notifier.demo.staff_scene import staff_scene
from notifier.app.embedded_redis import EmbeddedRedis, free_port
from notifier.app.runtime import Runtime
from notifier.app.serve import serve


#: Today's bodies (PILOT.md, "Who is who in 2026"): the employment area refers, a company provides.
OFFICE = {"name": {"fi": "Turun seudun työllisyysalue", "sv": "Åbonejdens sysselsättningsområde"},
          "phone": "02 262 3000"}
PROVIDER = {"name": "Työelämän Infopiste Oy", "phone": "02 123 4567", "email": "info@tyoelamaninfopiste.example"}


def next_weekday(day: date) -> date:
    """`day`, or the Monday after it when it falls on a weekend: sessions are held on weekdays."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


async def referrals(demo: Demo) -> None:
    clients = [
        {"id": "C-1001", "first_name": "Matti", "last_name": "Meikäläinen", "language": "fi",
         "email": "matti.meikalainen@example.fi", "phone": "040 1234567"},
        {"id": "C-1002", "first_name": "Anna-Liisa", "last_name": "Virtanen", "language": "fi",
         "email": "anna-liisa.virtanen@example.fi"},
        {"id": "C-2001", "first_name": "Sven", "last_name": "Åström", "language": "sv",
         "email": "sven.astrom@example.fi", "phone": "+358 50 765 4321"},
        {"id": "C-1003", "first_name": "Pekka", "last_name": "Puhelin", "language": "fi", "phone": "050 111 2222"},
    ]
    for client in clients:
        await demo.event("client.referred", {"client": client, "referred_at": "2026-11-30T09:00:00+02:00",
                                             "office": OFFICE, "provider": PROVIDER})


async def kickoff(demo: Demo) -> None:
    """A kickoff info session on the first weekday five days ahead or later: invitations (e-mail
    with a calendar entry, or SMS; the place in the client's language), then attendance with two
    absentees, who get the no-show SMS at once (the staff member has no phone, so it gives the
    provider's number), and the call-prompt e-mail to the session's staff member; one call's
    outcome is recorded through the API."""
    tz = demo.settings.timezone
    day = next_weekday(datetime.now(tz).date() + timedelta(days=5))
    starts = datetime.combine(day, clock_time(9), tzinfo=tz)
    session_id = f"S-{day:%Y-%m-%d}-TKU"
    invitees = [
        {"id": "C-1001", "first_name": "Matti", "last_name": "Meikäläinen", "language": "fi",
         "email": "matti.meikalainen@example.fi", "phone": "040 1234567"},
        {"id": "C-2001", "first_name": "Sven", "last_name": "Åström", "language": "sv",
         "email": "sven.astrom@example.fi", "phone": "+358 50 765 4321"},
        {"id": "C-1003", "first_name": "Pekka", "last_name": "Puhelin", "language": "fi", "phone": "050 111 2222"},
        {"id": "C-1002", "first_name": "Anna-Liisa", "last_name": "Virtanen", "language": "fi",
         "email": "anna-liisa.virtanen@example.fi"},
    ]
    session = {
        "id": session_id, "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "site": "turku",
        "location": {"name": "Työnvälityspiste", "street": {"fi": "Ratapihankatu 36", "sv": "Bangårdsgatan 36"},
                     "postal_code": "20100", "city": {"fi": "Turku", "sv": "Åbo"}},
        "staff": {"id": "ST-7", "name": "Maija Meikäläinen", "email": "maija.meikalainen@tyoelamaninfopiste.example",
                  "language": "fi"},
        "provider": PROVIDER,
    }
    await demo.event("kickoff.scheduled", {"session": session, "invitees": invitees})
    ids = await demo.event("kickoff.attendance", {"session_id": session_id, "attended": ["C-1002", "C-1003"],
                                                  "next_session": {"starts_at": (starts + timedelta(days=7)).isoformat()}})
    for m in await demo.runtime.store.get_many(ids):
        if m.template == "kickoff-no-show":
            demo.notes.append(f"No-show SMS ({m.language}): {demo.settings.outbox_dir / 'sms' / f'{m.id}.json'}")
    listing = await demo.api("GET", f"/api/call-prompts?session_id={session_id}")
    prompts = listing["call_prompts"]
    first = prompts[0]
    await demo.api("POST", f"/api/call-prompts/{first['id']}/outcome",
                   {"outcome": "rescheduled", "note": "Comes to the next session."})
    demo.notes.append(
        f"Kickoff {session_id}: {len(prompts)} call prompts (GET /api/call-prompts?session_id={session_id}); "
        f"outcome 'rescheduled' recorded for {first['client_id']}. Script for them:\n    "
        + first["script"].replace("\n", "\n    ")
    )


async def letters(demo: Demo) -> None:
    """Clients with neither e-mail nor phone, only a postal address: the referral info letter as a
    PDF in the outbox, for manual printing and posting (with NOTIFIER_LETTER_BACKEND=suomifi and a
    personal identity code it would go through Suomi.fi Messages instead)."""
    clients = [
        {"id": "C-1004", "first_name": "Šárka", "last_name": "Žižková", "language": "fi",
         "address": {"street": "Yliopistonkatu 1 A 2", "postal_code": "20100", "city": "Turku"}},
        {"id": "C-2002", "first_name": "Åsa", "last_name": "Öberg", "language": "sv",
         "address": {"street": "Slottsgatan 3", "postal_code": "20100", "city": "Åbo"}},
    ]
    for client in clients:
        [message_id] = await demo.event("client.referred", {"client": client, "referred_at": "2026-11-30T09:00:00+02:00",
                                                            "office": OFFICE, "provider": PROVIDER})
        demo.notes.append(f"Letter to post ({client['language']}): {demo.settings.outbox_dir / 'letter' / (message_id + '.pdf')}")


async def staff_communication(demo: Demo) -> None:
    """Staff in Turku and Salo (fi, sv), two practice changes, the weekly digest, an
    acknowledgement and an announcement to Salo (see `staff.py`)."""
    await staff_scene(demo)


async def case_system_listens(demo: Demo) -> None:
    """The case system's receiver of status callbacks starts before anything is sent."""
    await listen(demo)


async def ecosystem(demo: Demo) -> None:
    """Status callbacks received, metrics, the contact log and the API docs (`ecosystem.py`)."""
    await show(demo)


async def coordinators_console(demo: Demo) -> None:
    """A coordinator asks for a sign-in link to the console; the link is printed (`console.py`)."""
    await console_scene(demo)


SCENES: list[Scene] = [case_system_listens, referrals, letters, kickoff, staff_communication, ecosystem,
                       coordinators_console]


async def _run(settings: Settings, keep_running: bool = False) -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.with_(public_url=url)
    stop, started = asyncio.Event(), asyncio.Event()
    server = asyncio.create_task(serve(settings, port=port, stop=stop, started=started))
    await asyncio.wait([server, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if server.done():
        server.result()
    runtime = Runtime.create(settings)
    completed = False
    try:
        async with aiohttp.ClientSession() as http:
            demo = Demo(settings, url, http, CaseSystem(url, settings.webhook_secret or "", http), runtime)
            for scene in SCENES:
                await scene(demo)
            messages = await _wait_dispatched(demo, timeout=30)
        completed = True
    finally:
        await runtime.redis.aclose()
        if not (keep_running and completed):
            stop.set()
            await server

    rows = [("message", "recipient", "lang", "channel", "status")]
    for m in messages:
        status = m.status + (f" ({m.reason})" if m.reason else "")
        if m.send_at is not None and m.status == st.CREATED:
            status += f" (scheduled {m.send_at.astimezone(settings.timezone):%Y-%m-%d %H:%M})"
        rows.append((m.template, _recipient(m), m.language, m.channel, status))
    print()
    print(_table(rows))
    print()
    for note in demo.notes:
        print(note)
    print(f"Outputs: {settings.outbox_dir.resolve()}")
    stuck = [m for m in messages if m.status in (st.SENDING, st.TEMPORARY_FAILURE) or (m.status == st.CREATED and m.send_at is None)]
    if stuck:
        print(f"{len(stuck)} message(s) were not dispatched in time")
    if keep_running:
        print(f"\nThe service keeps running at {url} (console: {url}/console). Press Ctrl-C to stop it.", flush=True)
        await server  # returns when Ctrl-C (SIGINT) or SIGTERM has stopped it
    return 1 if stuck else 0


def run_demo(data_dir: Path | None, keep_running: bool = False) -> int:
    configure("WARNING")
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="notifier-demo-"))
    # The authority as a deployment configures it (kickoff events do not name it): the employment area.
    settings = Settings.from_env({"NOTIFIER_DATA_DIR": str(data_dir), "NOTIFIER_OFFICE_NAME_FI": OFFICE["name"]["fi"],
                                  "NOTIFIER_OFFICE_NAME_SV": OFFICE["name"]["sv"],
                                  "NOTIFIER_OFFICE_PHONE": OFFICE["phone"]})
    settings, _notes = local_settings(settings)
    settings = with_case_system(settings)  # the demo's case system takes status callbacks
    settings = settings.with_(coordinators=(DEMO_COORDINATOR,))  # who may sign in to the console
    embedded = EmbeddedRedis(settings.data_dir)
    settings = settings.with_(redis_url=embedded.start(), worker_poll_delay=0.05)
    try:
        return asyncio.run(_run(settings, keep_running))
    finally:
        embedded.stop()
