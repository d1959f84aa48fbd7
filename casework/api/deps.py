"""Dependencies: the store engine, the case service, and the signed-in user.

The API takes a personal access token (`Authorization: Bearer cw_…`, see `casework
tokens create`), the browser's session cookie (with its CSRF token in `X-CSRF-Token`
on anything but a read), or the user named by a trusted reverse proxy (single sign-on,
CASEWORK_TRUSTED_PROXIES). A request with none of them gets 401."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from casework.api.errors import problem
from casework.auth.edge import EdgeAuth, check_csrf
from casework.domain.org import Role
from casework.service import CaseService
from casework.store.directory import User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="cw_<id>_<secret>",
    description="A personal access token from `casework tokens create`.",
)


def get_engine(request: Request) -> Any:
    return request.app.state.engine


def get_auth(request: Request) -> EdgeAuth:
    return request.app.state.auth  # type: ignore[no-any-return]


def get_service(request: Request) -> CaseService:
    service: CaseService | None = request.app.state.service
    if service is None:
        raise problem(503, "temporal_unavailable", "Temporal 不可用 (Temporal unavailable)")
    return service


def act_wait(request: Request) -> float:
    """How long an action or opening waits for its outcome before answering 503 with the
    idempotency key to send again (CASEWORK_ACT_WAIT_SECONDS)."""
    return request.app.state.act_wait  # type: ignore[no-any-return]


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def current_user(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    auth = get_auth(request)
    by_token = auth.from_token(request)
    if by_token is False:
        raise unauthorized("令牌无效、已过期或已撤销 (token invalid, expired or revoked)")
    if isinstance(by_token, User):
        return by_token
    proxied = auth.from_proxy(request)
    if proxied is not None:
        return proxied
    found = auth.from_session(request)
    if found is not None:
        user, session = found
        if request.method not in SAFE_METHODS and not (
            auth.same_origin(request) and check_csrf(session, request.headers.get(CSRF_HEADER))
        ):
            raise problem(403, "csrf_failed", "CSRF 校验失败 (CSRF check failed)", CSRF_HEADER)
        return user
    raise unauthorized("请登录：需要令牌 (sign-in required: Authorization: Bearer <token>)")


def staff_directory_reader(user: Annotated[User, Depends(current_user)]) -> User:
    """Who may list every user: administrators and supervisors."""
    if not ({Role.ADMIN, Role.SUPERVISOR} & set(user.roles)):
        raise problem(
            403, "role_not_held", "需要管理员或督办角色 (admin or supervisor role required)"
        )
    return user


EngineDep = Annotated[Any, Depends(get_engine)]
ServiceDep = Annotated[CaseService, Depends(get_service)]
CurrentUser = Annotated[User, Depends(current_user)]
DirectoryReader = Annotated[User, Depends(staff_directory_reader)]
