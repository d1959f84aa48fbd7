"""casework/cli/render.py's long listings: over PLAIN_OVER rows whose cells fit the
terminal unwrapped, plain aligned lines (ids whole, numbers right-aligned, markup shown
as text); a long listing that needs wrapping stays a table; a short one is a table."""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console

from casework.cli.render import PLAIN_OVER, Col, listing

COLUMNS = [Col("推荐 case", key=True), Col("区县"), Col("票数 votes", justify="right")]


def printed(rows: list[list[str]], width: int = 80) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    listing(console, COLUMNS, rows, title="推荐 nominations", total=["合计 total", "", "9"])
    return out.getvalue()


def test_a_long_listing_that_fits_is_plain_aligned_lines() -> None:
    rows = [[f"NM-2027-{i:06d}", "崇川区", str(i % 13)] for i in range(PLAIN_OVER + 1)]
    rows[3][1] = "[bold]通州区[/]"
    text = printed(rows)
    lines = text.splitlines()
    assert lines[0] == "推荐 nominations" and "┃" not in text and "│" not in text
    assert lines[1].split() == ["推荐", "case", "区县", "票数", "votes"]
    body = lines[3 : 3 + len(rows)]
    assert [line.split()[0] for line in body] == [r[0] for r in rows]  # every id whole
    assert body[3].split()[1] == "通州区"  # markup printed as its text
    ends = {cell_len(line) for line in body}
    assert len(ends) == 1  # right-aligned counts end in one column
    assert lines[-1].split() == ["合计", "total", "9"]
    assert all(cell_len(line) <= 80 for line in lines)


def test_a_long_listing_that_must_wrap_and_a_short_one_stay_tables() -> None:
    wide = [[f"NM-2027-{i:06d}", "崇川区" * 30, "1"] for i in range(PLAIN_OVER + 1)]
    assert "│" in printed(wide)
    short = [[f"NM-2027-{i:06d}", "崇川区", "1"] for i in range(PLAIN_OVER)]
    assert "│" in printed(short)
