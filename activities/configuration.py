"""`process_config`: the time limits and thresholds in force on this worker.

An administrator changes a limit by editing the configuration file (`CASEWORK_CONFIG`)
or the holiday file (`CASEWORK_HOLIDAYS_FILE`); the worker notices the change on the
next read, without a restart. A file that no longer parses is reported and the last
good configuration stays in force: a typo must not stop the cases.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from temporalio import activity

from casework.config import ConfigError, ProcessConfig, load_process_config
from casework.domain.calendar import CHINA_TZ, warn_uncovered_years
from casework.domain.contracts import PROCESS_CONFIG

log = structlog.get_logger("casework.config")


class ConfigSource:
    """The configuration workflows read: fixed, or from files re-read when they change."""

    def __init__(
        self,
        config: ProcessConfig | None = None,
        *,
        path: Path | None = None,
        holidays: Path | None = None,
    ) -> None:
        self._path = path
        self._holidays = holidays
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self.config = config if config is not None else load_process_config(path, holidays)

    @classmethod
    def from_files(cls, path: Path | None, holidays: Path | None) -> ConfigSource:
        return cls(path=path, holidays=holidays)

    def update(self, config: ProcessConfig) -> None:
        """Put another configuration in force (tests; an embedding application)."""
        with self._lock:
            self.config = config

    def current(self) -> ProcessConfig:
        if self._path is None and self._holidays is None:
            return self.config
        stamp = self._file_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self.config = load_process_config(self._path, self._holidays)
                    log.info("config.reloaded", file=str(self._path), holidays=str(self._holidays))
                except ConfigError as exc:
                    log.error("config.reload_failed_keeping_previous", error=str(exc))
            return self.config

    def warn_uncovered_years(self) -> list[int]:
        """At a process's start: the working-day years the calendar lacks today (this
        one, and from November the next), each warned of once
        (casework.domain.calendar.warn_uncovered_years)."""
        today = datetime.now(UTC).astimezone(CHINA_TZ).date()
        return warn_uncovered_years(self.current().calendar, today)

    def _file_stamp(self) -> tuple[tuple[int, int] | None, ...]:
        def stamp(path: Path | None) -> tuple[int, int] | None:
            if path is None:
                return None
            try:
                st = path.stat()
            except OSError:
                return None
            return (st.st_mtime_ns, st.st_size)

        return (stamp(self._path), stamp(self._holidays))

    @activity.defn(name=PROCESS_CONFIG)
    def process_config(self, case_type: str) -> Any:
        """The configuration of one process, as in force now (recorded in history)."""
        return self.current().section(case_type)
