"""Free text people type (names, reasons, comments): what it may not contain.

Control characters (C0 but line breaks and tabs where a text may have them, DEL, C1)
can rewrite a terminal that prints the case history. Bidirectional formatting
characters (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) make text display in
another order than it is stored, so a comment in the audit trail could read otherwise
than it was written. Chinese and English case work needs neither.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)


def forbidden_character(text: str, *, line_breaks: bool) -> str | None:
    """A description of the first character `text` may not contain, or None."""
    for i, c in enumerate(text):
        code = ord(c)
        if line_breaks and c in "\n\t":
            continue
        if code < 32 or 127 <= code < 160 or c in BIDI_CONTROLS:
            name = unicodedata.name(c, "control character")
            return f"U+{code:04X} {name} at position {i + 1}"
    return None


def check_text(text: str, *, line_breaks: bool) -> str:
    """`text`, or ValueError naming what it may not contain (for pydantic validators)."""
    found = forbidden_character(text, line_breaks=line_breaks)
    if found is not None:
        raise ValueError(
            f"不能包含控制字符或双向文本控制符 (control or bidirectional formatting "
            f"characters are not allowed): {found}"
        )
    return text
