"""Reading what a browser sends: the form body, strictly, and the numbers, dates and JSON
typed into it. Every parser returns a value or the key of a message in
`casework.web.i18n.TEXT` (never raises for bad input, never echoes it)."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request

from casework.domain.calendar import CHINA_TZ

MAX_FORM_BYTES = 256_000
"""A form of ours is a few kilobytes; the action data within it at most 64 KB."""
MAX_FIELDS = 100
MAX_JSON_BYTES = 64_000
MAX_JSON_DEPTH = 20


class BadForm(Exception):
    """The body is not a form we can read (not UTF-8, too large): 400/413, nothing done.
    `key`: the message in i18n.TEXT."""

    def __init__(self, status: int, key: str) -> None:
        super().__init__(key)
        self.status = status
        self.key = key


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a POSTed form, decoded strictly as UTF-8: a body that is not (which
    Starlette would turn into U+FFFD or Latin-1 and store) is refused whole. Neither
    urlencoded nor multipart: no fields (the CSRF check then refuses it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise BadForm(413, "too_large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm(413, "too_large")
    request._body = body  # noqa: SLF001 - so that request.form() can read it again
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
                max_num_fields=MAX_FIELDS,
            )
        except UnicodeDecodeError:
            raise BadForm(400, "bad_encoding") from None
        except ValueError:
            raise BadForm(413, "too_large") from None
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        return fields
    if kind == "multipart/form-data":
        # Our forms have no file fields, so the whole body is text.
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadForm(400, "bad_encoding") from None
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        fields = {}
        for key, item in form.multi_items():
            if isinstance(item, UploadFile):
                raise BadForm(400, "bad_request")
            fields.setdefault(key, item)
        return fields
    return {}


def _normal(raw: str) -> str:
    """Full-width digits and signs as ASCII (３０００ is 3000), spaces trimmed."""
    return unicodedata.normalize("NFKC", raw).strip()


_YUAN = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?")


def parse_yuan(raw: str, *, maximum_fen: int = 10**10) -> tuple[int | None, str | None]:
    """A sum of money typed in yuan ("3000", "3,000.50") as fen, or a message key.
    Refused: anything but digits with at most two decimals (abc, 1e3, Infinity, NaN,
    -0, an empty field)."""
    text = _normal(raw)
    if not text:
        return None, "required"
    if text[0] in "-−":
        return None, "negative"
    match = _YUAN.fullmatch(text)
    if match is None:
        return None, "bad_yuan"
    decimals = match.group(1)
    if decimals is not None and len(decimals) > 2:
        return None, "two_decimals"
    whole, _, cents = text.replace(",", "").partition(".")
    if len(whole) > 12:
        return None, "too_big"
    fen = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    if fen > maximum_fen:
        return None, "too_big"
    return fen, None


def parse_whole(
    raw: str, *, bad: str = "bad_whole", max_digits: int = 6
) -> tuple[int | None, str | None]:
    """A whole number ("3") of at most `max_digits` digits, or a message key (`bad` for
    anything else)."""
    text = _normal(raw)
    if not text:
        return None, "required"
    if text[0] in "-−" and text[1:].isdigit():
        return None, "negative"
    if not (text.isascii() and text.isdigit()) or len(text) > max_digits:
        return None, bad
    return int(text), None


def parse_date(raw: str) -> tuple[str | None, str | None]:
    """A calendar day YYYY-MM-DD (as the domain takes it), or a message key."""
    text = _normal(raw)
    if not text:
        return None, "required"
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None, "bad_date"
    return day.isoformat(), None


def parse_at(raw: str, now: datetime) -> tuple[datetime | None, str | None]:
    """`at` of the supervisors' pages, as the CLI's `--at`: YYYY-MM-DD or
    YYYY-MM-DDTHH:MM, Beijing time (empty: None). Within five years back and one ahead:
    the working-day tables grow with the span asked about."""
    text = _normal(raw)
    if not text:
        return None, None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?", text):
        return None, "bad_at"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None, "bad_at"
    moment = moment.replace(tzinfo=CHINA_TZ).astimezone(UTC)
    if not now - timedelta(days=5 * 366) <= moment <= now + timedelta(days=366):
        return None, "at_range"
    return moment, None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def parse_json_object(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """Strict JSON (no NaN, Infinity or numbers beyond a float, no duplicate keys, at
    most 20 levels, 64 KB) holding an object; or a message key."""
    if len(raw.encode()) > MAX_JSON_BYTES:
        return None, "json_too_large"
    try:
        value = json.loads(
            raw,
            parse_constant=_reject_constant,
            parse_float=_finite,
            object_pairs_hook=_no_duplicates,
        )
    except (ValueError, RecursionError):
        return None, "bad_json"
    if not isinstance(value, dict) or _depth(value) > MAX_JSON_DEPTH:
        return None, "bad_json"
    return value, None
