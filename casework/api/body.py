"""Request bodies the API takes: strict JSON in UTF-8, small and shallow.

Python's json module, which FastAPI uses, accepts what no JSON client should send and
what casework cannot keep: `NaN` and `Infinity` (and 1e999, which it reads as infinity),
duplicate keys (the last one silently wins), escapes for lone surrogates ("\\ud800",
which no UTF-8 store or Temporal payload can hold), bytes that are not UTF-8 (read as
such surrogates), integers of thousands of digits, and nesting until the interpreter's
recursion limit. Each used to end in a 500 (or, for nesting, in the case's workflow
task). Here each is a 400 naming the field, before anything is read or written:

- at most `MAX_BODY_BYTES` (413 beyond, without reading the rest);
- UTF-8 (a byte-order mark is fine);
- at most `MAX_DEPTH` levels of arrays and objects, checked before parsing;
- numbers as JSON means them: `3.0` is the integer 3;
- no NaN, Infinity, numbers out of range, integers longer than `MAX_INT_DIGITS`,
  duplicate keys, lone surrogates or NUL characters (in keys or strings: PostgreSQL
  cannot store U+0000 in text, and an action's data is recorded as it came).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from casework.api.errors import problem, shown

MAX_BODY_BYTES = 256_000
"""An application or an action is a few kilobytes (an action's data at most 64 KB)."""
MAX_DEPTH = 20
"""Levels of arrays and objects, the body itself the first (the documents need four)."""
MAX_INT_DIGITS = 30

_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:,]')


class _Invalid:
    """What the parser put where the document holds something it may not."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.message = message
        self.key = key


def _constant(name: str) -> _Invalid:
    return _Invalid(f"{name} 不是合法的 JSON 值 ({name} is not a JSON value)")


def _float(text: str) -> int | float | _Invalid:
    """A number written with a fraction or exponent. `3.0` and `3e2` are the integers 3 and
    300, as JSON and JSON Schema count (`"type": "integer"` admits 3.0): they reach the
    models as ints, so that a value the schema calls an integer is taken as one (the
    application's counts and amounts are strict ints)."""
    value = float(text)
    if not math.isfinite(value):
        return _Invalid("数值超出范围 (number out of range)")
    if value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


def _int(text: str) -> int | _Invalid:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Invalid(f"整数过长 (integer longer than {MAX_INT_DIGITS} digits)")
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Invalid:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            return _Invalid(f"重复的键 (duplicate key) {shown(key, 40)}", key)
        result[key] = value
    return result


def field_path(parts: list[str | int] | tuple[str | int, ...]) -> str | None:
    """`applicant.name`, `data.visitors.0`; None for the body itself."""
    if not parts:
        return None
    return ".".join(str(p) if isinstance(p, int) else shown(p, 40) for p in parts[:8])


def _too_deep(text: str) -> list[str | int] | None:
    """The path to the first array or object nested deeper than MAX_DEPTH, or None:
    found by scanning the tokens, before the parser recurses into them."""
    stack: list[list[Any]] = []  # [key or index, is_object]
    last_string = ""
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token in "{[":
            if len(stack) >= MAX_DEPTH:
                return [entry[0] for entry in stack if entry[0] is not None][:3]
            stack.append([None if token == "{" else 0, token == "{"])
        elif token in "}]":
            if stack:
                stack.pop()
        elif token == ":":
            if stack and stack[-1][1]:
                try:
                    stack[-1][0] = json.loads(last_string)
                except ValueError:
                    stack[-1][0] = last_string[1:-1]
        elif token == ",":
            if stack and not stack[-1][1]:
                stack[-1][0] += 1
        else:
            last_string = token
    return None


def _unstorable(text: str) -> int | None:
    """Where `text` holds a lone surrogate or NUL, or None."""
    if text.isascii():
        return text.find("\x00") if "\x00" in text else None
    for i, c in enumerate(text):
        if c == "\x00" or 0xD800 <= ord(c) <= 0xDFFF:
            return i
    return None


def loads(raw: bytes) -> Any:
    """The JSON document in `raw`, or HTTPException 400 naming the field and the problem."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    not_utf8: int | None = None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        not_utf8 = e.start
        text = raw.decode("utf-8", "surrogateescape")  # each bad byte a lone surrogate
    deep = _too_deep(text)
    if deep is not None:
        raise problem(
            400,
            "too_deep",
            f"嵌套过深 (nested more than {MAX_DEPTH} levels deep)",
            field_path(deep),
        )
    try:
        document = json.loads(
            text,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as e:
        if not_utf8 is not None:
            raise _not_utf8(not_utf8, None) from None
        raise problem(
            400,
            "invalid_json",
            f"不是合法的 JSON (not valid JSON): {e.msg} (line {e.lineno}, column {e.colno})",
        ) from None
    except (ValueError, RecursionError) as e:  # whatever else the parser gives up on
        raise problem(400, "invalid_json", f"不是合法的 JSON (not valid JSON): {e}") from None
    _check(document, not_utf8)
    return document


def _not_utf8(at: int, field: str | None) -> Exception:
    return problem(
        400,
        "not_utf8",
        f"不是 UTF-8 编码 (not valid UTF-8: byte {at} of the body)",
        field,
    )


def _check(document: Any, not_utf8: int | None) -> None:
    """Walk the parsed document (without recursion) for what the parser marked, lone
    surrogates and NUL characters."""
    todo: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while todo:
        value, path = todo.pop()
        if isinstance(value, _Invalid):
            where = (*path, value.key) if value.key is not None else path
            raise problem(400, "invalid_json", value.message, field_path(where))
        if isinstance(value, str):
            strings = [(value, path)]
        elif isinstance(value, dict):
            strings = [(key, (*path, key)) for key in value]
            todo.extend((v, (*path, k)) for k, v in value.items())
        elif isinstance(value, list):
            strings = []
            todo.extend((v, (*path, i)) for i, v in enumerate(value))
        else:
            continue
        for text, where in strings:
            at = _unstorable(text)
            if at is None:
                continue
            if text[at] == "\x00":
                raise problem(
                    400,
                    "nul_character",
                    f"不能包含 NUL 字符 (U+0000 at position {at + 1} cannot be stored)",
                    field_path(where),
                )
            if not_utf8 is not None:
                raise _not_utf8(not_utf8, field_path(where))
            raise problem(
                400,
                "lone_surrogate",
                f"含有孤立的代理项 (lone surrogate U+{ord(text[at]):04X} at position {at + 1}: "
                "not a character)",
                field_path(where),
            )


class StrictJSONRequest(Request):
    """A request whose body is read at most to MAX_BODY_BYTES and parsed by `loads`."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                raise _too_large()
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _too_large()
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


def _too_large() -> Exception:
    return problem(413, "too_large", f"请求体过大 (body too large: at most {MAX_BODY_BYTES} bytes)")


class StrictJSONRoute(APIRoute):
    """The API's routes: their bodies go through StrictJSONRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
