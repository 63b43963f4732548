"""The demo's console scene: a coordinator asks for a sign-in link on the console's sign-in page,
as a person would, and the demo prints the link from the e-mail outbox.

The link is left unused (it works once) so that whoever runs `notifier demo --keep-running` can
open it in a browser; `demo.py` runs this as one of its SCENES.
"""

from __future__ import annotations

import asyncio
import re
import time
from email import message_from_bytes, policy
from pathlib import Path

import aiohttp

from notifier.demo.context import Demo

#: The demo's coordinator (`notifier demo` sets NOTIFIER_COORDINATORS to this address).
DEMO_COORDINATOR = "koordinaattori@elinvoimakeskus.example"  # Lounais-Suomen elinvoimakeskus
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_LINK = re.compile(r"https?://\S+/console/sign-in/[A-Za-z0-9_.\-]+")


async def console_scene(demo: "Demo") -> None:
    # Cookies for 127.0.0.1 need an "unsafe" jar; the console's forms need the cookie's CSRF token.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(f"{demo.url}/console/sign-in") as resp:
            token = _CSRF.search(await resp.text())
        if token is None:
            raise RuntimeError("the console's sign-in page has no form")
        form = {"email": DEMO_COORDINATOR, "language": "fi", "csrf": token.group(1)}
        async with browser.post(f"{demo.url}/console/sign-in", data=form) as resp:
            if resp.status != 200:
                raise RuntimeError(f"asking for a sign-in link answered {resp.status}")
    message_id, link = await _link_from_outbox(demo.settings.outbox_dir / "email")
    demo.message_ids.append(message_id)
    demo.notes.append(
        f"Coordinators' console: {demo.url}/console (sign-in page {demo.url}/console/sign-in).\n"
        f"    One-time sign-in link for {DEMO_COORDINATOR} (works once, for 15 minutes):\n    {link}\n"
        "    This demo stops its server when it ends: run `notifier demo --keep-running` to keep it up and open\n"
        "    the link in a browser. With `notifier run`, set NOTIFIER_COORDINATORS=<your address>, open\n"
        "    http://127.0.0.1:8080/console and take the link from $NOTIFIER_DATA_DIR/outbox/email."
    )


async def _link_from_outbox(folder: Path, timeout: float = 30) -> tuple[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in folder.glob("*.eml") if folder.exists() else []:
            msg = message_from_bytes(path.read_bytes(), policy=policy.default)
            body = msg.get_body(("plain",))
            found = _LINK.search(body.get_content()) if body is not None else None  # type: ignore[union-attr]
            if found:
                return path.stem, found.group(0)
        await asyncio.sleep(0.05)
    raise RuntimeError("the sign-in e-mail did not reach the outbox")
