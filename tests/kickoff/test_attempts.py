"""Second attempts and unreachable clients: pure rules, Finnish working days with a fixed clock."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from notifier.kickoff.attempts import after_call
from notifier.kickoff.workdays import follow_up_due, next_working_day, working_days_between

TZ = ZoneInfo("Europe/Helsinki")


def test_next_working_day_skips_weekends_and_finnish_holidays():
    assert next_working_day(date(2026, 12, 1)) == date(2026, 12, 2)  # Tue -> Wed
    assert next_working_day(date(2026, 12, 4)) == date(2026, 12, 7)  # Fri -> Mon (6.12. is a Sunday anyway)
    assert next_working_day(date(2026, 12, 23)) == date(2026, 12, 28)  # Christmas Eve, Day, St Stephen's
    assert next_working_day(date(2027, 12, 3)) == date(2027, 12, 7)  # Independence Day, Mon 6.12.2027
    assert next_working_day(date(2026, 12, 1), days=2) == date(2026, 12, 3)


def test_follow_up_is_due_at_eight_local_on_the_next_working_day_in_utc():
    friday_evening = datetime(2026, 12, 4, 17, 30, tzinfo=TZ)
    due = follow_up_due(friday_evening, TZ)
    assert due.tzinfo == timezone.utc
    assert due.astimezone(TZ) == datetime(2026, 12, 7, 8, 0, tzinfo=TZ)


def test_working_days_between_counts_only_working_days():
    assert working_days_between(datetime(2026, 12, 4, 9, tzinfo=TZ), datetime(2026, 12, 7, 9, tzinfo=TZ), TZ) == 1
    assert working_days_between(datetime(2026, 12, 1, 9, tzinfo=TZ), datetime(2026, 12, 1, 18, tzinfo=TZ), TZ) == 0


NOW = datetime(2026, 12, 1, 10, tzinfo=TZ)


def decide(outcome, attempt=1, has_follow_up=False, already=False, max_attempts=3):
    return after_call(outcome, attempt=attempt, max_attempts=max_attempts, has_follow_up=has_follow_up,
                      already_unreachable=already, now=NOW, tz=TZ)


def test_no_answer_before_the_last_attempt_schedules_a_follow_up():
    d = decide("no-answer", attempt=1)
    assert d.unreachable is None and d.follow_up_due.astimezone(TZ) == datetime(2026, 12, 2, 8, tzinfo=TZ)
    assert decide("no-answer", attempt=2).follow_up_due is not None


def test_no_answer_on_the_last_attempt_or_a_wrong_number_makes_the_client_unreachable():
    assert decide("no-answer", attempt=3).unreachable == "no-answer"
    assert decide("no-answer", attempt=3).follow_up_due is None
    assert decide("wrong-number", attempt=1).unreachable == "wrong-number"
    assert decide("no-answer", attempt=1, max_attempts=1).unreachable == "no-answer"


def test_unreachable_once_and_nothing_for_reached_rescheduled_or_older_attempts():
    assert decide("wrong-number", already=True).unreachable is None
    assert decide("no-answer", attempt=3, already=True).unreachable is None
    assert decide("reached") == decide("rescheduled") == decide("no-answer", has_follow_up=True)
    assert decide("reached").follow_up_due is None and decide("reached").unreachable is None
