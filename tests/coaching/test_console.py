"""The console's per-coach overview: active clients and their next deadline, overdue first, and the
work queue of clients without a first contact on day 15; coordinators only; ids, no client names."""

from __future__ import annotations

import html
import re

import pytest

from tests.coaching.test_flow import COACH, COACH_SV, ago, referred
from tests.support.console import Browsers, console_service


@pytest.fixture
async def browsers():
    b = Browsers()
    yield b
    await b.close()


def visible(text: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)))


async def test_overview_per_coach_overdue_first_and_the_work_queue(start_service, browsers):
    svc = await console_service(start_service)
    for cid, days, coach in (("C-new", 1, COACH), ("C-late", 20, COACH), ("C-sv", 3, COACH_SV), ("C-none", 2, None)):
        assert (await svc.case.send("client.referred", referred(cid, days, coach=coach)))[0] == 202
    await svc.case.send("client.referred", referred("C-gone", 30))
    await svc.case.send("client.service_ended", {"client_id": "C-gone", "at": ago(hours=1), "reason": "employed"})

    b = browsers.new(svc)
    page = await b.get("/console/coaching")
    assert "Valmentajien asiakkaat" not in page.text  # not signed in: sign-in page

    b = await browsers.signed_in(svc)
    page = await b.get("/console/coaching")
    assert page.status == 200
    text = visible(page.text)
    assert "Valmentajien asiakkaat" in text and 'aria-current="page"' in page.text
    queue, kaisa, karin, without = (text.index(s) for s in ("Työjono", "Kaisa Valmentaja", "Karin Coach", "Ilman valmentajaa"))
    assert queue < kaisa < karin < without  # the coach with overdue clients first, no coach last
    assert text.index("C-late") < text.index("C-new")  # overdue first
    assert "Aktiivisia asiakkaita: 2. Myöhässä: 1." in text and "Myöhässä" in text
    assert "C-gone" not in text and "Matti" not in page.text  # ended clients gone; ids, not names
    work = text[queue:kaisa]
    assert "C-late" in work and "C-new" not in work
    # a contact takes the client out of the work queue at once
    await svc.case.send("client.contacted", {"client_id": "C-late", "at": ago(minutes=1)})
    text = visible((await b.get("/console/coaching")).text)
    assert "Työjono on tyhjä." in text
