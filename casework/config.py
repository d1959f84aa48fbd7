"""Process configuration: time limits and thresholds an administrator may change.

`CASEWORK_CONFIG` names a TOML or JSON file with a section per case type (`[hardship]`,
`[legal_aid]`, as the registry names them); anything it leaves out keeps the defaults
of processes.md. The working-day calendar is the city's, not one process's: the
file's top-level `[calendar]` table or `CASEWORK_HOLIDAYS_FILE` adds holidays for years
the statutory calendar package does not know yet, for every process. Each case takes
the configuration in force when it opens.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from casework.domain.annual_review import AnnualReviewConfig
from casework.domain.calendar import CalendarOverrides
from casework.domain.refund import RefundsConfig
from casework.domain.registry import CASE_TYPES, by_config_key

DEMO_CONFIG = Path(__file__).parent / "demo" / "config.toml"


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    """The city's holidays for years the statutory calendar does not cover yet."""
    annual_review: AnnualReviewConfig = Field(default_factory=AnnualReviewConfig)
    """The annual review of the register (年度复核): its thresholds, spot-check share, seed."""
    refunds: RefundsConfig = Field(default_factory=RefundsConfig)
    """Union-dues refunds (工会经费返还): who qualifies (the size limit)."""

    @model_validator(mode="before")
    @classmethod
    def _calendar_is_city_wide(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for t in CASE_TYPES.values():
                section = data.get(t.config_key)
                if isinstance(section, dict) and "calendar" in section:
                    raise ValueError(
                        f"{t.config_key}.calendar: the working-day calendar is city-wide; "
                        "give it as the top-level [calendar] table (or CASEWORK_HOLIDAYS_FILE)"
                    )
        return data

    @model_validator(mode="after")
    def _each_process_follows_the_city_calendar(self) -> _Base:
        for t in CASE_TYPES.values():
            section = getattr(self, t.config_key)
            if getattr(section, "calendar", self.calendar) != self.calendar:
                object.__setattr__(
                    self, t.config_key, section.model_copy(update={"calendar": self.calendar})
                )
        return self

    def section(self, case_type: str) -> Any:
        """The configuration of one case type (by its name or its section's key)."""
        return getattr(self, by_config_key(case_type).config_key)


if TYPE_CHECKING:
    # Built at run time from the registry: to a type checker, any section may be there.
    ProcessConfig: TypeAlias = Any
else:
    ProcessConfig = create_model(
        "ProcessConfig",
        __base__=_Base,
        **{
            t.config_key: (t.config_model, Field(default_factory=t.config_model))
            for t in CASE_TYPES.values()
        },
    )
    """One section per registered case type (`hardship`, ...), and the city's calendar:
    `ProcessConfig(hardship=HardshipConfig(...), calendar=CalendarOverrides(...))`."""


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and field."""


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_holidays(path: Path) -> CalendarOverrides:
    """The operator's holiday file: one table per year with `holidays` and `workdays`
    (make-up working days), as TOML dates or "YYYY-MM-DD" strings."""
    data = _read(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected one table per year")
    try:
        return CalendarOverrides.model_validate({"years": data})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_errors(exc)}") from exc


def load_process_config(path: Path | None, holidays: Path | None = None) -> Any:
    """The configuration (a `ProcessConfig`) from `path`, with the holiday file's
    calendar for every process."""
    data: dict[str, Any] = {}
    if path is not None:
        read = _read(path)
        if not isinstance(read, dict):
            raise ConfigError(f"{path}: expected a table per case type")
        data = read
    if holidays is not None:
        data = {**data, "calendar": load_holidays(holidays)}
    try:
        return ProcessConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_errors(exc)}") from exc


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"field {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
    )
