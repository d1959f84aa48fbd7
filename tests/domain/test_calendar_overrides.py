"""Years beyond the statutory calendar package: the operator's holiday file, or
Monday-Friday with one warning per year."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from casework import config as config_module
from casework.config import ConfigError, load_holidays, load_process_config
from casework.domain import calendar as cal
from casework.domain.calendar import CalendarOverrides, HolidayYear, WorkingCalendar

HOLIDAYS_2027 = """
# 2027: New Year's Day and a made-up Spring Festival week for the test
[2027]
holidays = [2027-01-01, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12]
workdays = ["2027-02-07"]
"""


def test_uncovered_year_counts_monday_to_friday_and_warns_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cal, "_warned_years", set())
    calendar = WorkingCalendar()
    with caplog.at_level(logging.WARNING, logger="casework.calendar"):
        assert calendar.is_working_day(date(2027, 1, 1))  # a Friday; no data says otherwise
        assert not calendar.is_working_day(date(2027, 1, 2))  # Saturday
        calendar.add_working_days(datetime(2027, 3, 1, tzinfo=UTC), 5)
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1
    assert "CASEWORK_HOLIDAYS_FILE" in warnings[0].getMessage()


def test_holiday_file_decides_its_years(tmp_path: Path) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text(HOLIDAYS_2027, encoding="utf-8")
    calendar = WorkingCalendar(load_holidays(path))
    assert not calendar.is_working_day(date(2027, 1, 1))
    assert calendar.is_working_day(date(2027, 2, 7))  # a Sunday made a working day
    assert not calendar.is_working_day(date(2027, 2, 10))
    assert calendar.is_working_day(date(2027, 2, 15))
    # Friday 2027-02-05: the next working days are Sun 02-07, then Mon 02-15.
    start = datetime(2027, 2, 5, 2, 0, tzinfo=UTC)
    assert calendar.add_working_days(start, 2) == datetime(2027, 2, 15, 16, 0, tzinfo=UTC)
    assert WorkingCalendar().add_working_days(start, 2) == datetime(2027, 2, 9, 16, 0, tzinfo=UTC)
    # Years the package covers are untouched: 2026-10-01 stays a holiday.
    assert not calendar.is_working_day(date(2026, 10, 1))


def test_holiday_file_reaches_the_process_configuration(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text('{"2027": {"holidays": ["2027-01-01"]}}', encoding="utf-8")
    config = load_process_config(None, path)
    assert config.hardship.calendar.years[2027].holidays == {date(2027, 1, 1)}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('[2027]\nholidays = ["2026-12-31"]\n', "years.2027.holidays"),
        ('[2027]\nholidays = ["2027-13-01"]\n', "2027.holidays"),
        ('[2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]\n', "both"),
        ("[2027]\nbirthdays = []\n", "birthdays"),
        ("not toml at all [", "holidays.toml"),
    ],
)
def test_bad_holiday_files_are_refused_naming_the_field(
    tmp_path: Path, text: str, field: str
) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_holidays(path)
    assert field in str(raised.value) and str(path) in str(raised.value)


def test_missing_configuration_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere.toml"):
        config_module.load_process_config(tmp_path / "nowhere.toml")


def test_overrides_are_validated_in_code_too() -> None:
    with pytest.raises(ValueError, match="not in 2027"):
        CalendarOverrides(years={2027: HolidayYear(holidays=frozenset({date(2028, 1, 1)}))})


def test_the_years_to_warn_of_at_start() -> None:
    """This year always, the next from November (a 30-working-day limit set then ends in
    January), unless the holiday file or the package covers them. Years far beyond any
    package release, so that a new release of it cannot change the answer."""
    none = CalendarOverrides()
    assert cal.uncovered_years(none, date(2040, 6, 1)) == [2040]
    assert cal.uncovered_years(none, date(2040, 10, 31)) == [2040]
    assert cal.uncovered_years(none, date(2040, 11, 1)) == [2040, 2041]
    filed = CalendarOverrides(years={2041: HolidayYear(holidays=frozenset({date(2041, 1, 1)}))})
    assert cal.uncovered_years(filed, date(2040, 12, 5)) == [2040]
    assert cal.uncovered_years(none, date(2025, 12, 5)) == []  # the package has 2025 and 2026


def test_a_process_warns_at_start_of_the_years_it_lacks(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cal, "_warned_years", set())
    with caplog.at_level(logging.WARNING, logger="casework.calendar"):
        assert cal.warn_uncovered_years(CalendarOverrides(), date(2040, 12, 5)) == [2040, 2041]
        WorkingCalendar().add_working_days(datetime(2041, 1, 4, tzinfo=UTC), 3)
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and "2040" in warned[0] and "2041" in warned[1]
    assert all("CASEWORK_HOLIDAYS_FILE" in w for w in warned)  # once per year, not again


def test_the_worker_warns_of_what_its_holiday_file_leaves_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`ConfigSource.warn_uncovered_years`, as the worker and `make run` call it at start:
    the years its configuration's calendar covers are not warned of."""
    from activities.configuration import ConfigSource
    from casework.config import ProcessConfig

    monkeypatch.setattr(cal, "_warned_years", set())
    today = datetime.now(UTC).astimezone(cal.CHINA_TZ).date()
    bare = ConfigSource(ProcessConfig())
    assert bare.warn_uncovered_years() == cal.uncovered_years(CalendarOverrides(), today)
    covered = CalendarOverrides(years={y: HolidayYear() for y in (today.year, today.year + 1)})
    assert ConfigSource(ProcessConfig(calendar=covered)).warn_uncovered_years() == []
