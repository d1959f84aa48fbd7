"""Reading values out of recorded event payloads (JSON), typed, without trusting them."""

from __future__ import annotations

from typing import Any


def int_of(value: object) -> int | None:
    """`value` if it is an int (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def str_of(value: object) -> str | None:
    return value if isinstance(value, str) else None


def dict_of(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
