"""Events for the store contract tests: hand-built ones, and realistic sequences decided
by the real hardship-relief domain (`HardshipProcess` + `decide`)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy import event as sa_event

from casework.domain.case import (
    Action,
    ActRequest,
    CaseState,
    Context,
    decide,
    evolve_all,
)
from casework.domain.deadlines import alarm_events
from casework.domain.events import NewEvent
from casework.domain.hardship import (
    HardshipConfig,
    HardshipProcess,
    StartHardshipCase,
    fund_year,
    initial_state,
)
from casework.domain.org import Actor, Role
from casework.domain.personal import SealedFields
from casework.domain.registry import known_action
from casework.store.event_store import EventStore, FundCheck, StoredEvent, event_hash
from casework.store.tables import case_events
from tests.factories import application

T = TypeVar("T")

T0 = datetime(2026, 3, 2, 1, 30, 15, 123456, tzinfo=UTC)
DISTRICT = "崇川区"


def new_id() -> str:
    return str(uuid.uuid4())


def event(
    case_id: str,
    type_: str,
    payload: dict[str, Any] | None = None,
    *,
    actor: str = "chongchuan.grassroots1",
    at: datetime = T0,
    event_id: str | None = None,
    schema_version: int = 1,
) -> NewEvent:
    return NewEvent(
        event_id=event_id or new_id(),
        case_id=case_id,
        type=type_,
        schema_version=schema_version,
        payload=payload or {},
        actor_id=actor,
        occurred_at=at,
    )


def opened(case_id: str, *, at: datetime = T0, district: str = DISTRICT, **facts: Any) -> NewEvent:
    """A `case.opened` event of a hardship case (what every case's first append carries)."""
    return event(
        case_id,
        "case.opened",
        {
            "case_type": "hardship",
            "district": district,
            "facts": {"applicant_name": "张三", "requested_amount_fen": 300_000, **facts},
        },
        at=at,
    )


def comments(case_id: str, n: int, *, start: int = 0, at: datetime = T0) -> list[NewEvent]:
    """`n` filler events (comments) numbered from `start`."""
    return [
        event(case_id, "case.commented", {"comment": f"备注 {i}", "n": i}, at=at)
        for i in range(start, start + n)
    ]


def raw_rows(engine: Engine, case_id: str | None = None) -> list[dict[str, Any]]:
    """The stored rows themselves, bypassing upcasting."""
    query = select(case_events).order_by(case_events.c.position)
    if case_id is not None:
        query = query.where(case_events.c.case_id == case_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def actor(id_: str, *roles: Role, district: str = DISTRICT) -> Actor:
    return Actor(id=id_, roles=roles, district=district)


OPENER = actor("chongchuan.grassroots1", Role.GRASSROOTS_OFFICER)
GRASSROOTS2 = actor("chongchuan.grassroots2", Role.GRASSROOTS_OFFICER)
GRASSROOTS3 = actor("chongchuan.grassroots3", Role.GRASSROOTS_OFFICER)
DISTRICT_OFFICER = actor("chongchuan.officer1", Role.DISTRICT_OFFICER)
DISTRICT_LEADER = actor("chongchuan.leader", Role.DISTRICT_LEADER)


REGISTERED = {"national_ref": "GH-320602-2026-0001"}


def findings(*visitors: str) -> dict[str, Any]:
    return {
        "visitors": list(visitors),
        "household_size": 3,
        "yearly_income_fen": 5_400_000,
        "medical_expenses_fen": 1_200_000,
        "assets": "无房产，无车辆",
        "cause": "配偶重病",
    }


class DomainCase:
    """A hardship case driven through the real domain rules, each decision one append
    (as the workflow's `record_events` activity does)."""

    def __init__(self, store: EventStore, case_id: str, *, start: datetime = T0) -> None:
        self.store = store
        self.process = HardshipProcess(HardshipConfig())
        self.state: CaseState = initial_state(case_id)
        self.now = start
        self.stored: list[StoredEvent] = []

    @property
    def case_id(self) -> str:
        return self.state.case_id

    def ctx(self) -> Context:
        self.now += timedelta(hours=1, microseconds=7)
        return Context(now=self.now, new_id=new_id)

    def record(
        self, events: Sequence[NewEvent], fund_check: FundCheck | None = None
    ) -> list[StoredEvent]:
        stored = self.store.append(self.case_id, self.state.seq, events, fund_check)
        self.state = evolve_all(self.state, list(events))
        self.stored += stored
        return stored

    def open(
        self, opener: Actor = OPENER, personal: SealedFields | None = None, **overrides: Any
    ) -> DomainCase:
        start = StartHardshipCase(
            case_id=self.case_id,
            opened_by=opener,
            application=application(**overrides).masked(),
            personal=personal,
        )
        self.record(self.process.open(start, self.state, self.ctx()))
        return self

    def act(
        self,
        who: Actor,
        action: Action | str,
        comment: str | None = "同意",
        data: dict[str, Any] | None = None,
    ) -> DomainCase:
        req = ActRequest(actor=who, action=action, comment=comment, data=data or {})
        self.record(decide(self.process, self.state, req, self.ctx()))
        return self

    def civil_affairs(self, match: bool = True) -> DomainCase:
        self.record(self.process.civil_affairs_checked(self.state, match, "一致", self.ctx()))
        return self

    def notice_ended(self) -> DomainCase:
        self.record(self.process.notice_ended(self.state, self.ctx()))
        return self

    def reserve(self) -> DomainCase:
        ctx = self.ctx()
        year = fund_year(ctx.now)
        check = FundCheck(
            district=self.state.district,
            year=year,
            amount_fen=self.state.facts["requested_amount_fen"],
        )
        self.record([self.process.funds_reserved(self.state, ctx, year)], check)
        return self

    def disbursed(self) -> DomainCase:
        self.record(self.process.disbursed(self.state, self.ctx(), transfer_ref="TX-0001"))
        return self

    def disbursement_failed(self) -> DomainCase:
        self.record(self.process.disbursement_failed(self.state, self.ctx(), "账户已销户"))
        return self

    # -- whole journeys ------------------------------------------------------------

    def to_district_review(self) -> DomainCase:
        return (
            self.open()
            .act(GRASSROOTS2, Action.APPROVE, "材料齐全")
            .civil_affairs()
            .act(
                GRASSROOTS2,
                Action.APPROVE,
                "已入户",
                findings(GRASSROOTS2.id, GRASSROOTS3.id),
            )
            .notice_ended()
        )

    def to_filed(self) -> DomainCase:
        return (
            self.to_district_review()
            .act(DISTRICT_OFFICER, Action.APPROVE)
            .act(DISTRICT_LEADER, Action.APPROVE)
            .reserve()
            .disbursed()
            .act(DISTRICT_OFFICER, Action.APPROVE, "已录入", REGISTERED)
        )


def run_concurrently(*jobs: Callable[[], T], timeout: float = 60) -> list[T | BaseException]:
    """Start `jobs` in threads released together by a barrier; each one's result or error."""
    barrier = threading.Barrier(len(jobs))
    results: list[T | BaseException] = [RuntimeError("did not finish")] * len(jobs)

    def run(i: int, job: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a concurrent job hung"
    return results


@contextmanager
def after_statement(engine: Engine, fragment: str, hook: Callable[[], None]) -> Iterator[None]:
    """Run `hook` in the executing thread right after each statement whose SQL contains
    `fragment` (case-insensitive), while its transaction is still open."""
    wanted = fragment.upper()

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if wanted in statement.upper():
            hook()

    sa_event.listen(engine, "after_cursor_execute", listener)
    try:
        yield
    finally:
        sa_event.remove(engine, "after_cursor_execute", listener)


def after_event_insert(engine: Engine, hook: Callable[[], None]) -> Any:
    """Run `hook` right after an append's INSERT into case_events, before its commit:
    widens the window in which an append has taken positions but not yet committed."""
    return after_statement(engine, "INSERT INTO case_events", hook)


def rehashed(row: Any, payload: str) -> str:
    """The hash a forger would give stored event `row` after changing its payload to
    `payload` (its chain link kept): what `audit verify` must still catch at the next seq."""
    return event_hash(
        row.prev_hash,
        event_id=row.event_id,
        case_id=row.case_id,
        seq=row.seq,
        type=row.type,
        schema_version=row.schema_version,
        payload=payload,
        actor_id=row.actor_id,
        occurred_at=row.occurred_at,
    )


LEGAL_AID = actor("chongchuan.legalaid", Role.LEGAL_AID_OFFICER)
CITY_LEGAL_AID = actor("city.legalaid", Role.LEGAL_AID_OFFICER, district="市总工会")
LAWYER = actor("chongchuan.lawyer", Role.LAWYER)


class LimitationCase:
    """A case of the test-only limitation process (tests/limitation.py: a limitation
    period, an assigned task, the deadline to sue) driven through the domain, each
    decision one append; `clock` records what the deadlines reached by a moment."""

    def __init__(self, store: EventStore, case_id: str, *, start: datetime = T0) -> None:
        from tests.limitation import LimitationProcess

        self.store = store
        self.process = LimitationProcess()
        self.state = CaseState(case_id=case_id)
        self.now = start

    def ctx(self) -> Context:
        self.now += timedelta(hours=1, microseconds=7)
        return Context(now=self.now, new_id=new_id)

    def record(self, events: Sequence[NewEvent]) -> LimitationCase:
        self.store.append(self.state.case_id, self.state.seq, events)
        self.state = evolve_all(self.state, list(events))
        return self

    def open(self, knew_on: date) -> LimitationCase:
        from tests.limitation import StartLimitationCase

        start = StartLimitationCase(
            case_id=self.state.case_id, opened_by=LEGAL_AID, district=DISTRICT, knew_on=knew_on
        )
        return self.record(self.process.open(start, self.state, self.ctx()))

    def act(
        self, who: Actor, action: str, comment: str | None = "理由", **data: Any
    ) -> LimitationCase:
        req = ActRequest(actor=who, action=known_action(action), comment=comment, data=data)
        return self.record(decide(self.process, self.state, req, self.ctx()))

    def clock(self, at: datetime) -> LimitationCase:
        self.now = at
        events = alarm_events(self.state, Context(now=at, new_id=new_id))
        return self.record(events) if events else self


def limitation_journeys(store: EventStore, start: datetime = T0) -> dict[str, LimitationCase]:
    """Six limitation cases, their decisions interleaved: one warned then suspended,
    one interrupted and assigned to a lawyer, one whose limitation was met and whose
    deadline to sue was set before it closed, one passed, one withdrawn while its
    limitation ran, one warned and left running."""
    c = {
        name: LimitationCase(store, f"LT-2026-{n:06d}", start=start + timedelta(minutes=n))
        for n, name in enumerate(
            ["suspended", "interrupted", "closed", "passed", "withdrawn", "warned"], start=1
        )
    }
    knew_on = (start - timedelta(days=320)).date()  # the year ends 45 days after `start`
    for case in c.values():
        case.open(knew_on)
    for case in c.values():
        case.clock(start + timedelta(days=1))  # inside the 60-day warning
    c["suspended"].act(LAWYER, "suspend-deadline", "不可抗力", deadline="limitation")
    c["interrupted"].act(LAWYER, "interrupt-deadline", "催讨工资", deadline="limitation")
    c["interrupted"].act(CITY_LEGAL_AID, "approve", "受理", lawyer=LAWYER.id)
    c["closed"].act(CITY_LEGAL_AID, "approve", "受理", lawyer=LAWYER.id)
    c["closed"].act(LAWYER, "approve", "已申请仲裁", award_on=c["closed"].now.date().isoformat())
    c["closed"].act(LAWYER, "approve", "已起诉")
    c["passed"].clock(start + timedelta(days=60))
    c["withdrawn"].act(LEGAL_AID, "withdraw", "申请人撤回")
    return c
