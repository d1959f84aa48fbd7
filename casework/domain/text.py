"""Free text people type (names, reasons, comments): what it may not contain.

Control characters (C0 but line breaks and tabs where a text may have them, DEL, C1)
can rewrite a terminal that prints the case history. Bidirectional formatting
characters (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) make text display in
another order than it is stored, so a comment in the audit trail could read otherwise
than it was written. Invisible characters (zero-width space, joiners, word joiner,
byte-order mark) make two names that look the same differ, and the line and paragraph
separators U+2028/U+2029 break a line on some screens and not on others. Surrogates
(U+D800–U+DFFF) are no characters at all: a lone one comes from invalid UTF-8 or a
broken JSON escape and cannot be stored. Chinese and English case work needs none.

`text_pattern` states the same rule as a JSON-schema pattern, for the API's schema.
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u2028\u2029")
"""Zero-width space, non-joiner, joiner, word joiner, byte-order mark (zero-width
no-break space), line separator, paragraph separator."""

_NAMES = {
    **{c: unicodedata.name(c) for c in BIDI_CONTROLS | INVISIBLE},
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE (BYTE ORDER MARK)",
}


def forbidden_character(text: str, *, line_breaks: bool) -> str | None:
    """A description of the first character `text` may not contain, or None."""
    for i, c in enumerate(text):
        code = ord(c)
        if line_breaks and c in "\n\t":
            continue
        if code < 32 or 127 <= code < 160:
            name = unicodedata.name(c, "control character")
        elif c in BIDI_CONTROLS or c in INVISIBLE:
            name = _NAMES[c]
        elif 0xD800 <= code <= 0xDFFF:
            name = "surrogate (invalid UTF-8 or a broken \\u escape)"
        else:
            continue
        return f"U+{code:04X} {name} at position {i + 1}"
    return None


def check_text(text: str, *, line_breaks: bool) -> str:
    """`text`, or ValueError naming what it may not contain (for pydantic validators)."""
    found = forbidden_character(text, line_breaks=line_breaks)
    if found is not None:
        raise ValueError(
            f"不能包含控制字符、双向文本控制符或不可见字符 (control, bidirectional formatting "
            f"or invisible characters are not allowed): {found}"
        )
    return text


# What pydantic's str_strip_whitespace strips around a text (Unicode White_Space), as
# ranges of code points, for `text_pattern`.
_WHITESPACE = (
    (0x09, 0x0D),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)


def _ranges(ranges: list[tuple[int, int]]) -> str:
    """A character class body for `ranges` of code points, adjoining ones merged."""
    merged: list[list[int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in merged)


def _forbidden_ranges(line_breaks: bool) -> list[tuple[int, int]]:
    """The forbidden characters but surrogates: a pattern may not name those (Rust's and
    JavaScript's regex engines refuse it, and a validator built on them then drops the
    whole pattern), and no text that holds one reaches a field anyway: the API refuses
    it as a malformed body, a file reader as invalid UTF-8."""
    c0 = [(0x00, 0x08), (0x0B, 0x1F)] if line_breaks else [(0x00, 0x1F)]
    single = [(ord(c), ord(c)) for c in BIDI_CONTROLS | INVISIBLE]
    return [*c0, (0x7F, 0x9F), *single]


def text_pattern(*, line_breaks: bool) -> str:
    """A JSON-schema pattern matching the texts `check_text` accepts that still hold a
    character once the whitespace around them is stripped: what a required text field
    of the API (pydantic's str_strip_whitespace, then check_text) accepts, surrogates
    aside (`_forbidden_ranges`). Written with
    \\u escapes only, so it reads the same in ECMA-262 (Unicode mode) and Python; the
    leading run is whitespace only, so a match never backtracks."""
    bad = _forbidden_ranges(line_breaks)
    spaces = [
        (c, c)
        for a, b in _WHITESPACE
        for c in range(a, b + 1)
        if not any(x <= c <= y for x, y in bad)
    ]
    return f"^[{_ranges(spaces)}]*[^{_ranges([*bad, *_WHITESPACE])}][^{_ranges(bad)}]*$"


def free_text_pattern(*, line_breaks: bool) -> str:
    """A JSON-schema pattern matching the texts `check_text` accepts, blank ones too (for
    optional text such as a comment), surrogates aside (`_forbidden_ranges`)."""
    return f"^[^{_ranges(_forbidden_ranges(line_breaks))}]*$"
