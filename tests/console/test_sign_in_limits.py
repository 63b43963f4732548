"""/console/sign-in: daily limits per client and per address; the same work and answer for any address."""

from __future__ import annotations

import re

import redis as redis_sync

from notifier.messages.queue import DUE, STREAM
from tests.support.service import wait_for
from tests.support.console import COORDINATOR, Browsers, console_service, sign_in_links

STAFF = "tiina.turunen@te-toimisto.example"  # not a coordinator


def _queued(r: redis_sync.Redis) -> int:
    """Work waiting in the work stream or due later (a sign-in link is one piece of work)."""
    return r.xlen(STREAM) + r.zcard(DUE)


#: Opening a connection (the pool grows when it likes), not work done for the request.
CONNECTION = {"cmdstat_auth", "cmdstat_client", "cmdstat_hello", "cmdstat_select", "cmdstat_info"}


def _commands(r: redis_sync.Redis) -> dict[str, int]:
    return {k: v["calls"] for k, v in r.info("commandstats").items() if k not in CONNECTION}


def _diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


async def _ask(browser, email: str):
    await browser.get("/console/sign-in?lang=fi")
    return await browser.post("/console/sign-in", {"email": email, "language": "fi"})


async def test_sign_in_does_the_same_redis_work_and_answers_the_same_for_any_address(start_service):
    svc = await console_service(start_service, worker=False)
    r = redis_sync.Redis.from_url(svc.settings.redis_url)
    browsers = Browsers()
    try:
        pages, work = [], []
        for email in (COORDINATOR, STAFF):
            browser = browsers.new(svc)
            await browser.get("/console/sign-in?lang=fi")
            before = _commands(r)
            pages.append(await browser.post("/console/sign-in", {"email": email, "language": "fi"}))
            work.append(_diff(before, _commands(r)))
        assert work[0] == work[1], work
        strip = lambda text: re.sub(r'name="csrf" value="[^"]*"', "", text)  # noqa: E731
        assert pages[0].status == pages[1].status == 200 and strip(pages[0].text) == strip(pages[1].text)
        assert r.xlen(STREAM) + r.zcard(DUE) == 2  # one job each; the worker decides who gets a link
    finally:
        await browsers.close()
        r.close()


async def test_only_the_coordinator_gets_the_link_the_worker_sends(start_service):
    svc = await console_service(start_service)
    browsers = Browsers()
    try:
        assert (await _ask(browsers.new(svc), STAFF)).status == 200
        assert (await _ask(browsers.new(svc), COORDINATOR)).status == 200
        await wait_for(lambda: sign_in_links(svc.outbox))
        await wait_for(lambda: not _queued(redis_sync.Redis.from_url(svc.settings.redis_url)))
        assert len(sign_in_links(svc.outbox)) == 1
        assert len(list((svc.outbox / "email").glob("*.eml"))) == 1
    finally:
        await browsers.close()


async def test_sign_in_links_are_limited_per_client_per_day(start_service):
    svc = await console_service(start_service, worker=False, sign_in_limit_per_client=3)
    browsers = Browsers()
    try:
        browser = browsers.new(svc)
        statuses = [(await _ask(browser, f"p{i}@ely-keskus.example")).status for i in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert "liian monta kirjautumislinkkiä" in browser.last.text
    finally:
        await browsers.close()


async def test_sign_in_links_are_limited_per_address_per_day(start_service):
    svc = await console_service(start_service, worker=False, sign_in_limit_per_address=2)
    r = redis_sync.Redis.from_url(svc.settings.redis_url)
    browsers = Browsers()
    try:
        queued = []
        for _ in range(3):
            page = await _ask(browsers.new(svc), COORDINATOR)  # a new client each time
            assert page.status == 200
            queued.append(_queued(r))
            for key in r.scan_iter("notifier:console:sign-in-sent:*"):
                r.delete(key)  # as if the minute between two links had passed
        assert queued == [1, 2, 2]  # the third link of the day is not sent, and the page says the same
    finally:
        await browsers.close()
        r.close()
