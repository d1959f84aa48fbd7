"""Every process casework runs, by case type."""

from __future__ import annotations

from casework.domain.case import Process
from casework.domain.hardship import CASE_TYPE as HARDSHIP
from casework.domain.hardship import HardshipConfig, HardshipProcess

PROCESSES: dict[str, Process] = {HARDSHIP: HardshipProcess(HardshipConfig())}
"""Stage and role rules per case type (time limits come from each case's own config)."""
