"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a
31-character alphabet (digits and capitals without I, O, S, V, Z), the last one a check
character over the first 17.

Layout: registration authority (1), organisation category (1), administrative division
(6 digits), organisation code (9), check character (1). Only the alphabet, the division
digits and the check character are verified here: the authority and category tables
change over time and a firm's record is matched against the dues file anyway.
"""

from __future__ import annotations

import random

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The code's 31 characters, in the order that gives each its value (0..30)."""
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""3^i mod 31 for the first 17 positions."""
LENGTH = 18
PATTERN = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
"""What a pattern can state of a code (its alphabet, the division's digits); the check
character it cannot: the HTTP API's schema names it by the format `FORMAT`."""
FORMAT = "gb32100-code"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def check_character(first17: str) -> str:
    """The check character of the first 17 characters (which must be in the alphabet)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Upper case, surrounding blanks removed (as people type and spreadsheets save it)."""
    return code.strip().upper()


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code (in English), or None."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}"
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        return f"characters not allowed: {''.join(bad)} (no I, O, S, V, Z, no lower case)"
    if not code[2:8].isdigit():
        return "characters 3 to 8 (the administrative division) must be digits"
    if check_character(code[:17]) != code[17]:
        return "check character does not match (a character is mistyped)"
    return None


def is_valid(code: str) -> bool:
    return credit_code_problem(code) is None


def generate(rng: random.Random, division: str = "320602") -> str:
    """A valid code of a made-up firm (demo data, benchmarks, tests): registration by the
    market regulator (9), an enterprise (1), the given division, a random organisation
    code and its check character."""
    org = "".join(rng.choice(ALPHABET) for _ in range(9))
    first17 = f"91{division}{org}"
    return first17 + check_character(first17)
