"""The board's bar charts, drawn on the server as inline SVG (no script, nothing fetched):
per district, one group of three bars per stage — open, overdue, escalated tasks — on a
scale shared by every district on the page, so that bars compare across them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from casework.store.supervision import BoardRow

WIDTH = 520
LABEL_WIDTH = 110
VALUE_WIDTH = 36
BAR_HEIGHT = 9
BAR_GAP = 2
GROUP_GAP = 12
TOP = 8

SERIES = (("open", "bar-open"), ("overdue", "bar-overdue"), ("escalated", "bar-escalated"))


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    css: str
    value: int
    value_x: int
    title: str


@dataclass(frozen=True)
class Label:
    x: int
    y: int
    text: str


@dataclass
class Chart:
    district: str
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    axis_x: int = LABEL_WIDTH


def board_charts(
    rows: Sequence[BoardRow],
    stage_label: Callable[[str], str],
    series_label: Callable[[str], str],
) -> list[Chart]:
    """One chart per district (queue) in the order of `rows`."""
    biggest = max((r.open for r in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    charts: dict[str, Chart] = {}
    group = len(SERIES) * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP
    for row in rows:
        chart = charts.get(row.district)
        if chart is None:
            chart = charts[row.district] = Chart(row.district, WIDTH, TOP)
        top = chart.height
        chart.labels.append(Label(LABEL_WIDTH - 8, top + group // 2, stage_label(row.stage)))
        for i, (name, css) in enumerate(SERIES):
            value = int(getattr(row, name))
            # A bar of 0 stays visible as a hairline, so that "none" reads as a value.
            length = max(round(span * value / biggest), 1 if value == 0 else 2)
            y = top + i * (BAR_HEIGHT + BAR_GAP)
            chart.bars.append(
                Bar(
                    x=LABEL_WIDTH,
                    y=y,
                    width=length,
                    height=BAR_HEIGHT,
                    css=css,
                    value=value,
                    value_x=LABEL_WIDTH + length + 4,
                    title=f"{stage_label(row.stage)} · {series_label(name)}: {value}",
                )
            )
        chart.height = top + group
    for chart in charts.values():
        chart.height += TOP
    return list(charts.values())
