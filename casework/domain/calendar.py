"""Working days (工作日) on the Chinese statutory calendar, with make-up working days (调休).

Pure and deterministic: the same dates and overrides give the same answers, so
workflows may use it. The `chinese-calendar` package knows the years the State Council
has announced (up to 2026 today). For a later year the calendar uses the operator's
holiday file (`CASEWORK_HOLIDAYS_FILE`, carried here as `CalendarOverrides`), and
failing that Monday to Friday, warning once per uncovered year.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, timezone

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, model_validator

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

log = logging.getLogger("casework.calendar")
_warned_years: set[int] = set()


class HolidayYear(BaseModel):
    """One year's statutory holidays and make-up working days (调休上班)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = Field(default=frozenset(), description="make-up working days")


class CalendarOverrides(BaseModel):
    """Years an operator supplies (holiday file); they take precedence over the package."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: dict[int, HolidayYear] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dates_in_their_year(self) -> CalendarOverrides:
        for year, spec in self.years.items():
            for kind, days in (("holidays", spec.holidays), ("workdays", spec.workdays)):
                wrong = sorted(d for d in days if d.year != year)
                if wrong:
                    raise ValueError(f"years.{year}.{kind}: {wrong[0]} is not in {year}")
            both = spec.holidays & spec.workdays
            if both:
                raise ValueError(f"years.{year}: {min(both)} is both a holiday and a workday")
        return self


def _warn_uncovered(year: int) -> None:
    if year not in _warned_years:
        _warned_years.add(year)
        log.warning(
            "working-day calendar has no data for %s: counting Monday-Friday; "
            "supply CASEWORK_HOLIDAYS_FILE with that year's holidays and make-up days",
            year,
        )


NEXT_YEAR_FROM = (11, 1)
"""From 1 November the next year's holidays matter: a time limit of 30 working days set
then already ends in January."""


def uncovered_years(overrides: CalendarOverrides, today: date) -> list[int]:
    """This year, and from November the next, where neither the holiday file nor the
    statutory package has data (deadlines there count Monday to Friday)."""
    years = [today.year]
    if (today.month, today.day) >= NEXT_YEAR_FROM:
        years.append(today.year + 1)
    return [y for y in years if y not in overrides.years and _statutory(date(y, 1, 1)) is None]


def warn_uncovered_years(overrides: CalendarOverrides, today: date) -> list[int]:
    """At a process's start: warn now, once per year, of the years `uncovered_years`
    finds, rather than when a deadline first reaches into one."""
    years = uncovered_years(overrides, today)
    for year in years:
        _warn_uncovered(year)
    return years


_statutory_answers: dict[date, bool | None] = {}


def _statutory(day: date) -> bool | None:
    """The package's answer for `day`, None where it has no data for the year.
    Remembered: the package's data never changes in a process, and its `is_workday`
    scans every year it knows (min and max over all its dates) on each call, which was
    three quarters of the time of deciding an approval that sets a deadline."""
    try:
        return _statutory_answers[day]
    except KeyError:
        pass
    try:
        answer: bool | None = bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        answer = None
    _statutory_answers[day] = answer
    return answer


class WorkingCalendar:
    def __init__(self, overrides: CalendarOverrides | None = None) -> None:
        self.overrides = overrides or CalendarOverrides()

    def is_working_day(self, day: date) -> bool:
        supplied = self.overrides.years.get(day.year)
        if supplied is not None:
            if day in supplied.holidays:
                return False
            if day in supplied.workdays:
                return True
            return day.weekday() < 5
        statutory = _statutory(day)
        if statutory is None:
            _warn_uncovered(day.year)
            return day.weekday() < 5
        return statutory

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end (24:00 Beijing time) of the `days`-th working day after `start`'s date."""
        day = start.astimezone(CHINA_TZ).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return _end_of(day)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days after `start`'s local date up to and including `end`'s."""
        first = start.astimezone(CHINA_TZ).date()
        last = end.astimezone(CHINA_TZ).date()
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def resumed_deadline(
        self, due_at: datetime, paused_at: datetime, resumed_at: datetime
    ) -> datetime:
        """The deadline of a task whose clock stood still from `paused_at` to
        `resumed_at`: as many working days left after the day it resumed as there were
        after the day it paused (for a task already overdue, as many working days
        overdue). Weekends and holidays in the pause neither eat nor add working days.
        `due_at` is the end of a day, as working-day deadlines are."""
        due_day = _local_date(due_at - timedelta(microseconds=1))
        left = self._working_days_from(_local_date(paused_at), due_day)
        return _end_of(self._shifted(_local_date(resumed_at), left))

    def _working_days_from(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative, counted back,
        when `end` is before `start`."""
        if end < start:
            return -self._working_days_from(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def _shifted(self, day: date, working_days: int) -> date:
        """The day `working_days` working days after `day` (0: `day`; negative: the day
        from which `day` lies that many working days on)."""
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            counted += self.is_working_day(day)
        while counted > working_days:
            counted -= self.is_working_day(day)
            day -= timedelta(days=1)
        return day


def _local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


def _end_of(day: date) -> datetime:
    """24:00 Beijing time of `day`, in UTC: how working-day deadlines are expressed."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA_TZ).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """24:00 Beijing time of `day`, in UTC."""
    return _end_of(day)


def is_end_of_day(moment: datetime) -> bool:
    """Whether `moment` is 24:00 Beijing time (a deadline in working days or set to a
    date; a limit in seconds ends at any time of day)."""
    return moment.astimezone(CHINA_TZ).time() == time(0)


STATUTORY = WorkingCalendar()


def is_working_day(day: date) -> bool:
    return STATUTORY.is_working_day(day)


def add_working_days(start: datetime, days: int) -> datetime:
    """The end (24:00 Beijing time) of the `days`-th working day after `start`'s local date."""
    return STATUTORY.add_working_days(start, days)
