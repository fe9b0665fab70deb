"""Working days of Vietnam's public administration.

A day is a working day when a `CalendarOverride` row says so; without a row, Monday to
Friday except the public holidays (and observed days off) of the `holidays` package, country
VN. Deadlines fall at 17:00 Vietnam time, whatever the server's time zone.
"""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from zoneinfo import ZoneInfo

import holidays

from agencies.models import CalendarOverride

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CLOSING_TIME = time(17, 0)


@lru_cache(maxsize=32)
def _public_holidays(year: int) -> frozenset[date]:
    # A frozen set per year: the package object grows lazily on lookup and is not safe to
    # share between threads.
    return frozenset(holidays.country_holidays("VN", years=year))


def _is_working_by_default(day: date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def _overrides(first: date, last: date) -> dict[date, bool]:
    rows = CalendarOverride.objects.filter(date__range=(first, last))
    return dict(rows.values_list("date", "is_working_day"))


def _is_working(day: date, overrides: dict[date, bool]) -> bool:
    override = overrides.get(day)
    return _is_working_by_default(day) if override is None else override


def _working_days_from(first: date, window: int) -> Iterator[date]:
    """Working days on or after `first`, reading overrides `window` days at a time."""
    day = first
    while True:
        last = day + timedelta(days=window - 1)
        overrides = _overrides(day, last)
        while day <= last:
            if _is_working(day, overrides):
                yield day
            day += timedelta(days=1)


def is_working_day(d: date) -> bool:
    return _is_working(d, _overrides(d, d))


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start`; for n = 0, `start` itself if it is a working day,
    else the next working day."""
    if n < 0:
        raise ValueError("n must not be negative")
    first = start if n == 0 else start + timedelta(days=1)
    # Twice the span plus three weeks covers weekends and the longest Tết break, so the
    # overrides are nearly always read in a single query.
    window = 2 * n + 21
    return next(islice(_working_days_from(first, window), max(n - 1, 0), None))


def working_days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b` (negative when `b` is before `a`).

    The inverse of `add_working_days`: `working_days_between(a, add_working_days(a, n)) == n`
    for n ≥ 1.
    """
    if b < a:
        return -working_days_between(b, a)
    if b == a:
        return 0
    first = a + timedelta(days=1)
    overrides = _overrides(first, b)
    span = (b - a).days
    return sum(_is_working(first + timedelta(days=i), overrides) for i in range(span))


def due_at(start: datetime, days: int) -> datetime:
    """17:00 Vietnam time on the `days`-th working day after the local date of `start`."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be an aware datetime")
    last_day = add_working_days(start.astimezone(LOCAL_TZ).date(), days)
    return datetime.combine(last_day, CLOSING_TIME, tzinfo=LOCAL_TZ)
