"""Refusals: an action the rules do not allow, with a stable code and the field at fault.

Its own module so that the rules of the case layer (`casework.domain.case`) and the
clocks beside them (`casework.domain.deadlines`) can both raise it without importing
each other; `casework.domain.case` re-exports both names.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError


class Refused(Exception):
    """An action the rules do not allow. `code` is stable; `message` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Commented(Protocol):
    @property
    def comment(self) -> str | None: ...


def require_comment(req: Commented, what: str) -> str:
    comment = (req.comment or "").strip()
    if not comment:
        raise Refused(
            "comment_required", f"{what}必须填写意见/原因 (comment is required)", "comment"
        )
    return comment


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, Any], code: str, what: str) -> M:
    """`data` as `model`, or Refused(`code`) naming the fields: `what` is "zh (en)"."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Refused(
            code,
            f"{what}: {problems(exc, 'data')}",
            first_field(exc, "data"),
        ) from exc


def first_field(exc: ValidationError, prefix: str) -> str:
    """The field at fault when there is one (`data.visitors`), else `prefix`."""
    errors = exc.errors()
    if len(errors) != 1 or not errors[0]["loc"]:
        return prefix
    return ".".join([prefix, *(str(p) for p in errors[0]["loc"])])


def problems(exc: ValidationError, prefix: str) -> str:
    """`field data.x: what is wrong` per problem, without echoing the input (a pydantic
    message repeats the values, which may be long or hold control characters)."""

    def part(p: str | int) -> str:
        text = str(p)
        return text if text.isprintable() and len(text) <= 40 else ascii(text[:40])

    return "; ".join(
        f"field {'.'.join([prefix, *(part(p) for p in e['loc'])])}: {e['msg']}"
        for e in exc.errors()[:10]
    )
