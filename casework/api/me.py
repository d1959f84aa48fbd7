"""/api/inbox and /api/users."""

from __future__ import annotations

from fastapi import APIRouter

from casework.api.deps import CurrentUser, DirectoryReader, EngineDep
from casework.store.directory import Directory, User
from casework.store.queries import InboxItem, Queries

router = APIRouter(prefix="/api", tags=["people"])


@router.get("/inbox")
def inbox(user: CurrentUser, engine: EngineDep) -> list[InboxItem]:
    return Queries(engine).inbox(user)


@router.get("/users")
def users(_reader: DirectoryReader, engine: EngineDep) -> list[User]:
    """Every user, their roles and jurisdiction: administrators and supervisors only."""
    return Directory(engine).list()
