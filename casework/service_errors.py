"""What `CaseService` (casework.service) raises, in a module of their own: the command
line catches them in every command, and importing them must not import the Temporal
client (casework.service), which commands that only read the store never need."""

from __future__ import annotations


class ActionRefused(Exception):
    """The rules refused what was asked; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class CaseNotFound(LookupError):
    pass


class ActionPending(Exception):
    """The action (or opening) was sent but its outcome did not come back in time (the
    case's worker or its database is slow or away; it is retried there until it is
    recorded). Sending it again with the same idempotency key applies it at most once
    and returns the outcome."""

    def __init__(self, case_id: str, key: str, waited: float) -> None:
        super().__init__(
            f"{case_id}: 已提交，{waited:g} 秒内未得到结果 (sent; no outcome within {waited:g}s: "
            "the worker or its database is slow or unreachable)"
        )
        self.case_id = case_id
        self.key = key
        self.waited = waited
