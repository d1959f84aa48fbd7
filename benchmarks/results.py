"""Figures, comparisons against baselines, and targets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Target:
    """`ratio <= bound` (lower is better: latency) or `ratio >= bound` (rates)."""

    bound: float
    at_most: bool

    def met(self, ratio: float) -> bool:
        return ratio <= self.bound if self.at_most else ratio >= self.bound

    def __str__(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.bound:g}×"


@dataclass
class Comparison:
    """One row of the table: casework's figure beside its baseline's, and their ratio."""

    benchmark: str
    backend: str
    metric: str
    unit: str
    casework: float
    baseline: float
    baseline_name: str
    target: Target | None = None

    @property
    def ratio(self) -> float:
        return self.casework / self.baseline if self.baseline else math.inf

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "(info)"
        return "PASS" if self.target.met(self.ratio) else "FAIL"


@dataclass
class Section:
    """A benchmark's comparisons and the details that explain them."""

    title: str
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "/s":
        return f"{value:.1f}/s"
    if unit == "KB":
        return f"{value:.0f} KB"
    return f"{value:g} {unit}"
