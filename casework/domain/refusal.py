"""Refusals: an action the rules do not allow, with a stable code and the field at fault.

Its own module so that the rules of the case layer (`casework.domain.case`) and the
clocks beside them (`casework.domain.deadlines`) can both raise it without importing
each other; `casework.domain.case` re-exports both names.
"""

from __future__ import annotations

from typing import Protocol


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
