"""Tables for the command line at any terminal width (80 columns included).

Every listing command prints through `listing`, every key-value sheet through `sheet`:
ids and case numbers (`Col(key=True)`) are never cut or broken across lines, other
columns wrap at word boundaries, and a table whose words do not fit the terminal even
wrapped is folded into one block per row (its id as the heading, then a line per
column). A long listing (over `PLAIN_OVER` rows) whose cells fit unwrapped is plain
aligned text instead of a table. An empty listing prints only its "nothing here" line, not an empty frame.
Human-facing times are Beijing time (`beijing`); `--json` keeps ISO 8601 with offset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from casework.domain.calendar import CHINA_TZ

JUSTIFY = ("left", "right", "center")


@dataclass(frozen=True)
class Col:
    """A column of a listing: its header ("中文 English"), whether it holds an id (a
    case number, a user id: printed whole, on one line), its alignment, and whether it
    heads a row's block."""

    header: str
    key: bool = False
    justify: str = "left"
    head: bool = False
    """Printed as the block's heading when the table is folded into blocks (default: the
    first key column)."""


def beijing(moment: datetime | None, seconds: bool = False) -> str:
    """A time as people here read it: Beijing time, `YYYY-MM-DD HH:MM[:SS]`."""
    if moment is None:
        return "-"
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else ""))


def beijing_day(due_at: datetime | None) -> str:
    """A deadline is the end of a working day (24:00 Beijing time): show that day."""
    if due_at is None:
        return "-"
    return (due_at - timedelta(microseconds=1)).astimezone(CHINA_TZ).strftime("%Y-%m-%d")


_BREAK = re.compile(r"\s+|(?<=[\u2e80-\u9fff\uff00-\uffef])|(?=[\u2e80-\u9fff\uff00-\uffef])")
"""Where a line may break: at spaces, and before or after any Chinese character (as
Chinese text breaks); Latin words, numbers, ids and dates stay whole."""


def _plain(text: str) -> str:
    return Text.from_markup(text).plain


def _narrowest(text: str, whole: bool) -> int:
    """The narrowest a cell can be without breaking a word (its full width if `whole`)."""
    pieces = _plain(text).splitlines() if whole else _BREAK.split(_plain(text))
    return max((cell_len(p) for p in pieces if p), default=0)


def _natural(text: str) -> int:
    return max((cell_len(line) for line in _plain(text).splitlines()), default=0)


def column_widths(
    columns: Sequence[Col], rows: Sequence[Sequence[str]], width: int
) -> list[int] | None:
    """Each column's width for a table `width` columns wide: as wide as its content
    where there is room, the widest narrowed first but never below its longest word (an
    id: never below the id); None if even that does not fit."""
    available = width - (3 * len(columns) + 1)  # padding and borders
    floor, widths = [], []
    for n, col in enumerate(columns):
        cells = [r[n] for r in rows]
        floor.append(max(_narrowest(col.header, False), *(_narrowest(c, col.key) for c in cells)))
        widths.append(max(_natural(col.header), *(_natural(c) for c in cells)))
    if sum(floor) > available:
        return None
    while sum(widths) > available:
        n = max((n for n in range(len(columns)) if widths[n] > floor[n]), key=lambda n: widths[n])
        widths[n] -= 1
    return widths


def _table(
    columns: Sequence[Col],
    rows: Sequence[Sequence[str]],
    widths: Sequence[int],
    title: str | None,
    total: Sequence[str] | None,
) -> Table:
    table = Table(title=title)
    for col, width in zip(columns, widths, strict=True):
        table.add_column(
            col.header,
            no_wrap=col.key,
            width=width,
            overflow="fold",  # never an ellipsis: a Chinese run longer than the column folds
            justify=col.justify,  # type: ignore[arg-type]
        )
    for row in rows:
        table.add_row(*row)
    if total is not None:
        table.add_section()
        table.add_row(*total)
    return table


PLAIN_OVER = 100
"""A listing of more rows than this whose cells all fit the terminal unwrapped is
printed as plain aligned text (`_plain_listing`): Rich's table layout takes about half a
millisecond a row, nearly half a second for a thousand (BENCHMARKS.md, campaign)."""
GAP = "  "


def _pad(text: str, width: int, justify: str) -> str:
    room = " " * (width - cell_len(text))
    return room + text if justify == "right" else text + room


def _plain_listing(
    console: Console,
    columns: Sequence[Col],
    rows: Sequence[Sequence[str]],
    title: str | None,
    total: Sequence[str] | None,
) -> bool:
    """Print the listing as aligned lines (a header, a rule, the rows, the total below a
    rule) if every cell fits on one line at the terminal's width; False if not. Ids are
    never cut: nothing is."""
    plain = [[_plain(c) if "[" in c else c for c in row] for row in rows]
    foot = [_plain(c) for c in total] if total is not None else None
    heads = [_plain(c.header) for c in columns]
    every = [heads, *plain, *([foot] if foot else [])]
    if any("\n" in c for row in every for c in row):
        return False
    widths = [max(cell_len(row[n]) for row in every) for n in range(len(columns))]
    line_width = sum(widths) + len(GAP) * (len(columns) - 1)
    if line_width > console.width:
        return False

    def line(cells: Sequence[str]) -> str:
        return GAP.join(
            _pad(c, w, col.justify) for c, w, col in zip(cells, widths, columns, strict=True)
        ).rstrip()

    rule = "─" * line_width
    lines = [*([title] if title else []), line(heads), rule, *(line(r) for r in plain)]
    if foot is not None:
        lines += [rule, line(foot)]
    console.out("\n".join(lines), highlight=False)
    return True


def listing(
    console: Console,
    columns: Sequence[Col],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    empty: str | None = None,
    total: Sequence[str] | None = None,
) -> None:
    """Print rows (Rich markup allowed in cells) as a table, or, where the table does
    not fit the terminal, as one block per row; only `empty` when there are none."""
    if not rows:
        if empty:
            console.print(empty)
        return
    if len(rows) > PLAIN_OVER and _plain_listing(console, columns, rows, title, total):
        return
    widths = column_widths(columns, [*rows, *([total] if total else [])], console.width)
    if widths is not None:
        console.print(_table(columns, rows, widths, title, total))
        return
    if title:
        console.print(f"[bold]{title}[/]")
    heads = [n for n, c in enumerate(columns) if c.head] or [
        next((n for n, c in enumerate(columns) if c.key), 0)
    ]
    for row in [*rows, *([total] if total is not None else [])]:
        block = Table(show_header=False, box=None, padding=(0, 1, 0, 2))
        block.add_column(no_wrap=True)
        block.add_column(overflow="fold")
        for n, col in enumerate(columns):
            if n not in heads and row[n]:
                block.add_row(col.header, row[n])
        console.print("[bold]" + " · ".join(row[n] for n in heads if row[n]) + "[/]")
        console.print(block)


class Rows:
    """Label-value rows gathered for `sheet`, added as to a Rich table."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add_row(self, label: str, value: str) -> None:
        self.rows.append((label, value))


def sheet(console: Console, rows: Sequence[tuple[str, str]], *, title: str | None = None) -> None:
    """Label-value lines (`case show`): labels on one line, values wrapped, never cut."""
    table = Table(show_header=False, box=None, title=title)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
