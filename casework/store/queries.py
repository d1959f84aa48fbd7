"""Reads for people: case views, inboxes and histories, all from the projections."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    Engine,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
)

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseState, CaseView, Refused, check_may_work
from casework.domain.org import CITY
from casework.domain.processes import PROCESSES
from casework.domain.review import EventLike, Fund, ReviewSheet, review_sheet
from casework.store.directory import User
from casework.store.event_store import EventStore
from casework.store.supervision import (  # the open-task predicates its indexes are built on
    _OPEN,
    _PAST_DUE,
    _RUNNING,
    _hint,
)
from casework.store.tables import case_tasks, cases


class UnknownCase(LookupError):
    pass


class CaseListItem(BaseModel):
    """A case as `GET /api/cases` lists it (from the `cases` and `case_tasks` rows)."""

    case_id: str
    type: str
    status: str = Field(description="open | closed")
    outcome: str | None = Field(description="approved | rejected | withdrawn | failed")
    stage: str
    district: str = Field(description="The applicant's district (the case's).")
    opened_by: str
    applicant_name: str | None
    amount_fen: int | None = Field(description="The amount asked for, in fen.")
    task_district: str | None = Field(
        description="The queue of the open task: the district, or 市总工会 for city stages."
    )
    assignee: str | None
    due_at: datetime | None
    waiting_info: bool
    overdue: bool = Field(
        description="The open task is past due: its deadline has passed and its clock runs "
        "(as `stuck` counts it)."
    )
    opened_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    items: list[CaseListItem]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null on the last page."
    )


# The case-id order each page walks, by (status given, district given): the primary key's
# index (SQLite's name for it) or migration 0008's.
_ORDER_INDEX = {
    (False, False): "sqlite_autoindex_cases_1",
    (False, True): "ix_cases_district_case_id",
    (True, False): "ix_cases_status_case_id",
    (True, True): "ix_cases_status_district_case_id",
}
_ASSIGNEE_INDEX = "ix_case_tasks_assignee_status"
_CLOCK_INDEX = "ix_case_tasks_clock"
_CASE_INDEX = "ix_case_tasks_case_id"


class InboxItem(BaseModel):
    case_id: str
    task_id: str = Field(
        description="The open task: name it (`task_id`, `--task`) to act on it where its "
        "case has several (`parallel`)."
    )
    parallel: bool = Field(
        default=False,
        description="One of several open tasks of its case (an audit's rectifications): "
        "actions on it name its `task_id`.",
    )
    type: str
    stage: str
    """The task's stage (for a parallel task, what it is for: `rectification`)."""
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

    def review(self, state: CaseState, events: Sequence[EventLike]) -> ReviewSheet:
        """What a reviewer decides on, with the district's relief fund for the year the
        case draws on (its reservation's year, else the current Beijing year)."""
        sheet = review_sheet(state, events)
        if "requested_amount_fen" not in state.facts or not state.district:
            return sheet  # a case that draws on no fund
        year = state.facts.get("fund_year")
        if not isinstance(year, int):
            year = datetime.now(UTC).astimezone(CHINA_TZ).year
        balance = EventStore(self.engine).fund_balance(state.district, year)
        sheet.fund = Fund(district=state.district, year=year, **balance)
        return sheet

    def case_view(self, case_id: str) -> CaseView:
        return CaseView.of(self.case_state(case_id))

    def inbox(self, user: User, limit: int = 200) -> list[InboxItem]:
        """Open tasks `user` may act on now: role, jurisdiction, unclaimed or theirs,
        and not refused by separation of duties. One item per task: a case with several
        open tasks (`CaseState.parallel`) comes once for each the user may work."""
        t = case_tasks
        query = (
            select(t, cases.c.state, cases.c.applicant_name, cases.c.amount_fen)
            .join(cases, cases.c.case_id == t.c.case_id)
            .where(
                t.c.status == "open",
                t.c.role.in_([r.value for r in user.roles]),
                or_(t.c.assignee.is_(None), t.c.assignee == user.id),
                # Not their own cases, but for the stages whose process lets the opener
                # work them (an audit's lead signs the report of the project they opened).
                or_(
                    cases.c.opened_by != user.id,
                    *(
                        and_(t.c.case_type == kind, t.c.stage == str(stage))
                        for kind, process in PROCESSES.items()
                        for stage in process.opener_may_work
                    ),
                ),
            )
            .order_by(t.c.due_at, t.c.case_id)
        )
        if user.district != CITY:
            query = query.where(t.c.district == user.district)
        actor = user.actor()
        items: list[InboxItem] = []
        states: dict[str, CaseState] = {}  # a case with several tasks is read once
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                state = states.get(row.case_id)
                if state is None:
                    state = states[row.case_id] = CaseState.model_validate_json(row.state)
                task = state.find_task(row.task_id)
                if task is None:
                    continue
                try:
                    check_may_work(PROCESSES[row.case_type], state, actor, task)
                except Refused:
                    continue
                items.append(
                    InboxItem(
                        case_id=row.case_id,
                        task_id=row.task_id,
                        parallel=row.task_id in state.parallel,
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

    def case_page(
        self,
        *,
        now: datetime,
        limit: int,
        after: str | None = None,
        district: str | None = None,
        case_type: str | None = None,
        stage: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
        overdue: bool | None = None,
    ) -> CasePage:
        """One page of cases, newest case number first, after the case `after` (the
        previous page's cursor); `district` None: every district.

        Keyset pagination on the case id: a page costs the same wherever it is, and cases
        opened or changed meanwhile never shift the pages that follow. Most pages walk an
        index in case-id order and stop after `limit` + 1 matches: the primary key, or
        (district, case_id), (status, case_id), (status, district, case_id) when those
        are given (migration 0008). A page of one officer's tasks or of past-due tasks
        starts instead from those few open tasks (case_tasks' assignee index, the clock
        index) and sorts them. SQLite, which keeps no statistics to choose by, is told
        the index; PostgreSQL's planner chooses among the same ones."""
        c, t = cases, case_tasks
        columns = (
            c.c.case_id,
            c.c.case_type,
            c.c.status,
            c.c.outcome,
            c.c.stage,
            c.c.district,
            c.c.opened_by,
            c.c.applicant_name,
            c.c.amount_fen,
            c.c.task_district,
            c.c.assignee,
            c.c.due_at,
            c.c.waiting_info,
            c.c.opened_at,
            c.c.updated_at,
        )
        query: Any
        if assignee is not None or overdue is True:
            # Few rows: one officer's open tasks, or the past-due ones; a case with
            # several of them (parallel tasks) once, overdue if any of them is.
            late_row = func.max(case((and_(_RUNNING, _PAST_DUE), 1), else_=0))
            query = (
                select(*columns, late_row.label("overdue"))
                .select_from(t.join(c, c.c.case_id == t.c.case_id))
                .where(_OPEN)
                .group_by(c.c.case_id)
            )
            if assignee is not None:
                query = _hint(query.where(t.c.assignee == assignee), t, _ASSIGNEE_INDEX)
                if overdue is True:
                    query = query.where(_RUNNING, _PAST_DUE)
            else:
                query = _hint(query.where(_RUNNING, _PAST_DUE), t, _CLOCK_INDEX)
            # The case by its key for each of those tasks, not the tasks for each case.
            query = _hint(query, c, _ORDER_INDEX[(False, False)])
        else:
            # Overdue: any of the case's open tasks past due (a case may hold several:
            # the stage's and parallel ones), looked up by case for each case listed.
            late_task = _hint(
                select(literal_column("1"))
                .select_from(t)
                .where(t.c.case_id == c.c.case_id, _RUNNING, _PAST_DUE),
                t,
                _CASE_INDEX,
            )
            late = exists(late_task)
            if overdue is False:  # none late: said once, in the filter
                query = select(*columns, false().label("overdue")).where(not_(late))
            else:
                query = select(*columns, late.label("overdue"))
            query = _hint(
                query.select_from(c), c, _ORDER_INDEX[(status is not None, district is not None)]
            )
        query = query.order_by(c.c.case_id.desc()).limit(limit + 1)
        if after is not None:
            query = query.where(c.c.case_id < after)
        if district is not None:
            query = query.where(c.c.district == district)
        if case_type is not None:
            query = query.where(c.c.case_type == case_type)
        if stage is not None:
            query = query.where(c.c.stage == stage)
        if status is not None:
            query = query.where(c.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"now": now}).all()
        items = [
            CaseListItem(
                case_id=r.case_id,
                type=r.case_type,
                status=r.status,
                outcome=r.outcome,
                stage=r.stage,
                district=r.district,
                opened_by=r.opened_by,
                applicant_name=r.applicant_name,
                amount_fen=r.amount_fen,
                task_district=r.task_district,
                assignee=r.assignee,
                due_at=r.due_at,
                waiting_info=bool(r.waiting_info),
                overdue=bool(r.overdue),
                opened_at=r.opened_at,
                updated_at=r.updated_at,
            )
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        return CasePage(items=items, next_cursor=items[-1].case_id if more else None)

    def case_ids(self, status: str | None = None) -> list[str]:
        query = select(cases.c.case_id).order_by(cases.c.case_id)
        if status:
            query = query.where(cases.c.status == status)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())
