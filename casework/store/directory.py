"""People who use casework: ids, names, roles, jurisdiction, and whether they may sign in.

The directory is the one source of who someone is: every edge (web, API, CLI) resolves
the acting user here, and the worker checks the actor an Update claims against it
before it records anything (`Directory.verify_actor`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from casework.domain.org import CITY, DISTRICTS, Actor, Role
from casework.store.fastsql import Statements
from casework.store.tables import users

USER_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
"""Lower-case letters, digits, dot, dash, underscore; 2–64 characters."""


class User(BaseModel):
    id: str
    name: str
    roles: list[Role]
    district: str
    disabled: bool = Field(default=False, description="disabled users cannot sign in or act")
    has_password: bool = Field(default=False, description="may sign in with a password")
    department: str | None = Field(
        default=None, description="the 联审 vetting department a vetting officer answers for"
    )

    def actor(self) -> Actor:
        return Actor(
            id=self.id, roles=tuple(self.roles), district=self.district, department=self.department
        )

    def covers(self, district: str) -> bool:
        """Whether `district` is inside this user's jurisdiction."""
        return self.district in (CITY, district)


_ACTOR_ROW = select(users.c.roles, users.c.district, users.c.disabled_at, users.c.department).where(
    users.c.id == bindparam("id")
)
_FAST = Statements()


class Assignee(NamedTuple):
    """A task opened already assigned: to whom, with which role, in which queue."""

    user_id: str
    role: str
    district: str


class UnknownUser(LookupError):
    pass


class UserDisabled(LookupError):
    """The user exists but has been disabled: they may not sign in or act."""


class ActorMismatch(Exception):
    """An actor that does not match the directory (unknown, disabled, or claiming roles
    or a jurisdiction the user does not hold). `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_district(district: str) -> str:
    if district != CITY and district not in DISTRICTS:
        raise ValueError(
            f"未知辖区 (unknown district) {district!r}; one of: {', '.join((*DISTRICTS, CITY))}"
        )
    return district


class Directory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.district, users.c.id)).all()
        return [self._user(r) for r in rows]

    def get(self, user_id: str) -> User:
        """The user, disabled or not (UnknownUser if there is none)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise UnknownUser(f"未知用户 (unknown user): {user_id}")
        return self._user(row)

    def active(self, user_id: str) -> User:
        """The user if they may act now: UnknownUser, or UserDisabled."""
        user = self.get(user_id)
        if user.disabled:
            raise UserDisabled(f"用户已停用 (user disabled): {user_id}")
        return user

    def password_hash(self, user_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(  # type: ignore[no-any-return]
                select(users.c.password_hash).where(users.c.id == user_id)
            ).scalar()

    # -- administration ------------------------------------------------------------------

    def add(self, user: User, password_hash: str | None = None) -> User:
        check_district(user.district)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            if conn.execute(select(users.c.id).where(users.c.id == user.id)).first():
                raise ValueError(f"用户已存在 (user exists): {user.id}")
            conn.execute(
                insert(users).values(
                    id=user.id,
                    name=user.name,
                    roles=json.dumps(sorted(set(user.roles))),
                    district=user.district,
                    department=user.department,
                    password_hash=password_hash,
                    password_changed_at=now if password_hash else None,
                )
            )
        return self.get(user.id)

    def upsert(self, people: Iterable[User]) -> None:
        """Add or update people's names, roles and districts; passwords and the
        disabled mark of existing users stay as they are."""
        people = list(people)
        with self.engine.begin() as conn:
            known = set(
                conn.execute(
                    select(users.c.id).where(users.c.id.in_([p.id for p in people]))
                ).scalars()
            )
            for p in people:
                values = {
                    "name": p.name,
                    "roles": json.dumps(p.roles),
                    "district": p.district,
                    "department": p.department,
                }
                if p.id in known:
                    conn.execute(update(users).where(users.c.id == p.id).values(**values))
                else:
                    conn.execute(insert(users).values(id=p.id, **values))

    def set_password_hash(self, user_id: str, password_hash: str | None) -> None:
        self._update(
            user_id,
            password_hash=password_hash,
            password_changed_at=datetime.now(UTC) if password_hash else None,
        )

    def set_roles(self, user_id: str, roles: Iterable[Role], district: str | None = None) -> User:
        values: dict[str, object] = {"roles": json.dumps(sorted(set(roles)))}
        if district is not None:
            values["district"] = check_district(district)
        self._update(user_id, **values)
        return self.get(user_id)

    def disable(self, user_id: str) -> None:
        self._update(user_id, disabled_at=datetime.now(UTC))

    def enable(self, user_id: str) -> None:
        self._update(user_id, disabled_at=None)

    def _update(self, user_id: str, **values: object) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(update(users).where(users.c.id == user_id).values(**values))
        if done.rowcount == 0:
            raise UnknownUser(f"未知用户 (unknown user): {user_id}")

    # -- the worker's check ----------------------------------------------------------------

    @staticmethod
    def verify_actor(conn: Connection, actor: Actor) -> None:
        """ActorMismatch unless `actor` is an enabled user of the directory who holds
        every role and the jurisdiction the actor claims. Runs on `conn` so that the
        worker can check inside the transaction that records the actor's events.

        One primary-key read. Inside a transaction (the event append) it runs on the
        driver's cursor, as the append's own statements do (`casework.store.fastsql`):
        through SQLAlchemy's execution layer it cost more than the rest of a SQLite
        append."""
        if conn.in_transaction():
            row = (
                _FAST.get(conn.dialect, "actor", lambda: _ACTOR_ROW)
                .execute(conn, {"id": actor.id})
                .fetchone()
            )
        else:
            row = conn.execute(_ACTOR_ROW, {"id": actor.id}).first()
        if row is None:
            raise ActorMismatch("unknown_actor", f"未知用户 (unknown user): {actor.id}")
        roles, district, disabled_at, department = row
        if disabled_at is not None:
            raise ActorMismatch("actor_disabled", f"用户已停用 (user disabled): {actor.id}")
        held = set(json.loads(roles))
        claimed = {r.value for r in actor.roles}
        if not claimed <= held:
            extra = ", ".join(sorted(claimed - held))
            raise ActorMismatch(
                "actor_mismatch", f"{actor.id} 不具有所声明的角色 (does not hold roles: {extra})"
            )
        if district != actor.district:
            raise ActorMismatch(
                "actor_mismatch",
                f"{actor.id} 的辖区是 {district}，不是 {actor.district} (jurisdiction claimed "
                "does not match the directory)",
            )
        if actor.department is not None and actor.department != department:
            raise ActorMismatch(
                "actor_mismatch",
                f"{actor.id} 不属于联审部门 {actor.department} (the vetting department claimed "
                "does not match the directory)",
            )

    @staticmethod
    def verify_assignee(conn: Connection, assignee: Assignee) -> None:
        """ActorMismatch unless the directory vouches for opening a task assigned to
        `assignee.user_id`: an enabled user who holds the task's role in its jurisdiction
        (the task's district, or the whole city). Runs on `conn`, as `verify_actor`."""
        if conn.in_transaction():
            row = (
                _FAST.get(conn.dialect, "actor", lambda: _ACTOR_ROW)
                .execute(conn, {"id": assignee.user_id})
                .fetchone()
            )
        else:
            row = conn.execute(_ACTOR_ROW, {"id": assignee.user_id}).first()
        who = assignee.user_id
        if row is None:
            raise ActorMismatch("unknown_assignee", f"未知承办人 (unknown assignee): {who}")
        roles, district, disabled_at, _department = row
        if disabled_at is not None:
            raise ActorMismatch("assignee_disabled", f"承办人已停用 (assignee disabled): {who}")
        if assignee.role not in set(json.loads(roles)):
            raise ActorMismatch(
                "assignee_not_eligible",
                f"{who} 不具有 {assignee.role} 角色，不能承办此任务 "
                f"(the assignee does not hold the task's role {assignee.role})",
            )
        if district not in (CITY, assignee.district):
            raise ActorMismatch(
                "assignee_not_eligible",
                f"{who} 的辖区 {district} 不含 {assignee.district} "
                "(the task lies outside the assignee's jurisdiction)",
            )

    @staticmethod
    def _user(row: object) -> User:
        return User(
            id=row.id,  # type: ignore[attr-defined]
            name=row.name,  # type: ignore[attr-defined]
            roles=json.loads(row.roles),  # type: ignore[attr-defined]
            district=row.district,  # type: ignore[attr-defined]
            disabled=row.disabled_at is not None,  # type: ignore[attr-defined]
            has_password=row.password_hash is not None,  # type: ignore[attr-defined]
            department=row.department,  # type: ignore[attr-defined]
        )
