from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agencies.calendar import add_working_days, due_at, is_working_day, working_days_between
from agencies.models import CalendarOverride

pytestmark = pytest.mark.django_db

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def test_weekdays_work_and_weekends_rest():
    assert is_working_day(date(2025, 11, 17))  # Monday
    assert is_working_day(date(2025, 11, 21))  # Friday
    assert not is_working_day(date(2025, 11, 22))  # Saturday
    assert not is_working_day(date(2025, 11, 23))  # Sunday


@pytest.mark.parametrize(
    "day",
    [
        date(2025, 9, 2),  # National Day
        date(2026, 9, 2),
        date(2025, 4, 30),  # Reunification Day
        date(2026, 1, 1),
        # Tết Đinh Mùi 2027: Lunar New Year's Day is Saturday 6 February; the weekdays of
        # the break around it are days off.
        date(2027, 2, 4),
        date(2027, 2, 5),
        date(2027, 2, 8),
        date(2027, 2, 9),
        date(2027, 2, 10),
    ],
)
def test_vietnamese_public_holidays_are_days_off(day):
    assert day.weekday() < 5
    assert not is_working_day(day)


def test_override_makes_a_saturday_a_working_day():
    saturday = date(2025, 12, 27)
    CalendarOverride.objects.create(date=saturday, is_working_day=True, note="Làm bù")
    assert is_working_day(saturday)
    assert add_working_days(date(2025, 12, 26), 1) == saturday


def test_override_makes_a_weekday_a_day_off():
    monday = date(2025, 11, 17)
    CalendarOverride.objects.create(date=monday, is_working_day=False, note="Nghỉ bão")
    assert not is_working_day(monday)
    assert add_working_days(date(2025, 11, 14), 1) == date(2025, 11, 18)


def test_override_can_turn_a_holiday_into_a_working_day():
    national_day = date(2025, 9, 2)
    CalendarOverride.objects.create(date=national_day, is_working_day=True)
    assert is_working_day(national_day)


def test_add_working_days_skips_weekends():
    friday = date(2025, 11, 21)
    assert add_working_days(friday, 1) == date(2025, 11, 24)
    assert add_working_days(friday, 5) == date(2025, 11, 28)
    assert add_working_days(friday, 6) == date(2025, 12, 1)


def test_add_zero_working_days_is_today_or_the_next_working_day():
    assert add_working_days(date(2025, 11, 17), 0) == date(2025, 11, 17)
    assert add_working_days(date(2025, 11, 22), 0) == date(2025, 11, 24)


def test_add_working_days_skips_tet():
    # Wednesday before Tết 2027: Thu–Fri, the weekend and Mon–Wed are all off.
    assert add_working_days(date(2027, 2, 3), 1) == date(2027, 2, 11)


def test_add_working_days_refuses_negative():
    with pytest.raises(ValueError):
        add_working_days(date(2025, 11, 17), -1)


def test_add_working_days_reads_overrides_once(django_assert_num_queries):
    CalendarOverride.objects.create(date=date(2025, 12, 27), is_working_day=True)
    with django_assert_num_queries(1):
        add_working_days(date(2025, 11, 17), 30)


def test_long_spans_agree_with_day_by_day_counting():
    CalendarOverride.objects.create(date=date(2026, 3, 2), is_working_day=False)
    CalendarOverride.objects.create(date=date(2026, 3, 7), is_working_day=True)
    start = date(2025, 12, 30)
    day, counted = start, 0
    while counted < 120:
        day += timedelta(days=1)
        counted += is_working_day(day)
    assert add_working_days(start, 120) == day


def test_working_days_between_is_the_inverse_of_add():
    start = date(2027, 1, 28)
    for n in (1, 2, 5, 10, 25):
        end = add_working_days(start, n)
        assert working_days_between(start, end) == n
        assert working_days_between(end, start) == -n
    assert working_days_between(start, start) == 0


def test_working_days_between_counts_overrides_in_one_query(django_assert_num_queries):
    CalendarOverride.objects.create(date=date(2025, 11, 22), is_working_day=True)
    CalendarOverride.objects.create(date=date(2025, 11, 25), is_working_day=False)
    with django_assert_num_queries(1):
        # Nine weekdays after Monday 17 up to Friday 28; the working Saturday adds one and
        # the Tuesday off takes one away.
        assert working_days_between(date(2025, 11, 17), date(2025, 11, 28)) == 9


def test_due_at_is_five_pm_local_of_the_last_working_day():
    received = datetime(2025, 11, 20, 9, 15, tzinfo=HANOI)  # Thursday

    due = due_at(received, 3)

    assert due == datetime(2025, 11, 25, 17, 0, tzinfo=HANOI)
    assert due.utcoffset() == timedelta(hours=7)
    assert due.astimezone(UTC) == datetime(2025, 11, 25, 10, 0, tzinfo=UTC)


def test_due_at_counts_from_the_local_date_not_the_utc_date():
    # 18:30 UTC on Sunday is 01:30 on Monday in Vietnam: counting starts from Monday.
    received = datetime(2025, 11, 23, 18, 30, tzinfo=UTC)
    assert due_at(received, 1) == datetime(2025, 11, 25, 17, 0, tzinfo=HANOI)


def test_due_at_jumps_over_national_day():
    received = datetime(2025, 8, 29, 10, 0, tzinfo=HANOI)  # Friday before 1–2 September
    assert due_at(received, 1) == datetime(2025, 9, 3, 17, 0, tzinfo=HANOI)


def test_due_at_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        due_at(datetime(2025, 11, 20, 9, 0), 3)
