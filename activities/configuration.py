"""`process_config`: the time limits and thresholds in force on this worker."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from casework.config import ProcessConfig
from casework.domain.contracts import PROCESS_CONFIG


class ConfigSource:
    def __init__(self, config: ProcessConfig) -> None:
        self.config = config

    @activity.defn(name=PROCESS_CONFIG)
    def process_config(self, case_type: str) -> Any:
        """The configuration of one process, as the workflow records it at opening."""
        section = getattr(self.config, case_type, None)
        if section is None:
            raise ValueError(f"no configuration for case type {case_type!r}")
        return section
