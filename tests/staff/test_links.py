"""Signed staff links (`links.py`): the `2.` tokens, their lifetimes and keys, and the links
signed before them by itsdangerous, which keep working until they run out. Pure: the clock is
passed in."""

from __future__ import annotations

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from notifier.staff.links import ACKNOWLEDGE, MAX_AGE, PREFERENCES, SUBSCRIBE, UNSUBSCRIBE, Links, LinksUnavailable
from notifier.staff.model import StaffMember

T0 = 1_796_000_000.0
MEMBER = StaffMember("ST-1", "Tiina Turunen", "tiina@tyollisyysalue.example", "fi", "te-office", "turku", nonce="n-1")
LINKS = Links(("new-secret", "old-secret"), "https://notifier.example/", ack_days=60)


def test_a_token_reads_back_for_its_own_purpose_only():
    for purpose in (PREFERENCES, UNSUBSCRIBE, ACKNOWLEDGE):
        token = LINKS.staff_token(purpose, MEMBER, "c-1" if purpose == ACKNOWLEDGE else None)
        assert token.startswith("2.")
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token)  # a plain path segment, as the old tokens
        claim = LINKS.read_staff(purpose, token)
        assert claim is not None and claim.matches(MEMBER)
        for other in {PREFERENCES, UNSUBSCRIBE, ACKNOWLEDGE, SUBSCRIBE} - {purpose}:
            assert LINKS.read(other, token) is None
    assert LINKS.read_staff(ACKNOWLEDGE, LINKS.staff_token(ACKNOWLEDGE, MEMBER, "c-9")).change_id == "c-9"  # type: ignore[union-attr]


def test_a_changed_token_is_refused():
    token = LINKS.sign(ACKNOWLEDGE, {"s": "ST-1", "n": "n-1", "c": "c-1"}, now=T0)
    version, body, signed_at, mac = token.split(".")
    forged_body = LINKS.sign(ACKNOWLEDGE, {"s": "ST-2", "n": "n-1", "c": "c-1"}, now=T0).split(".")[1]
    for bad in (
        f"{version}.{forged_body}.{signed_at}.{mac}",  # someone else's id under this signature
        f"{version}.{body}.{int(signed_at) + 1}.{mac}",  # a later signing time
        f"{version}.{body}.{signed_at}.{mac[:-2]}",
        f"{version}.{body}.{signed_at}.{'A' * len(mac)}",
        f"{version}.{body}.{signed_at}", f"{version}.{body}", "2.", "2...", "", "x" * 2000,
        f"{version}.{body}.-{signed_at}.{mac}", f"{version}.{body}.{signed_at}.{mac}!",
    ):
        assert LINKS.read(ACKNOWLEDGE, bad, now=T0) is None, bad
    assert LINKS.read(ACKNOWLEDGE, token, now=T0) == {"s": "ST-1", "n": "n-1", "c": "c-1"}


def test_lifetimes_are_kept_and_a_token_from_the_future_is_refused():
    ack = LINKS.sign(ACKNOWLEDGE, {"s": "ST-1", "n": "n-1", "c": "c-1"}, now=T0)
    assert LINKS.read(ACKNOWLEDGE, ack, now=T0 + 60 * 86400) is not None
    assert LINKS.read(ACKNOWLEDGE, ack, now=T0 + 60 * 86400 + 1) is None
    assert LINKS.read(ACKNOWLEDGE, ack, now=T0 - 1) is None
    prefs = LINKS.sign(PREFERENCES, {"s": "ST-1", "n": "n-1"}, now=T0)
    assert LINKS.read(PREFERENCES, prefs, now=T0 + MAX_AGE[PREFERENCES]) is not None
    assert LINKS.read(PREFERENCES, prefs, now=T0 + MAX_AGE[PREFERENCES] + 1) is None


def test_a_rotated_secret_still_reads_links_signed_with_the_previous_one():
    before = Links(("old-secret",), "https://notifier.example").staff_token(UNSUBSCRIBE, MEMBER)
    assert LINKS.read_staff(UNSUBSCRIBE, before) is not None
    assert Links(("new-secret",), "https://notifier.example").read_staff(UNSUBSCRIBE, before) is None


def test_links_signed_by_itsdangerous_before_still_work():
    """What `Links` signed until issue 18: itsdangerous, salt `notifier.<purpose>`, newest secret last."""
    old = URLSafeTimedSerializer([b"old-secret", b"new-secret"], salt="notifier.acknowledge")
    token = old.dumps({"s": "ST-1", "n": "n-1", "c": "c-1"})
    claim = LINKS.read_staff(ACKNOWLEDGE, token)
    assert claim is not None and claim.matches(MEMBER) and claim.change_id == "c-1"
    assert LINKS.read_staff(UNSUBSCRIBE, token) is None
    assert Links(("third-secret",), "https://notifier.example").read_staff(ACKNOWLEDGE, token) is None
    signed_by_old_secret = URLSafeTimedSerializer([b"old-secret"], salt="notifier.preferences").dumps({"s": "ST-1", "n": "n-1"})
    assert LINKS.read_staff(PREFERENCES, signed_by_old_secret) is not None


def test_without_a_secret_links_cannot_be_made():
    links = Links((), "https://notifier.example")
    assert not links.available
    with pytest.raises(LinksUnavailable):
        links.preferences(MEMBER)
