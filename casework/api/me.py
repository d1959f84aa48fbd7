"""/api/inbox and /api/users."""

from __future__ import annotations

from fastapi import APIRouter

from casework.api import examples
from casework.api.body import StrictJSONRoute
from casework.api.deps import CurrentUser, DirectoryReader, EngineDep
from casework.api.errors import responses
from casework.store.directory import Directory, User
from casework.store.queries import InboxItem, Queries

router = APIRouter(prefix="/api", tags=["people"], route_class=StrictJSONRoute)


@router.get(
    "/inbox",
    operation_id="inbox",
    summary="My inbox",
    description="Open tasks the user may act on now: their role, their jurisdiction, "
    "unclaimed or theirs, and not barred by separation of duties; earliest deadline "
    "first, at most 200.",
    responses={200: examples.inbox(), **responses(401)},
)
def inbox(user: CurrentUser, engine: EngineDep) -> list[InboxItem]:
    return Queries(engine).inbox(user)


@router.get(
    "/users",
    operation_id="users",
    summary="Users",
    description="Every user, their roles and jurisdiction: administrators and supervisors only.",
    responses={
        200: examples.users(),
        **responses(401, 403, s403="`role_not_held`: administrators and supervisors only."),
    },
)
def users(_reader: DirectoryReader, engine: EngineDep) -> list[User]:
    return Directory(engine).list()
