"""People who use casework: ids, names, roles and jurisdiction."""

from __future__ import annotations

import json
from collections.abc import Iterable

from pydantic import BaseModel
from sqlalchemy import Engine, delete, insert, select

from casework.domain.org import Actor, Role
from casework.store.tables import users


class User(BaseModel):
    id: str
    name: str
    roles: list[Role]
    district: str

    def actor(self) -> Actor:
        return Actor(id=self.id, roles=tuple(self.roles), district=self.district)


class UnknownUser(LookupError):
    pass


class Directory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.district, users.c.id)).all()
        return [self._user(r) for r in rows]

    def get(self, user_id: str) -> User:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise UnknownUser(f"未知用户 (unknown user): {user_id}")
        return self._user(row)

    def upsert(self, people: Iterable[User]) -> None:
        people = list(people)
        with self.engine.begin() as conn:
            conn.execute(delete(users).where(users.c.id.in_([p.id for p in people])))
            conn.execute(
                insert(users),
                [
                    {
                        "id": p.id,
                        "name": p.name,
                        "roles": json.dumps(p.roles),
                        "district": p.district,
                    }
                    for p in people
                ],
            )

    @staticmethod
    def _user(row: object) -> User:
        return User(
            id=row.id,  # type: ignore[attr-defined]
            name=row.name,  # type: ignore[attr-defined]
            roles=json.loads(row.roles),  # type: ignore[attr-defined]
            district=row.district,  # type: ignore[attr-defined]
        )
