"""How values read on the pages: money in yuan, times in Beijing time."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.domain.calendar import CHINA_TZ


def yuan(fen: int | None) -> str:
    """Fen as yuan with two decimals: 300000 is 3,000.00."""
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def local_time(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def local_date(value: datetime | None) -> str:
    """A deadline is the end of a working day (24:00): show that day, not the next."""
    if value is None:
        return "-"
    return (value - timedelta(microseconds=1)).astimezone(CHINA_TZ).strftime("%Y-%m-%d")


def deadline(value: datetime | None) -> str:
    """A deadline: the day it ends when it is the end of a day (every limit in working
    days), the day and time otherwise (limits in seconds, demo stacks)."""
    if value is None:
        return "-"
    local = value.astimezone(CHINA_TZ)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local_date(value)
    return local.strftime("%Y-%m-%d %H:%M")


def at_value(value: datetime | None) -> str:
    """A moment as a `datetime-local` input holds it, Beijing time."""
    return "" if value is None else value.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")


def parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
