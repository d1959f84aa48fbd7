"""Dependencies: the store engine, the case service and the acting user."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request

from casework.service import CaseService
from casework.store.directory import Directory, UnknownUser, User


def get_engine(request: Request) -> Any:
    return request.app.state.engine


def get_service(request: Request) -> CaseService:
    service: CaseService | None = request.app.state.service
    if service is None:
        raise HTTPException(503, "Temporal 不可用 (Temporal unavailable)")
    return service


def current_user(
    request: Request,
    x_casework_user: Annotated[str | None, Header(description="Acting user id")] = None,
) -> User:
    # Development authentication: the user id in a header. A deployment puts the
    # federation's single sign-on in front and passes the verified id here.
    if not x_casework_user:
        raise HTTPException(401, "缺少 X-Casework-User (missing X-Casework-User header)")
    try:
        return Directory(request.app.state.engine).get(x_casework_user)
    except UnknownUser as e:
        raise HTTPException(401, str(e)) from None


EngineDep = Annotated[Any, Depends(get_engine)]
ServiceDep = Annotated[CaseService, Depends(get_service)]
CurrentUser = Annotated[User, Depends(current_user)]
