"""Hardship cases that have waited a while, so that supervisors see something on the
first run of `make run`: tasks overdue, escalated, idle, on hold and waiting for
information, in the three demo districts and at several stages (the city's queue too).

How they come about is how the engine makes them, only earlier. Each case is
registered as `CaseService.open_case` registers one (its number, its data key and its
sealed personal fields); then its past is recorded as its workflow would have
recorded it, had it been running for the last weeks: every step decided by the real
domain rules at the moment it was taken (`HardshipProcess.open`, `decide` for the
officers' approvals, claims, requests and holds, the civil-affairs answer, the end of
the public notice), working days ago, and whatever the workflow's task clock records
when it rings (`supervision.clock_events` at `supervision.next_deadline`: overdue on
the deadline, escalated at the end of the grace period) in between and up to now. Each
step is one append through `EventStore.append`, which checks its actor against the
directory and writes the projections `stuck`, `board` and the web pages read. Then
each case gets its workflow, started as a continued run from the recorded state (as
after continue-as-new, or `casework doctor`'s restart): the workflow's clock goes on
from there (a task due tonight turns overdue tonight), and officers and supervisors
act on these cases as on any other.

When each case opened is found, not fixed: the latest working day from which its
steps, a working day apart, leave it in the state it is meant to show today under the
configuration in force (the demo's working-day limits, or the operator's). So no
limit in seconds is needed, and the demo configuration the end-to-end tests use stays
as it is.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import structlog
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from casework.demo.seed import demo_application
from casework.demo.seed import hardship_staff as staff
from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.case import (
    Action,
    ActRequest,
    CaseContinuation,
    CaseState,
    CaseView,
    Context,
    decide,
    evolve_all,
)
from casework.domain.events import NewEvent
from casework.domain.hardship import (
    HARDSHIP,
    HardshipApplication,
    HardshipConfig,
    HardshipProcess,
    Stage,
    StartHardshipCase,
    initial_state,
)
from casework.domain.org import Actor
from casework.domain.supervision import clock_events, next_deadline
from casework.service import CaseService, opening_fingerprint
from casework.store.directory import Directory
from casework.store.event_store import EventStore

log = structlog.get_logger("casework.demo")

Shows = Literal["overdue", "escalated", "idle", "on_hold", "waiting_info"]

IDLE_DAYS = 2
"""The idle cases (and the paused ones) have had no event on at least this many working
days before today: `casework stuck --idle-days 2` lists them (README)."""

RECEIPT_CONFIRMATION = "receipt-confirmation"
"""The hardship workflow's choice, made once at a case's start, that it confirms receipt
(workflows.hardship_relief.RECEIPT_CONFIRMATION): every case started today makes it."""

PATH = (
    Stage.GRASSROOTS_REVIEW,
    Stage.HOME_VISIT,
    Stage.PUBLIC_NOTICE,
    Stage.DISTRICT_REVIEW,
    Stage.DISTRICT_APPROVAL,
    Stage.CITY_REVIEW,
    Stage.CITY_APPROVAL,
)
"""The stages a hardship case passes before the payment, in order."""

SIGNER = {
    Stage.GRASSROOTS_REVIEW: "grassroots",
    Stage.HOME_VISIT: "grassroots",
    Stage.DISTRICT_REVIEW: "officer",
    Stage.DISTRICT_APPROVAL: "leader",
    Stage.CITY_REVIEW: "city_officer",
    Stage.CITY_APPROVAL: "city_leader",
}
"""Who approves each stage (`casework.demo.staff.staff`), as in `casework demo`."""


@dataclass(frozen=True)
class Waiting:
    """One seeded case: its applicant (`demo_application(person)`), the stage it waits
    at, what a supervisor sees of it today, and what happened at that stage."""

    person: int
    stage: Stage
    shows: Shows
    claimed_by: str | None = None
    """Who took the stage's task (a `staff` role), the working day after it opened."""
    reason: str | None = None
    """The hold's reason, or what information was asked for."""
    idle: int | None = None
    """Working days without an event before today, at least (default: IDLE_DAYS for the
    idle and paused cases, none for the overdue and escalated)."""

    @property
    def idle_at_least(self) -> int:
        if self.idle is not None:
            return self.idle
        return 0 if self.shows in ("overdue", "escalated") else IDLE_DAYS


BACKLOG: tuple[Waiting, ...] = (
    # 崇川区
    Waiting(5, Stage.GRASSROOTS_REVIEW, "escalated", claimed_by="grassroots"),
    Waiting(
        8,
        Stage.DISTRICT_APPROVAL,
        "on_hold",
        reason="申请人对核定金额有异议，待复核 (the applicant disputes the amount)",
    ),
    Waiting(10, Stage.CITY_REVIEW, "escalated", idle=3),  # deep hardship: the city's queue
    # 通州区
    Waiting(6, Stage.DISTRICT_REVIEW, "overdue", claimed_by="officer"),
    Waiting(
        9,
        Stage.GRASSROOTS_REVIEW,
        "waiting_info",
        reason="请补充单位出具的收入证明 (please add the employer's income statement)",
    ),
    Waiting(11, Stage.DISTRICT_APPROVAL, "idle"),
    # 海门区
    Waiting(7, Stage.HOME_VISIT, "idle"),
    Waiting(12, Stage.DISTRICT_REVIEW, "escalated", claimed_by="officer"),
)
"""Demo people 5 to 12 (0 to 4 are the five cases seeded before these)."""


@dataclass
class History:
    """A case's past as its workflow would have recorded it: each append's events and
    the person they record acting (None: the workflow's own), and the state after."""

    state: CaseState
    appends: list[tuple[list[NewEvent], Actor | None]] = field(default_factory=list)

    def record(self, events: list[NewEvent], actor: Actor | None = None) -> None:
        self.appends.append((events, actor))
        self.state = evolve_all(self.state, events)


def local_day(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


def working_days_back(calendar: WorkingCalendar, day: date, n: int) -> date:
    """The `n`-th working day before `day`."""
    while n > 0:
        day -= timedelta(days=1)
        n -= calendar.is_working_day(day)
    return day


def idle_days(calendar: WorkingCalendar, last_event: datetime, now: datetime) -> int:
    """Working days after the last event's day and before today (as `stuck` counts)."""
    day, today, count = local_day(last_event), local_day(now), 0
    while (day := day + timedelta(days=1)) < today:
        count += calendar.is_working_day(day)
    return count


def at_ten(calendar: WorkingCalendar, after: date) -> datetime:
    """10:00 Beijing time on the first working day after `after`."""
    day = after + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=CHINA_TZ).astimezone(UTC)


def shows(w: Waiting, state: CaseState, calendar: WorkingCalendar, now: datetime) -> bool:
    """Whether the case, as recorded up to `now`, shows what it is seeded to show."""
    task = state.task
    if task is None or state.stage != w.stage or state.updated_at is None:
        return False
    if state.updated_at > now:  # opened too recently for its steps to be in the past
        return False
    if idle_days(calendar, state.updated_at, now) < w.idle_at_least:
        return False
    if w.shows == "escalated":
        return task.escalated
    if w.shows == "overdue":
        # At least a working day late, as `stuck` counts it (the deadline was not just
        # last night, before a weekend).
        assert task.due_at is not None
        late = calendar.working_days_between(task.due_at - timedelta(microseconds=1), now)
        return task.overdue and not task.escalated and late >= 1
    paused = {"on_hold": "hold", "waiting_info": "info"}.get(w.shows)
    return not task.overdue and task.pause_reason == paused


def history(
    w: Waiting,
    start: StartHardshipCase,
    config: HardshipConfig,
    actor: Callable[[str], Actor],
    opened_on: date,
    now: datetime,
) -> History:
    """The case opened at 10:00 on `opened_on` (Beijing), each step taken at 10:00 on
    the working day after the one before, and the workflow's clocks run up to `now`."""
    process = HardshipProcess(config)
    calendar, grace = process.calendar, process.escalation_grace_days
    h = History(initial_state(start.case_id))
    ids = uuid.uuid4

    def ctx(at: datetime) -> Context:
        return Context(now=at, new_id=lambda: str(ids()))

    def clocks_until(moment: datetime) -> None:
        """What the workflow's timers record before `moment`, each when it rings."""
        while (ring := next_deadline(h.state, calendar, grace)) is not None and ring <= moment:
            events = clock_events(h.state, ctx(ring), calendar, grace)
            if not events:
                return
            h.record(events)

    def act(role: str, action: Action, comment: str | None = None, **data: object) -> None:
        assert h.state.updated_at is not None
        at = at_ten(calendar, local_day(h.state.updated_at))
        clocks_until(at)
        who = actor(staff(h.state.district, role))
        request = ActRequest(actor=who, action=action, comment=comment, data=data)
        h.record(decide(process, h.state, request, ctx(at)), who)

    opened_at = datetime.combine(opened_on, time(10), tzinfo=CHINA_TZ).astimezone(UTC)
    h.record(process.open(start, h.state, ctx(opened_at)), start.opened_by)
    figures = next(e for e in h.appends[0][0] if e.type == "eligibility.assessed").payload[
        "figures"
    ]
    for stage in PATH[: PATH.index(w.stage)]:
        if h.state.stage != stage:
            continue  # no city approval needed: the path skips the city's stages
        if stage == Stage.PUBLIC_NOTICE:
            ends = datetime.fromisoformat(h.state.facts["notice_ends_at"])
            clocks_until(ends)
            h.record(process.notice_ended(h.state, ctx(ends)))
        elif stage == Stage.HOME_VISIT:
            visitors = [staff(h.state.district, "grassroots"), staff(h.state.district, "visitor")]
            act(
                "grassroots",
                Action.APPROVE,
                "入户调查属实",
                visitors=visitors,
                household_size=figures["size"],
                **{k: v for k, v in figures.items() if k != "size"},
                assets="无房产、无车辆",
                cause="家庭成员重病",
            )
        else:
            act(SIGNER[stage], Action.APPROVE, "审核通过")
        if h.state.stage == Stage.HOME_VISIT:
            # The civil-affairs check, asked as the home visit opens, answers at once
            # (the demo worker's registry: the records match the declaration).
            assert h.state.updated_at is not None
            answered = h.state.updated_at + timedelta(seconds=20)
            h.record(
                process.civil_affairs_checked(h.state, True, "民政记录与申报一致", ctx(answered))
            )
    if w.claimed_by is not None:
        act(w.claimed_by, Action.CLAIM)
    if w.shows == "on_hold":
        act("supervisor", Action.HOLD, w.reason)
    elif w.shows == "waiting_info":
        act(SIGNER[w.stage], Action.REQUEST_INFO, w.reason)
    clocks_until(now)
    return h


def plan(
    w: Waiting,
    start: StartHardshipCase,
    config: HardshipConfig,
    actor: Callable[[str], Actor],
    now: datetime,
    max_days: int = 80,
) -> History | None:
    """The history of the latest opening day (counting back in working days) that
    leaves the case showing what it is meant to today; None if no day does (limits so
    short that a task cannot be idle without being overdue)."""
    calendar = WorkingCalendar(config.calendar)
    today = local_day(now)
    for n in range(1, max_days + 1):
        h = history(w, start, config, actor, working_days_back(calendar, today, n), now)
        if shows(w, h.state, calendar, now):
            return h
    return None


async def seed_backlog(
    service: CaseService,
    directory: Directory,
    config: HardshipConfig,
    backlog: tuple[Waiting, ...] = BACKLOG,
    now: datetime | None = None,
) -> list[CaseView]:
    """Register, record and start the `backlog` cases (one after another: their numbers
    follow in order); their views as recorded."""
    now = now or datetime.now(UTC)
    store = EventStore(service.engine)
    views: list[CaseView] = []

    def actor(user_id: str) -> Actor:
        return directory.get(user_id).actor()

    for w in backlog:
        app: HardshipApplication = demo_application(w.person)
        opener = actor(staff(app.applicant.district, "opener"))
        case_id, personal, _ = await asyncio.to_thread(
            service.intake.register,
            HARDSHIP.prefix,
            local_day(now).year,
            app.personal_fields(),
            None,
            opening_fingerprint(HARDSHIP.workflow_name, opener, app),
            app.identity(),
        )
        start = StartHardshipCase(
            case_id=case_id, opened_by=opener, application=app.masked(), personal=personal
        )
        h = plan(w, start, config, actor, now)
        if h is None:
            log.warning("demo.backlog_skipped", case_id=case_id, shows=w.shows, stage=w.stage)
            await asyncio.to_thread(service.intake.discard, case_id)
            continue
        state = initial_state(case_id)
        for events, by in h.appends:
            await asyncio.to_thread(
                store.append, case_id, state.seq, events, actors=[by] if by else []
            )
            state = evolve_all(state, events)
        continued = CaseContinuation(
            state=state,
            flags={RECEIPT_CONFIRMATION: True},
            # The case reads the worker's time rules again as any case opened today does.
            rules_read_at=now,
        )
        await service.client.start_workflow(
            HARDSHIP.workflow_name,
            start.model_copy(update={"config": config, "personal": None, "continued": continued}),
            id=case_id,
            task_queue=service.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        views.append(CaseView.of(state))
    return views
