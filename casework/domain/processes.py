"""Every process casework runs, by case type (from the registry)."""

from __future__ import annotations

from casework.domain.case import Process
from casework.domain.registry import CASE_TYPES

PROCESSES: dict[str, Process] = {name: t.new_process() for name, t in CASE_TYPES.items()}
"""Stage and role rules per case type (time limits come from each case's own config)."""
