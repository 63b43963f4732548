"""Personal links: acknowledgement links expire sooner; a coordinator revokes all of a person's links."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.support.console import Browsers, console_service
from notifier.staff.links import ACKNOWLEDGE, PREFERENCES, Links
from tests.support.staff import (
    GENERAL,
    SIGNING_SECRET,
    TURKU_FI,
    links_in,
    local_path,
    mails_to,
    post_change,
    put_staff,
    run_digest,
    staff_service,
    text_of,
)


def _token_signed_days_ago(purpose: str, payload: dict[str, str], days: float) -> str:
    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - days * 86400)

    return str(URLSafeTimedSerializer([SIGNING_SECRET.encode()], salt=f"notifier.{purpose}", signer=Then).dumps(payload))


def test_acknowledgement_links_are_valid_60_days_by_default_and_configurable():
    links = Links((SIGNING_SECRET,), "http://notifier.test")
    ack = {"s": "T-1", "n": "n0nce", "c": "change-1"}
    assert links.read_staff(ACKNOWLEDGE, _token_signed_days_ago(ACKNOWLEDGE, ack, 59)) is not None
    assert links.read_staff(ACKNOWLEDGE, _token_signed_days_ago(ACKNOWLEDGE, ack, 61)) is None
    short = Links((SIGNING_SECRET,), "http://notifier.test", ack_days=7)
    assert short.read_staff(ACKNOWLEDGE, _token_signed_days_ago(ACKNOWLEDGE, ack, 8)) is None
    # Preferences links stay valid for the year's old digests.
    assert links.read_staff(PREFERENCES, _token_signed_days_ago(PREFERENCES, {"s": "T-1", "n": "n0nce"}, 61))


async def _digest_links(svc, sink) -> dict[str, str]:
    await put_staff(svc, "T-1", TURKU_FI)
    await post_change(svc, GENERAL)
    await run_digest(svc)
    [mail] = mails_to(sink, TURKU_FI["email"])
    text = text_of(mail)
    return {kind: local_path(links_in(text, kind)[0], svc) for kind in ("preferences", "unsubscribe", "acknowledge")}


async def _status(svc, path: str) -> int:
    async with svc.http.get(path) as resp:
        return resp.status


async def test_coordinator_revokes_every_link_of_a_person_through_the_api(start_service, smtp):
    sink, _ = smtp
    svc = await staff_service(start_service, smtp)
    links = await _digest_links(svc, sink)
    assert [await _status(svc, p) for p in links.values()] == [200, 200, 200]
    status, answer = await svc.api("POST", "/api/staff/T-1/revoke-links")
    assert status == 200 and answer == {"id": "T-1", "link_generation": 1}
    assert [await _status(svc, p) for p in links.values()] == [404, 404, 404]
    assert (await svc.api("POST", "/api/staff/T-1/revoke-links"))[1]["link_generation"] == 2
    assert (await svc.api("POST", "/api/staff/NOBODY/revoke-links"))[0] == 404
    # A re-sync from the HR system keeps the count (and the revocation).
    await put_staff(svc, "T-1", TURKU_FI)
    assert (await svc.api("POST", "/api/staff/T-1/revoke-links"))[1]["link_generation"] == 3


async def test_coordinator_revokes_links_with_the_console_button(start_service, smtp):
    sink, _ = smtp
    svc = await console_service(start_service, email_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp[1])
    links = await _digest_links(svc, sink)
    browsers = Browsers()
    try:
        browser = await browsers.signed_in(svc)
        page = await browser.get("/console/staff/T-1/edit")
        assert "Mitätöi henkilön linkit" in page.text
        page = await browser.post("/console/staff/T-1/revoke-links", {})
        assert page.status == 200 and page.url.endswith("/console/staff/T-1/edit?revoked=1")
        assert "on mitätöity" in page.text
    finally:
        await browsers.close()
    assert [await _status(svc, p) for p in links.values()] == [404, 404, 404]
