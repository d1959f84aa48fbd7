"""Mainland resident identity numbers (GB 11643-1999) and masking of personal data."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# ASCII digits only (`\d` would take full-width and other Unicode digits) and `\Z`, not `$`
# (which also matches before a trailing newline).
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]\Z")
_PHONE_SHAPE = re.compile(r"^1[3-9][0-9]{9}\Z")


def id_check_digit(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def id_number_problem(value: str) -> str | None:
    """Why `value` is not a valid 18-character resident ID number, or None if it is."""
    if not _ID_SHAPE.match(value):
        return "must be 18 characters: 17 digits then a digit or X"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth date (characters 7-14) is not a real date"
    if id_check_digit(value[:17]) != value[17]:
        return "check digit does not match (GB 11643)"
    return None


def phone_problem(value: str) -> str | None:
    """Why `value` is not a mainland mobile number, or None."""
    return None if _PHONE_SHAPE.match(value) else "must be an 11-digit mainland mobile number"


def mask(value: str, keep_start: int = 4, keep_end: int = 4) -> str:
    """Masked form for display and history: `3206**********1235`."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    end = len(value) - keep_end  # not value[-keep_end:], which is all of it for keep_end=0
    return value[:keep_start] + "*" * (end - keep_start) + value[end:]


def mask_phone(value: str) -> str:
    return mask(value, 3, 4)
