"""Working days on the 2026 Chinese statutory calendar (with make-up working days 调休),
and deadlines: the end (24:00 Beijing time) of the n-th working day, expressed in UTC.

The 2026 dates were read from the `chinese_calendar` package (State Council notice for
2026): Spring Festival 15-23 February with make-up days Saturday 14 and Saturday 28
February; Mid-Autumn 25-27 September; National Day 1-7 October with make-up days
Sunday 20 September and Saturday 10 October.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.domain.calendar import CHINA_TZ, add_working_days, is_working_day


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


def beijing(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


def end_of_beijing_day(y: int, m: int, d: int) -> datetime:
    """24:00 Beijing time of that day, as a UTC datetime (16:00 UTC the same date)."""
    return datetime(y, m, d, 16, 0, tzinfo=UTC)


SPRING_FESTIVAL_2026 = days(date(2026, 2, 15), date(2026, 2, 23))
SPRING_FESTIVAL_MAKEUP_2026 = [date(2026, 2, 14), date(2026, 2, 28)]  # both Saturdays
MID_AUTUMN_2026 = days(date(2026, 9, 25), date(2026, 9, 27))
NATIONAL_DAY_2026 = days(date(2026, 10, 1), date(2026, 10, 7))
NATIONAL_DAY_MAKEUP_2026 = [date(2026, 9, 20), date(2026, 10, 10)]  # Sunday, Saturday


# -- the package agrees with what we assert (guards against a silently changed dataset) --


def test_the_2026_dates_match_the_chinese_calendar_package() -> None:
    for day in SPRING_FESTIVAL_2026 + MID_AUTUMN_2026 + NATIONAL_DAY_2026:
        assert chinese_calendar.is_holiday(day), day
    for day in SPRING_FESTIVAL_MAKEUP_2026 + NATIONAL_DAY_MAKEUP_2026:
        assert chinese_calendar.is_workday(day), day
        assert day.weekday() >= 5, day  # really a weekend day made a working day


def test_october_2026_as_listed_by_the_package() -> None:
    october = days(date(2026, 10, 1), date(2026, 10, 31))
    holidays = [d for d in october if chinese_calendar.is_holiday(d)]
    workdays_on_weekends = [
        d for d in october if chinese_calendar.is_workday(d) and d.weekday() >= 5
    ]
    assert holidays[:7] == NATIONAL_DAY_2026
    assert workdays_on_weekends == [date(2026, 10, 10)]


# -- is_working_day -------------------------------------------------------------------


@pytest.mark.parametrize("day", SPRING_FESTIVAL_2026 + MID_AUTUMN_2026 + NATIONAL_DAY_2026)
def test_statutory_holidays_are_not_working_days(day: date) -> None:
    assert is_working_day(day) is False


@pytest.mark.parametrize("day", SPRING_FESTIVAL_MAKEUP_2026 + NATIONAL_DAY_MAKEUP_2026)
def test_make_up_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert is_working_day(day) is True


@pytest.mark.parametrize(
    "day",
    [date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5), date(2026, 10, 6)],
)
def test_weekday_holidays_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert is_working_day(day) is False


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 9), True),  # ordinary Monday
        (date(2026, 3, 13), True),  # ordinary Friday
        (date(2026, 3, 14), False),  # ordinary Saturday
        (date(2026, 3, 15), False),  # ordinary Sunday
        (date(2026, 1, 1), False),  # New Year's Day (Thursday)
        (date(2026, 1, 4), True),  # New Year make-up Sunday
        (date(2026, 9, 24), True),  # the day before Mid-Autumn
        (date(2026, 9, 28), True),  # back to work after Mid-Autumn
        (date(2026, 10, 8), True),  # back to work after National Day
        (date(2026, 10, 11), False),  # the Sunday after the make-up Saturday
    ],
)
def test_ordinary_days_in_2026(day: date, expected: bool) -> None:
    assert is_working_day(day) is expected


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)))
def test_2026_follows_the_statutory_calendar_every_day(day: date) -> None:
    assert is_working_day(day) is bool(chinese_calendar.is_workday(day))


# -- add_working_days: deadlines at the end of a Beijing day, in UTC --------------------


def test_deadline_is_end_of_day_beijing_expressed_in_utc() -> None:
    due = add_working_days(beijing(2026, 3, 9), 1)  # Monday -> Tuesday
    assert due == end_of_beijing_day(2026, 3, 10)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
    assert due.astimezone(CHINA_TZ) == datetime(2026, 3, 11, 0, 0, tzinfo=CHINA_TZ)


def test_five_working_days_over_a_weekend() -> None:
    # Thursday 12 March 2026 -> Fri 13, Mon 16, Tue 17, Wed 18, Thu 19.
    assert add_working_days(beijing(2026, 3, 12), 5) == end_of_beijing_day(2026, 3, 19)


def test_zero_days_is_the_end_of_the_start_day() -> None:
    assert add_working_days(beijing(2026, 3, 12, 9), 0) == end_of_beijing_day(2026, 3, 12)


def test_time_of_day_does_not_matter_within_a_beijing_day() -> None:
    early = add_working_days(beijing(2026, 3, 12, 0, 0), 3)
    late = add_working_days(beijing(2026, 3, 12, 23, 59), 3)
    assert early == late == end_of_beijing_day(2026, 3, 17)


def test_start_is_read_as_a_beijing_date_not_a_utc_date() -> None:
    # 2026-02-13 16:30 UTC is already 00:30 on Saturday 14 February in Beijing, a make-up
    # working day; the next working day after it is Tuesday 24 February (after the
    # Spring Festival). Read as the UTC date (13 February) the answer would be the 14th.
    start = datetime(2026, 2, 13, 16, 30, tzinfo=UTC)
    assert add_working_days(start, 1) == end_of_beijing_day(2026, 2, 24)
    # One minute before Beijing midnight it is still Friday the 13th there.
    assert add_working_days(datetime(2026, 2, 13, 15, 59, tzinfo=UTC), 1) == (
        end_of_beijing_day(2026, 2, 14)
    )


def test_spring_festival_2026() -> None:
    # Friday 13 Feb: Sat 14 (make-up) is day 1, then nine days off, then Tue 24 Feb.
    start = beijing(2026, 2, 13)
    assert add_working_days(start, 1) == end_of_beijing_day(2026, 2, 14)
    assert add_working_days(start, 2) == end_of_beijing_day(2026, 2, 24)
    # Tue 24 .. Fri 27 and make-up Saturday 28 February.
    assert add_working_days(start, 6) == end_of_beijing_day(2026, 2, 28)
    assert add_working_days(start, 7) == end_of_beijing_day(2026, 3, 2)


def test_national_day_and_mid_autumn_2026() -> None:
    # Wednesday 30 September: 1-7 October off; Thu 8, Fri 9, make-up Sat 10, Mon 12, Tue 13.
    assert add_working_days(beijing(2026, 9, 30), 5) == end_of_beijing_day(2026, 10, 13)
    # Thursday 24 September: Mid-Autumn 25-27; Mon 28, Tue 29, Wed 30, then National Day.
    start = beijing(2026, 9, 24)
    assert add_working_days(start, 3) == end_of_beijing_day(2026, 9, 30)
    assert add_working_days(start, 4) == end_of_beijing_day(2026, 10, 8)
    # Friday 18 September: the make-up Sunday 20 counts: Sun 20 (1), Mon 21 (2).
    assert add_working_days(beijing(2026, 9, 18), 2) == end_of_beijing_day(2026, 9, 21)


def test_five_working_days_from_a_holiday() -> None:
    # Opened on 1 October (a holiday): Oct 8, 9, 10 (make-up), 12, 13.
    assert add_working_days(beijing(2026, 10, 1), 5) == end_of_beijing_day(2026, 10, 13)


def test_thirty_working_days_registration_limit() -> None:
    start = beijing(2026, 9, 1)
    due = add_working_days(start, 30)
    counted = [
        d
        for d in days(date(2026, 9, 2), due.astimezone(CHINA_TZ).date() - timedelta(1))
        if chinese_calendar.is_workday(d)
    ]
    assert len(counted) == 30
    assert counted[-1] == due.astimezone(CHINA_TZ).date() - timedelta(1)


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=20),
)
def test_deadline_lands_at_beijing_midnight_after_exactly_n_working_days(
    start: datetime, n: int
) -> None:
    due = add_working_days(start, n)
    assert due.utcoffset() == timedelta(0)
    local_due = due.astimezone(CHINA_TZ)
    assert (local_due.hour, local_due.minute, local_due.second) == (0, 0, 0)
    last_day = local_due.date() - timedelta(1)
    assert chinese_calendar.is_workday(last_day)
    between = days(start.astimezone(CHINA_TZ).date() + timedelta(1), last_day)
    assert sum(1 for d in between if chinese_calendar.is_workday(d)) == n


# -- beyond the package's data: Monday to Friday ----------------------------------------


def test_the_package_has_no_data_for_2027() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 3, 8))


@pytest.mark.parametrize("year", [2027, 2099])
def test_years_without_data_fall_back_to_monday_to_friday(year: int) -> None:
    week = days(date(year, 3, 1), date(year, 3, 14))
    assert [is_working_day(d) for d in week] == [d.weekday() < 5 for d in week]


def test_deadline_in_2027_counts_monday_to_friday() -> None:
    # Thursday 11 March 2027 + 3 working days: Fri 12, Mon 15, Tue 16.
    assert add_working_days(beijing(2027, 3, 11), 3) == end_of_beijing_day(2027, 3, 16)


def test_deadline_across_the_end_of_the_data_does_not_crash() -> None:
    # Thursday 24 December 2026 + 10 working days runs into 2027.
    due = add_working_days(beijing(2026, 12, 24), 10)
    assert due.utcoffset() == timedelta(0)
    # Fri 25, Mon 28 .. Thu 31 December 2026, then at least five Monday-Friday days.
    assert due >= end_of_beijing_day(2027, 1, 7)
    assert due.astimezone(CHINA_TZ).hour == 0
