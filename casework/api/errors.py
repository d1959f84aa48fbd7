"""How the API answers when it does not do what was asked, and how `/docs` says so.

Every answer other than 2xx is JSON with a `detail`:

- 400 (a malformed body), 403, 409 (refused by the rules), 413 and 503: a problem
  `{"code", "message", "field"}`: `code` is stable, for programs; `message` is for
  people; `field` names the field or rule (`applicant.district`, `data.to`) or is null.
- 401 and 404: a message (`"detail": "…"`); 401 also sends `WWW-Authenticate: Bearer`.
- 422 (not valid by the schema): `[{"loc", "msg", "type"}]`, pydantic's errors without
  the input they were about: a refused megabyte does not come back, nor do the control
  characters it held. Each `msg` and `loc` part is cut short; at most 20 errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

MAX_ERRORS = 20
MAX_MESSAGE = 300
MAX_LOC_PART = 40


class Problem(BaseModel):
    code: str = Field(description="Stable, for programs.", examples=["separation_of_duties"])
    message: str = Field(description="For people (Chinese, then English).")
    field: str | None = Field(
        default=None,
        description="The field or rule that failed, as a dotted path (`applicant.district`, "
        "`data.to`), or null.",
        examples=["comment"],
    )


class ProblemResponse(BaseModel):
    detail: Problem


class MessageResponse(BaseModel):
    detail: str


class InvalidField(BaseModel):
    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field's path.",
        examples=[["body", "applicant", "id_number"]],
    )
    msg: str
    type: str = Field(examples=["value_error"])


class ValidationResponse(BaseModel):
    detail: list[InvalidField]


def problem(status: int, code: str, message: str, field: str | None = None) -> HTTPException:
    return HTTPException(status, {"code": code, "message": message, "field": field})


def shown(value: Any, limit: int) -> str:
    """`value` as it may appear in an answer: invisible characters escaped, cut short."""
    text = str(value)
    clipped = "".join(
        c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
        for c in text[:limit]
    )
    return clipped + ("…" if len(text) > limit else "")


def _loc_part(part: Any) -> str | int:
    return part if isinstance(part, int) else shown(part, MAX_LOC_PART)


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """422 with each error's place, message and type, never the input (FastAPI's default
    answer repeats every refused value, and with it whatever it held)."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    detail = [
        {
            "loc": [_loc_part(p) for p in e.get("loc", ())][:12],
            "msg": shown(e.get("msg", ""), MAX_MESSAGE),
            "type": shown(e.get("type", ""), 60),
        }
        for e in errors[:MAX_ERRORS]
    ]
    return JSONResponse(status_code=422, content={"detail": detail})


# -- what /docs says --------------------------------------------------------------------------

_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "summary": "NaN is not JSON",
        "value": {
            "detail": {
                "code": "invalid_json",
                "message": "NaN 不是合法的 JSON 值 (NaN is not a JSON value)",
                "field": "household.size",
            }
        },
    },
    401: {
        "value": {"detail": "请登录：需要令牌 (sign-in required: Authorization: Bearer <token>)"}
    },
    403: {
        "value": {
            "detail": {
                "code": "role_not_held",
                "message": "只有督办 (supervisor) 可以查看督办看板 (see the board)",
                "field": None,
            }
        }
    },
    404: {"value": {"detail": "未找到案件 (no such case): HR-2026-000123"}},
    409: {
        "value": {
            "detail": {
                "code": "separation_of_duties",
                "message": "立案人不得审批本人经办的案件 (the officer who opened the case may "
                "not approve it)",
                "field": None,
            }
        }
    },
    413: {
        "value": {
            "detail": {
                "code": "too_large",
                "message": "请求体过大 (body too large: at most 256000 bytes)",
                "field": None,
            }
        }
    },
    422: {
        "value": {
            "detail": [
                {
                    "loc": ["body", "applicant", "id_number"],
                    "msg": "Value error, 身份证号无效 (invalid ID number): check digit does "
                    "not match (GB 11643)",
                    "type": "value_error",
                }
            ]
        }
    },
    503: {
        "value": {
            "detail": {
                "code": "temporal_unavailable",
                "message": "Temporal 不可用 (Temporal unavailable)",
                "field": None,
            }
        }
    },
}

_MODELS: dict[int, type[BaseModel]] = {
    400: ProblemResponse,
    401: MessageResponse,
    403: ProblemResponse,
    404: MessageResponse,
    409: ProblemResponse,
    413: ProblemResponse,
    422: ValidationResponse,
    503: ProblemResponse,
}

_WHAT: dict[int, str] = {
    400: "Malformed body: not JSON, not UTF-8, NaN or Infinity, a duplicate key, a lone "
    "surrogate or NUL character in a string, nested more than 20 levels.",
    401: "No signed-in user: a missing, invalid, expired or revoked token.",
    403: "Not allowed: the user lacks the role, or asks outside their jurisdiction; a "
    "write with the session cookie but without its X-CSRF-Token.",
    404: "No such case, or a case outside the user's jurisdiction (the same answer).",
    409: "Refused by the rules (the case was left as it was): `code` says which.",
    413: "Body larger than 256,000 bytes.",
    422: "Not valid by the schema: `loc` names the field.",
    503: "Temporal unreachable, or the outcome not confirmed in time: send the same request "
    "again with the same idempotency key.",
}


def responses(*statuses: int, **what: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status with its model, example and meaning
    (`what`, keyed `s409=…`, says it for this route)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": _MODELS[status],
            "description": what.get(f"s{status}", _WHAT[status]),
            "content": {"application/json": {"examples": {"example": _EXAMPLES[status]}}},
        }
        if status == 401:
            entry["headers"] = {
                "WWW-Authenticate": {
                    "description": "Bearer",
                    "required": True,
                    "schema": {"type": "string"},
                }
            }
        documented[status] = entry
    return documented
