"""Reads for people: case views, inboxes and histories, all from the projections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, or_, select

from casework.domain.case import CaseState, CaseView, Refused, check_may_work
from casework.domain.org import CITY
from casework.domain.processes import PROCESSES
from casework.store.directory import User
from casework.store.event_store import EventStore
from casework.store.tables import case_tasks, cases


class UnknownCase(LookupError):
    pass


class InboxItem(BaseModel):
    case_id: str
    type: str
    stage: str
    due_at: datetime | None
    assignee: str | None
    status: str
    applicant_name: str | None
    amount_fen: int | None


class HistoryItem(BaseModel):
    seq: int
    type: str
    actor_id: str
    occurred_at: datetime
    payload: dict[str, Any]
    hash: str


class Queries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def case_state(self, case_id: str) -> CaseState:
        with self.engine.connect() as conn:
            row = conn.execute(select(cases.c.state).where(cases.c.case_id == case_id)).first()
        if row is None:
            raise UnknownCase(f"未找到案件 (no such case): {case_id}")
        return CaseState.model_validate_json(row.state)

    def case_states(self, case_ids: list[str]) -> dict[str, CaseState]:
        """The states of these cases (those that exist), in one read."""
        found: dict[str, CaseState] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(case_ids), 500):
                chunk = case_ids[start : start + 500]
                rows = conn.execute(
                    select(cases.c.case_id, cases.c.state).where(cases.c.case_id.in_(chunk))
                )
                for row in rows:
                    found[row.case_id] = CaseState.model_validate_json(row.state)
        return found

    def case_view(self, case_id: str) -> CaseView:
        return CaseView.of(self.case_state(case_id))

    def inbox(self, user: User, limit: int = 200) -> list[InboxItem]:
        """Open tasks `user` may act on now: role, jurisdiction, unclaimed or theirs,
        and not refused by separation of duties."""
        t = case_tasks
        query = (
            select(t, cases.c.state, cases.c.applicant_name, cases.c.amount_fen)
            .join(cases, cases.c.case_id == t.c.case_id)
            .where(
                t.c.status == "open",
                t.c.role.in_([r.value for r in user.roles]),
                or_(t.c.assignee.is_(None), t.c.assignee == user.id),
                cases.c.opened_by != user.id,
            )
            .order_by(t.c.due_at, t.c.case_id)
        )
        if user.district != CITY:
            query = query.where(t.c.district == user.district)
        actor = user.actor()
        items: list[InboxItem] = []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                state = CaseState.model_validate_json(row.state)
                if state.task is None:
                    continue
                try:
                    check_may_work(PROCESSES[row.case_type], state, actor, state.task)
                except Refused:
                    continue
                items.append(
                    InboxItem(
                        case_id=row.case_id,
                        type=row.case_type,
                        stage=row.stage,
                        due_at=row.due_at,
                        assignee=row.assignee,
                        status=row.status,
                        applicant_name=row.applicant_name,
                        amount_fen=row.amount_fen,
                    )
                )
                if len(items) >= limit:
                    break
        return items

    def history(self, case_id: str) -> list[HistoryItem]:
        events = EventStore(self.engine).read(case_id)
        if not events:
            raise UnknownCase(f"未找到案件 (no such case): {case_id}")
        return [
            HistoryItem(
                seq=e.seq,
                type=e.type,
                actor_id=e.actor_id,
                occurred_at=e.occurred_at,
                payload=e.payload,
                hash=e.hash,
            )
            for e in events
        ]

    def case_ids(self, status: str | None = None) -> list[str]:
        query = select(cases.c.case_id).order_by(cases.c.case_id)
        if status:
            query = query.where(cases.c.status == status)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())
