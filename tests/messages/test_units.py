"""Pure logic without I/O: status moves, retry timing, validation, rendering helpers, planning."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from notifier.messages import status as st
from notifier.casework.events import ClientReferred, parse_event
from notifier.i18n import format_day, format_when
from notifier.casework.referral import Defaults, plan_referral
from notifier.casework.events import Party
from notifier.messages.render import paragraph_html, paragraphs
from notifier.messages.retry import next_attempt_at
from notifier.sealing import Sealer, SealError, generate_key
from notifier.validation import Invalid

from zoneinfo import ZoneInfo

HEL = ZoneInfo("Europe/Helsinki")


@pytest.mark.parametrize("final", sorted(st.FINAL))
def test_final_statuses_never_move(final):
    assert not any(st.can_move(final, target) for target in st.ALL)


def test_forward_moves():
    assert st.can_move(st.CREATED, st.SENDING)
    assert st.can_move(st.SENDING, st.SENT)
    assert st.can_move(st.SENT, st.DELIVERED)
    assert st.can_move(st.TEMPORARY_FAILURE, st.SENDING)
    assert not st.can_move(st.SENT, st.SENDING)
    assert not st.can_move(st.SENT, st.TEMPORARY_FAILURE)
    assert not st.can_move(st.CREATED, st.SENT)
    # A delivery report for a send whose request timed out on our side settles it.
    assert st.can_move(st.TEMPORARY_FAILURE, st.DELIVERED)


def test_retry_backoff_grows_is_jittered_and_capped():
    created = now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rand = random.Random(1)
    delays = [
        (next_attempt_at(n, created, now, base=30, cap=1800, window=86400, rand=rand) - now).total_seconds()
        for n in range(1, 10)
    ]
    assert 15 <= delays[0] <= 30
    assert 30 <= delays[1] <= 60
    assert all(900 <= d <= 1800 for d in delays[7:])


def test_retry_stops_after_window():
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    late = created + timedelta(hours=23, minutes=59)
    assert next_attempt_at(5, created, late, base=30, cap=1800, window=86400) is None


def test_babel_dates_fi_and_sv_fi():
    dt = datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)
    assert format_when(dt, "fi", HEL) == "to 3.12.2026 klo 9.00"
    assert format_when(dt, "sv", HEL) == "tors 3.12.2026 kl. 9.00"
    assert format_day(datetime(2018, 12, 3, 9, tzinfo=HEL), "fi") == "ma 3.12.2018"
    assert format_day(datetime(2018, 12, 3, 9, tzinfo=HEL), "sv") == "mån 3.12.2018"


def test_paragraph_html_escapes_and_links():
    html = str(paragraph_html('<script>alert("x")</script>\nsee https://example.fi/a?b=1&c=2.'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.fi/a?b=1&amp;c=2">' in html and "<br>" in html
    assert paragraphs("a\n\nb\n\n-- \nfooter") == ["a", "b", "footer"]


def _event(**client):
    c = {"id": "C-1", "first_name": "Matti", "last_name": "M", "language": "fi"}
    c.update(client)
    return parse_event({"type": "client.referred", "data": {"client": c, "referred_at": "2026-11-30T09:00:00+02:00"}})


def test_plan_referral_email_or_no_channel():
    defaults = Defaults(Party("TE"), Party("Provider"))
    [m] = plan_referral(_event(email="m@example.fi"), defaults)
    assert (m.template, m.channel, m.failure, m.refs) == ("referral", "email", None, {"client": "C-1"})
    assert m.context["office"]["name"] == "TE" and m.context["provider"]["name"] == "Provider"
    [m] = plan_referral(_event(), defaults)
    assert (m.channel, m.failure) == ("none", "no-channel")


def test_parse_event_collects_every_error():
    with pytest.raises(Invalid) as exc:
        parse_event({"type": "client.referred", "data": {"client": {"id": "", "language": "de"}}})
    fields = {e.field for e in exc.value.errors}
    assert fields == {"data.client.id", "data.client.first_name", "data.client.last_name",
                      "data.client.language", "data.referred_at"}
    with pytest.raises(Invalid):
        parse_event([1, 2])
    assert isinstance(_event(), ClientReferred)


def test_sealer_encrypts_and_rotates():
    old, new = generate_key(), generate_key()
    blob = Sealer((old,)).seal({"name": "Matti"})
    assert b"Matti" not in blob
    rotated = Sealer((new, old)).rotate(blob)
    assert Sealer((new,)).open(rotated) == {"name": "Matti"}
    with pytest.raises(SealError):
        Sealer((new,)).open(blob)
