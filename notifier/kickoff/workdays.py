"""Working days in Finland: weekdays that are not public holidays (the `holidays` package's list,
which also counts Christmas Eve and Midsummer Eve, when offices are closed).

Pure: the caller passes the date or time; nothing here reads the clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

#: Local hour at which a follow-up call becomes due on its working day.
CALL_HOUR = 8


@lru_cache(maxsize=16)
def _finnish_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FI", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _finnish_holidays(day.year)


def next_working_day(after: date, days: int = 1) -> date:
    """The `days`-th working day after `after` (a Friday's next is the Monday, unless it is a holiday)."""
    day, left = after, max(days, 1)
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: datetime, end: datetime, tz: ZoneInfo) -> int:
    """Whole working days from `start`'s local date (exclusive) to `end`'s (inclusive)."""
    day, last, count = start.astimezone(tz).date(), end.astimezone(tz).date(), 0
    while day < last:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def follow_up_due(now: datetime, tz: ZoneInfo, days: int = 1) -> datetime:
    """When a call that went unanswered at `now` is due again: 08:00 local on the next working day, in UTC."""
    day = next_working_day(now.astimezone(tz).date(), days)
    return datetime.combine(day, time(CALL_HOUR), tzinfo=tz).astimezone(timezone.utc)
