"""Working days (工作日) on the Chinese statutory calendar, with make-up working days (调休).

Pure and deterministic: the same dates give the same answers, so workflows may use it.
Years the `chinese-calendar` package does not cover fall back to Monday-Friday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import chinese_calendar

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """The end (24:00 Beijing time) of the `days`-th working day after `start`'s local date."""
    day = start.astimezone(CHINA_TZ).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    end_of_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA_TZ)
    return end_of_day.astimezone(UTC)
