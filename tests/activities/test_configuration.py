"""The worker re-reads its configuration file when an administrator changes it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from activities.configuration import ConfigSource
from casework.config import ConfigError
from casework.domain.hardship import Period, Stage


def write(path: Path, text: str, bump: int) -> None:
    path.write_text(text, encoding="utf-8")
    # A second edit within the file system's timestamp resolution must still be seen.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "casework.toml"
    write(path, "[hardship.limits.home_visit]\nworking_days = 7\n", 0)
    source = ConfigSource.from_files(path, None)
    assert source.process_config("hardship").limits[Stage.HOME_VISIT] == Period(working_days=7)

    write(path, "[hardship.limits.home_visit]\nworking_days = 9\n", 1)
    hardship = source.process_config("hardship")
    assert hardship.limits[Stage.HOME_VISIT] == Period(working_days=9)
    assert hardship.limits[Stage.GRASSROOTS_REVIEW] == Period(working_days=5)  # default kept


def test_a_broken_edit_keeps_the_last_good_configuration(tmp_path: Path) -> None:
    path = tmp_path / "casework.toml"
    write(path, "[hardship.limits.home_visit]\nworking_days = 7\n", 0)
    source = ConfigSource.from_files(path, None)
    write(path, "[hardship.limits.home_visit]\nworking_days = -1\n", 1)
    with capture_logs() as logs:
        kept = source.process_config("hardship")
    assert kept.limits[Stage.HOME_VISIT] == Period(working_days=7)
    [entry] = logs
    assert entry["log_level"] == "error"
    assert "hardship.limits.home_visit.working_days" in entry["error"]

    write(path, "[hardship.limits.home_visit]\nworking_days = 6\n", 2)  # fixed again
    assert source.process_config("hardship").limits[Stage.HOME_VISIT] == Period(working_days=6)


def test_a_holiday_file_added_later_is_picked_up(tmp_path: Path) -> None:
    holidays = tmp_path / "holidays.toml"
    write(holidays, '[2027]\nholidays = ["2027-01-01"]\nworkdays = []\n', 0)
    source = ConfigSource.from_files(None, holidays)
    assert set(source.process_config("hardship").calendar.years) == {2027}
    write(holidays, holidays.read_text() + '[2028]\nholidays = ["2028-01-01"]\nworkdays = []\n', 1)
    assert set(source.process_config("hardship").calendar.years) == {2027, 2028}


def test_a_missing_file_at_start_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere.toml"):
        ConfigSource.from_files(tmp_path / "nowhere.toml", None)
