"""The coaching figures per site (pure): which site a client counts under, what is overdue and what
falls due within 7 days, services ended by reason, the site filter and the total; and the
contract's optional `coach.site`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import msgspec
import pytest

from notifier.casework.events import Coach
from notifier.coaching.model import Rules
from notifier.coaching.site_figures import ActiveClient, EndedService, SiteFigures, per_site, select, site_of
from notifier.validation import Invalid, validate

TZ = ZoneInfo("Europe/Helsinki")
NOW = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
RULES = Rules()
DIRECTORY = {"K-3": "salo", "K-1": "salo"}


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


@pytest.mark.parametrize("coach_id, coach_site, expected", [
    ("K-1", "turku", "turku"),   # the coach's own site wins over the directory's
    ("K-3", None, "salo"),       # else the staff directory's site for the coach's id
    ("K-9", None, None),         # a coach the directory does not know: no site
    (None, None, None),          # no coach: no site
])
def test_site_of(coach_id, coach_site, expected):
    assert site_of(coach_id, coach_site, DIRECTORY) == expected


@pytest.mark.parametrize("client, overdue, due_soon", [
    (ActiveClient("K-1", "turku", days_ago(1)), 0, 0),             # first contact due in 13 days
    (ActiveClient("K-1", "turku", days_ago(8)), 0, 1),             # due in 6 days
    (ActiveClient("K-1", "turku", days_ago(6.99)), 0, 0),          # due just over 7 days on
    (ActiveClient("K-1", "turku", days_ago(15)), 1, 0),            # due yesterday: overdue
    (ActiveClient("K-1", "turku", days_ago(40), last_contact_at=days_ago(31)), 1, 0),  # monthly contact late
    (ActiveClient("K-1", "turku", days_ago(40), last_contact_at=days_ago(25)), 0, 1),  # monthly due in 5 days
    # an overdue contact and a plan renewal due in 3 days: counted in both columns
    (ActiveClient("K-1", "turku", days_ago(100), last_contact_at=days_ago(35),
                  last_plan_at=datetime(2026, 9, 4, 10, tzinfo=timezone.utc)), 1, 1),
])
def test_overdue_and_due_within_seven_days(client, overdue, due_soon):
    [row] = per_site([client], [], {}, RULES, TZ, NOW)
    assert (row.site, row.active, row.overdue, row.due_soon) == ("turku", 1, overdue, due_soon)


def test_rows_per_site_by_code_no_site_last_and_ended_by_reason():
    active = [ActiveClient("K-1", "turku", days_ago(20)), ActiveClient("K-1", "turku", days_ago(9)),
              ActiveClient("K-3", None, days_ago(1)), ActiveClient(None, None, days_ago(2)),
              ActiveClient("K-9", None, days_ago(3))]
    ended = [EndedService("employed", "K-1", "turku"), EndedService("moved", "K-3"), EndedService("employed", "K-4", "abo")]
    rows = per_site(active, ended, {"K-3": "salo"}, RULES, TZ, NOW)
    assert [(r.site, r.active, r.overdue, r.due_soon, r.ended_total) for r in rows] == [
        ("abo", 0, 0, 0, 1), ("salo", 1, 0, 0, 1), ("turku", 2, 1, 1, 1), (None, 2, 0, 0, 0)]
    assert rows[2].ended == {"employed": 1, "education": 0, "term-ended": 0, "moved": 0, "other": 0}
    kept, total = select(rows, "")
    assert kept == rows
    assert (total.site, total.active, total.overdue, total.due_soon, total.ended_total) == (None, 5, 1, 1, 3)
    assert total.ended["employed"] == 2 and total.ended["moved"] == 1


@pytest.mark.parametrize("site, sites, active", [
    ("turku", ["turku"], 2),
    ("salo", ["salo"], 1),
    ("nowhere", [], 0),   # a site without coaching: no rows, a zero total
])
def test_the_site_filter_keeps_one_site_and_never_the_no_site_row(site, sites, active):
    rows = per_site([ActiveClient("K-1", "turku", days_ago(1)), ActiveClient("K-1", "turku", days_ago(2)),
                     ActiveClient("K-2", "salo", days_ago(1)), ActiveClient(None, None, days_ago(1))],
                    [], {}, RULES, TZ, NOW)
    kept, total = select(rows, site)
    assert [r.site for r in kept] == sites and total.active == active
    assert set(total.ended) == {"employed", "education", "term-ended", "moved", "other"}


def test_an_unknown_reason_of_an_older_record_gets_its_own_column():
    rows = per_site([], [EndedService("retired", "K-1", "turku")], {}, RULES, TZ, NOW)
    assert rows == [SiteFigures("turku", ended={"employed": 0, "education": 0, "term-ended": 0, "moved": 0,
                                                "other": 0, "retired": 1})]


def test_ten_thousand_clients_are_one_pass():
    active = [ActiveClient(f"K-{i % 40}", f"site-{i % 7}", days_ago(i % 60)) for i in range(10_000)]
    rows = per_site(active, [EndedService("other", "K-1", "site-1")] * 1000, {}, RULES, TZ, NOW)
    assert len(rows) == 7 and select(rows, "")[1].active == 10_000


def test_coach_site_is_an_optional_code_in_the_contract():
    coach = {"id": "K-1", "name": "Kaisa Valmentaja", "email": "kaisa@provider.example", "language": "fi"}
    assert validate(coach, Coach).site is None
    assert validate({**coach, "site": "Turku"}, Coach).site == "turku"  # codes are lower-cased
    with pytest.raises(Invalid) as caught:
        validate({**coach, "site": "Turku keskusta"}, Coach)
    assert [e.field for e in caught.value.errors] == ["site"]
    schema = msgspec.json.schema(Coach)["$defs"]["Coach"]["properties"]["site"]["anyOf"][0]
    assert schema["examples"] == ["turku"] and "staff directory" in schema["description"]
