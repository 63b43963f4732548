"""Helpers for the coordinators' console tests: a service with coordinators, and a "browser" (an
HTTP client with its own cookie jar) that signs in through a real e-mailed link and posts forms
with the CSRF token of the page it last saw."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.service import Service, ServiceFactory, wait_for
from notifier.console.auth import ConsoleAuth
from tests.support.staff import local_path, staff_service

COORDINATOR = "kirsi.koordinaattori@elinvoimakeskus.example"
OTHER_COORDINATOR = "kalle.koordinaattori@elinvoimakeskus.example"
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_SIGN_IN_LINK = re.compile(r"https?://[^\s<>\"]+/console/sign-in/[A-Za-z0-9_.\-]+")


async def console_service(start_service: ServiceFactory, **changes: Any) -> Service:
    opts: dict[str, Any] = {"coordinators": (COORDINATOR, OTHER_COORDINATOR)}
    opts.update(changes)
    return await staff_service(start_service, **opts)


@dataclass
class Page:
    status: int
    text: str
    headers: Any
    url: str

    @property
    def csrf(self) -> str:
        m = _CSRF.search(self.text)
        assert m, "the page has no form with a CSRF token"
        return html.unescape(m.group(1))

    def field_error(self, name: str) -> str | None:
        """The error shown next to a form field, as text."""
        m = re.search(rf'<p class="error" id="{re.escape(name)}-error">(.*?)</p>', self.text, re.S)
        return html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip() if m else None

    def value_of(self, name: str) -> str | None:
        m = re.search(rf'<input [^>]*name="{re.escape(name)}" value="([^"]*)"', self.text)
        if m:
            return html.unescape(m.group(1))
        m = re.search(rf'<textarea id="{re.escape(name)}" name="{re.escape(name)}"[^>]*>(.*?)</textarea>', self.text, re.S)
        return html.unescape(m.group(1)) if m else None


class Browser:
    """One person's browser: its own cookies; forms carry the CSRF token of the last page."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.last: Page | None = None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.svc.url + path

    async def get(self, path: str, **kw: Any) -> Page:
        async with self.http.get(self.url(path), **kw) as resp:
            self.last = Page(resp.status, await resp.text(), resp.headers, str(resp.url))
        return self.last

    async def post(self, path: str, data: Any = (), csrf: str | None = "auto", **kw: Any) -> Page:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf == "auto":
            assert self.last is not None, "open a page with the form first"
            csrf = self.last.csrf
        if csrf is not None:
            fields.append(("csrf", csrf))
        async with self.http.post(self.url(path), data=fields, **kw) as resp:
            self.last = Page(resp.status, await resp.text(), resp.headers, str(resp.url))
        return self.last

    async def close(self) -> None:
        await self.http.close()


def sign_in_links(outbox: Path) -> list[str]:
    folder = outbox / "email"
    links = []
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime) if folder.exists() else []:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        links += _SIGN_IN_LINK.findall(body)
    return links


async def emailed_link(svc: Service, browser: Browser, email: str = COORDINATOR, language: str = "fi") -> str:
    """Ask for a sign-in link on the sign-in page and read it from the e-mail outbox."""
    before = set(sign_in_links(svc.outbox))
    await browser.get(f"/console/sign-in?lang={language}")
    page = await browser.post("/console/sign-in", {"email": email, "language": language})
    assert page.status == 200, page.text
    new = await wait_for(lambda: [link for link in sign_in_links(svc.outbox) if link not in before])
    return local_path(new[-1], svc)


async def minted_link(svc: Service, email: str = COORDINATOR, language: str = "fi") -> str:
    """A sign-in link made as the sign-in form makes one, without waiting for its e-mail."""
    auth = ConsoleAuth.of(svc.runtime)
    nonce, url = auth.new_link()
    async with svc.runtime.redis.pipeline(transaction=True) as pipe:
        auth.stage_link(pipe, nonce, email, language)
        await pipe.execute()
    return local_path(url, svc)


class Browsers:
    """Opens browsers for a test and closes them after it (the `browsers` fixture)."""

    def __init__(self) -> None:
        self.open: list[Browser] = []

    def new(self, svc: Service) -> Browser:
        browser = Browser(svc)
        self.open.append(browser)
        return browser

    async def signed_in(self, svc: Service, email: str = COORDINATOR, language: str = "fi") -> Browser:
        browser = self.new(svc)
        link = await minted_link(svc, email, language)
        await browser.get(link)
        page = await browser.post(link)
        assert page.status == 200 and page.url.endswith("/console/practice-changes"), (page.status, page.url)
        return browser

    async def close(self) -> None:
        for browser in self.open:
            await browser.close()
