"""Process configuration: time limits and thresholds an administrator may change.

`CASEWORK_CONFIG` names a TOML or JSON file; anything it leaves out keeps the defaults
of processes.md. Each case takes the configuration in force when it opens.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from casework.domain.hardship import HardshipConfig

DEMO_CONFIG = Path(__file__).parent / "demo" / "config.toml"


class ProcessConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hardship: HardshipConfig = Field(default_factory=HardshipConfig)


def load_process_config(path: Path | None) -> ProcessConfig:
    if path is None:
        return ProcessConfig()
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    return ProcessConfig.model_validate(data)
