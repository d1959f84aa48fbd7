"""Process configuration: time limits and thresholds an administrator may change.

`CASEWORK_CONFIG` names a TOML or JSON file; anything it leaves out keeps the defaults
of processes.md. `CASEWORK_HOLIDAYS_FILE` adds holidays for years the statutory
calendar package does not know yet. Each case takes the configuration in force when it
opens.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.domain.calendar import CalendarOverrides
from casework.domain.hardship import HardshipConfig

DEMO_CONFIG = Path(__file__).parent / "demo" / "config.toml"


class ProcessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hardship: HardshipConfig = Field(default_factory=HardshipConfig)


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


def load_process_config(path: Path | None, holidays: Path | None = None) -> ProcessConfig:
    config = ProcessConfig()
    if path is not None:
        try:
            config = ProcessConfig.model_validate(_read(path))
        except ValidationError as exc:
            raise ConfigError(f"{path}: {_errors(exc)}") from exc
    if holidays is not None:
        calendar = load_holidays(holidays)
        config = config.model_copy(
            update={"hardship": config.hardship.model_copy(update={"calendar": calendar})}
        )
    return config


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"field {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
    )
