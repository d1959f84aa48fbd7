"""The human-task machinery every case workflow shares.

People act through the `act` Update. Its validator runs the pure domain `decide`
without touching history, so a refused action leaves no trace. The handler applies the
decided events to the workflow state at once (so a second, concurrent action is judged
against the new state) and records them through the `record_events` local activity,
one append at a time in decision order.

The actor an Update claims is not taken on its word: the recording checks it (and
anyone the action names, and anyone a task it opens is assigned to) against the
directory before it writes anything. When it is refused, the events go back out of the
state, and so does everything decided after them, which was judged against a state that
never existed (`take_back`).

The workflow wakes at the next deadline of its open tasks (overdue, escalated: the
soonest of the stage's task and of every task beside it, `CaseState.parallel`) and of
the case's named deadlines (warnings, escalation, passing) and records what they reached.

A case may take hundreds of steps; a workflow run takes at most 2,000 Updates and
replays slowly once its history is long. Past `updates_per_run` accepted Updates, or
when Temporal suggests it, the run continues as new at its next quiet point
(`continue_as_new_if_wanted`): the next run starts from the recorded state and what the
first run decided once (`CaseContinuation`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework.domain.case import (
        ActRequest,
        CaseContinuation,
        CaseState,
        CaseView,
        Context,
        NewEvent,
        Process,
        Refused,
        Status,
        decide,
        evolve_all,
    )
    from casework.domain.contracts import (
        ACTOR_REFUSED,
        CONCURRENCY_CONFLICT,
        PROCESS_CONFIG,
        RECORD_EVENTS,
        FundReservation,
        Recorded,
        RecordEvents,
    )
    from casework.domain.deadlines import alarm_events, next_alarm
    from casework.domain.org import Actor
    from casework.domain.supervision import clock_events, named_actors, next_deadline
    from casework.temporal import (
        CASE_ASSIGNEE,
        CASE_DISTRICT,
        CASE_DUE_AT,
        CASE_STAGE,
        CASE_STATUS,
        CASE_TYPE,
    )

UPDATES_PER_RUN = 1000
"""Accepted Updates after which a case's run continues as new (Temporal takes at most
2,000 per run)."""
CONTINUE_AS_NEW = "continue-as-new"
"""The patch under which runs continue as new (histories recorded before never did)."""
HAND_OVER_PAUSE = timedelta(seconds=1)
"""The timer that puts a hand-over in a workflow task of its own."""
CONFIG_TIMEOUT = timedelta(seconds=10)
"""Reading the worker's time rules (a local activity)."""
RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)
"""Unlimited attempts: a database outage delays the case but never loses a decision."""


def activity_failure(err: ActivityError | ApplicationError) -> ApplicationError | None:
    """The application error an activity failed with. A local activity's failure reaches
    workflow code as that ApplicationError itself, a normal activity's as the cause of an
    ActivityError."""
    cause = err.cause if isinstance(err, ActivityError) else err
    return cause if isinstance(cause, ApplicationError) else None


def refusal(r: Refused) -> ApplicationError:
    return ApplicationError(
        r.message, {"code": r.code, "field": r.field}, type=r.code, non_retryable=True
    )


def actor_refusal(cause: ApplicationError) -> ApplicationError:
    """The recording's ActorRefused as a refusal of the action, typed by its code
    (unknown_actor, actor_disabled, actor_mismatch), as `refusal` types the rules' own."""
    details = cause.details[0] if cause.details else {}
    code = str(details.get("code") or "actor_refused")
    return ApplicationError(
        cause.message, {"code": code, "field": details.get("field")}, type=code, non_retryable=True
    )


class Superseded(Exception):
    """Events decided against a state that held events since refused and taken back (a
    forged actor's): not recorded. The workflow decides again; an officer's action is
    refused and may be sent again."""


SUPERSEDED = Refused(
    "stage_changed",
    "案件状态已变化，请刷新后再办理 (this action was judged after another that was then "
    "refused; the case is as it was before both: reload and act again)",
)


class CaseWorkflow:
    """Base of every case workflow: state, the `act` Update, queries and recording."""

    process: Process
    state: CaseState

    def _init_case(
        self, process: Process, state: CaseState, continued: CaseContinuation | None = None
    ) -> None:
        """Called by the workflow's `__init__`; a continued run passes what the last run
        handed over (its state is `state`), before any Update handler can run."""
        self.process = process
        self.state = state
        self._recorded_seq = state.seq
        self._recorded_state = state
        """The state as of the recorded events."""
        self._pending: list[NewEvent] = []
        """Events taken into `state` but not yet recorded, in decision order."""
        self._record_lock = asyncio.Lock()
        self._taken_back = 0
        """How many times refused events were taken back out of the state: a recording
        decided before the last time is superseded."""
        self._search: dict[str, Any] = {}
        self._clocks = True  # see start_task_clocks
        self._updates = 0
        """Updates accepted by this run (act, sync): Temporal takes 2,000 per run."""
        self._run = 1
        if continued is not None:
            self._clocks = continued.clocks
            self._run = continued.run
        self._continuing_declined = False
        """Replaying a history recorded before runs continued as new, at a point where
        today's code would have: it goes on in this run, as it did."""

    updates_per_run: int = UPDATES_PER_RUN
    """Continue as new after this many accepted Updates (processes set it from their
    configuration)."""

    def ctx(self) -> Context:
        return Context(
            now=workflow.now(),
            new_id=lambda: str(workflow.uuid4()),
            clocks=self._clocks,
        )

    # -- messages ---------------------------------------------------------------------

    @workflow.update
    async def act(self, req: ActRequest) -> CaseView:
        """An officer's action. Returns the case view once its events are recorded."""
        self._updates += 1
        await self.ready_for(req)
        await self.refresh_rules()
        try:
            events = decide(self.process, self.state, req, self.ctx())
        except Refused as r:  # the state moved on between validation and handling
            raise refusal(r) from None
        try:
            await self.apply(events, actor=req.actor, named=named_actors(req))
        except Superseded:
            raise refusal(SUPERSEDED) from None
        return CaseView.of(self.state)

    @act.validator
    def validate_act(self, req: ActRequest) -> None:
        # Ids are not drawn from workflow.uuid4 here: validators must not change state.
        try:
            ctx = Context(now=workflow.now(), new_id=lambda: "-", clocks=self._clocks)
            decide(self.process, self.state, req, ctx)
        except Refused as r:
            if r.code in self.waitable_refusals:
                return  # accepted: the handler waits until the answer is in (ready_for)
            raise refusal(r) from None

    waitable_refusals: frozenset[str] = frozenset()
    """Refusals that only mean "not yet" (an external check still running): the action
    is accepted and waits in `ready_for` instead of sending the officer away."""

    async def ready_for(self, req: ActRequest) -> None:
        """Wait until the case can judge `req` (processes override)."""

    async def refresh_rules(self) -> None:
        """Bring time limits up to date before a decision that may open a task
        (processes override)."""

    @workflow.update
    async def sync(self) -> CaseView:
        """The case view once everything decided so far is recorded (read-your-writes)."""
        self._updates += 1
        await workflow.wait_condition(
            lambda: self.state.seq > 0 and self._recorded_seq >= self.state.seq
        )
        return CaseView.of(self.state)

    @workflow.query
    def view(self) -> CaseView:
        return CaseView.of(self.state)

    @workflow.query
    def case_state(self) -> CaseState:
        return self.state

    # -- recording --------------------------------------------------------------------

    async def apply(
        self,
        events: list[NewEvent],
        actor: Actor | None = None,
        named: dict[str, Actor] | None = None,
    ) -> None:
        """Take `events` into the state now and record them, in decision order.
        `actor`: the person acting (None for the workflow's own events), `named`: others
        the action names; the recording checks them against the directory. Raises the
        refusal (ApplicationError) if it does not vouch for them, `Superseded` if events
        decided before these were refused: either way nothing is recorded and the state
        is as if nothing had been decided."""
        self.state = evolve_all(self.state, events)
        self._pending.extend(events)
        self._update_search_attributes()
        await self.record(events, actor=actor, named=named)

    async def record(
        self,
        events: list[NewEvent],
        funds: FundReservation | None = None,
        actor: Actor | None = None,
        named: dict[str, Actor] | None = None,
    ) -> None:
        decided_after = self._taken_back
        async with self._record_lock:
            if self._taken_back != decided_after:
                # Decided while refused events were in the state: a state that never
                # existed. `take_back` already dropped these from the pending events.
                raise Superseded
            try:
                recorded = await workflow.execute_local_activity(
                    RECORD_EVENTS,
                    RecordEvents(
                        case_id=self.state.case_id,
                        expected_seq=self._recorded_seq,
                        events=events,
                        fund_check=funds,
                        actor=actor,
                        named=named or {},
                    ),
                    result_type=Recorded,
                    start_to_close_timeout=RECORD_TIMEOUT,
                    retry_policy=RECORD_RETRY,
                )
            except (ActivityError, ApplicationError) as err:
                cause = activity_failure(err)
                if cause is not None and cause.type == CONCURRENCY_CONFLICT:
                    # The log and this workflow disagree: stop (the workflow task fails and
                    # retries, visibly) rather than let them drift apart.
                    raise RuntimeError(f"event log conflict: {cause.message}") from err
                if cause is not None and cause.type == ACTOR_REFUSED:
                    self.take_back(events)
                    raise actor_refusal(cause) from None
                raise
            self._recorded(events, recorded.stored)

    def take_back(self, events: list[NewEvent]) -> None:
        """The recording refused `events` (the directory does not vouch for who acted):
        they leave the state, and so does every event decided after them, judged against
        a state that held them. Recordings of those raise `Superseded`."""
        ids = {e.event_id for e in events}
        kept: list[NewEvent] = []
        for e in self._pending:
            if e.event_id in ids:
                break
            kept.append(e)
        self._pending = kept
        self._taken_back += 1
        self.state = evolve_all(self._recorded_state, self._pending)
        self._update_search_attributes()

    def _recorded(self, events: list[NewEvent], stored: list[NewEvent] | None) -> None:
        """Move the recorded state on; adopt the log's version where it differs."""
        self._recorded_seq += len(events)
        self._recorded_state = evolve_all(self._recorded_state, stored or events)
        pending_before = len(self._pending)
        ids = {e.event_id for e in events}
        self._pending = [e for e in self._pending if e.event_id not in ids]
        if stored is not None or len(self._pending) == pending_before:
            # Re-decided events, or events recorded before being taken into the state
            # (a fund reservation): the state is the recorded state plus what is pending.
            self.state = evolve_all(self._recorded_state, self._pending)
            self._update_search_attributes()

    async def apply_learnt(self, decide: Callable[[], list[NewEvent]]) -> None:
        """Record what the workflow learnt from outside and cannot ask again (a transfer
        made or failed): decided by `decide` against the state, and decided again if a
        refusal takes back the state it was judged against. Never dropped."""
        while True:
            try:
                await self.apply(decide())
                return
            except Superseded:
                continue

    async def open_with_rules(
        self,
        start: Any,
        case_type: str,
        config_model: type[Any],
        check_opener: Callable[[Actor, str], None],
    ) -> None:
        """The first run of a process configured like legal aid and audits: its time
        rules read once from the worker (kept in history) unless the start input brings
        them; the opener checked again, since the start input can reach Temporal without
        the service (refused: the workflow fails having recorded nothing); then the
        opening recorded. `start` has `config`, `opened_by` and `application.district`;
        the process has `use(config)` and `open(start, state, ctx)`."""
        self.start_task_clocks()
        config = start.config
        if config is None:
            config = await workflow.execute_local_activity(
                PROCESS_CONFIG,
                case_type,
                result_type=config_model,
                start_to_close_timeout=CONFIG_TIMEOUT,
            )
        process: Any = self.process
        process.use(config)
        try:
            check_opener(start.opened_by, start.application.district)
        except Refused as r:
            raise refusal(r) from None
        await self.apply(process.open(start, self.state, self.ctx()), actor=start.opened_by)

    def start_task_clocks(self) -> None:
        """Task deadlines wake the workflow (overdue, escalation) for cases started with
        this code; cases started before keep their old behaviour on replay."""
        self._clocks = workflow.patched("task-clocks")

    async def wait_for_change(self, until: Callable[[], bool] = lambda: False) -> None:
        """Until the next event, `until()` holds (e.g. an external check answered), or
        a clock rings: the soonest of the open tasks' (overdue, escalated; the stage's
        task and each parallel one, `supervision.next_deadline`) or one of the case's
        named deadlines (a warning, the escalation, passing). Cases without named deadlines
        wait exactly as before they existed (no patch needed)."""
        seen = self.state.seq
        p = self.process
        task_at = (
            next_deadline(self.state, p.calendar, p.escalation_grace_days) if self._clocks else None
        )
        case_at = next_alarm(self.state)
        deadline = min((m for m in (task_at, case_at) if m is not None), default=None)
        if deadline is None:
            await workflow.wait_condition(lambda: self.state.seq != seen or until())
            return
        try:
            await workflow.wait_condition(
                lambda: self.state.seq != seen or until(),
                timeout=max(deadline - workflow.now(), timedelta(0)),
                timeout_summary="task deadline" if deadline == task_at else "case deadline",
            )
        except TimeoutError:
            ctx = self.ctx()
            events = (
                clock_events(self.state, ctx, p.calendar, p.escalation_grace_days)
                if self._clocks
                else []
            )
            events += alarm_events(self.state, ctx)
            if events:
                with contextlib.suppress(Superseded):  # the caller looks at the clock again
                    await self.apply(events)

    # -- continue-as-new ------------------------------------------------------------------

    def continue_as_new_wanted(self) -> bool:
        """Whether this run should hand over to a new one: past its share of Updates, or
        Temporal suggests it (the history's event count or size)."""
        if self._continuing_declined or self.state.status is not Status.OPEN:
            return False
        return (
            self._updates >= self.updates_per_run or workflow.info().is_continue_as_new_suggested()
        )

    async def continue_as_new_if_wanted(self) -> None:
        """At a quiet point of the run (nothing of the workflow's own in flight: no
        activity, no timer it must see end), continue as new if wanted: once every
        Update handler has finished and everything decided is recorded, the next run
        starts from the recorded state (`continuation`). Runs recorded before this
        existed replay without the patch's marker and go on as they did."""
        if not self.continue_as_new_wanted():
            return
        if not self.continues_as_new():
            self._continuing_declined = True
            return

        def quiet() -> bool:
            return (
                workflow.all_handlers_finished()
                and not self._pending
                and self._recorded_seq >= self.state.seq
            )

        while True:
            await workflow.wait_condition(quiet)
            if self.state.status is not Status.OPEN:
                return  # closed by an action meanwhile: this run finishes the case
            # The server refuses a workflow task that ends the run while an Update came
            # in meanwhile, and the task runs again with the Update first: anything it
            # had recorded would be decided again, in another order (an id drawn twice).
            # So the hand-over comes in a workflow task of its own, which records nothing.
            await workflow.sleep(HAND_OVER_PAUSE, summary="continue as new")
            if quiet() and self.state.status is Status.OPEN:
                workflow.continue_as_new(self.next_run_input(self.continuation()))

    def continues_as_new(self) -> bool:
        """Whether this run may hand over (the `continue-as-new` patch): asked where it
        would, so a history recorded before, with as many Updates, replays without it."""
        return workflow.patched(CONTINUE_AS_NEW)

    def continuation(self) -> CaseContinuation:
        """What the next run starts from (processes add their own flags)."""
        return CaseContinuation(state=self.state, clocks=self._clocks, run=self._run + 1)

    def next_run_input(self, continued: CaseContinuation) -> Any:
        """The workflow's start input for its next run, carrying `continued`."""
        raise NotImplementedError

    def go_on(self) -> None:
        """Start a continued run where the last one stopped (`_init_case` took the state
        and what was decided once): the case's search attributes, kept as the last run
        left them."""
        self._update_search_attributes()

    async def finish(self) -> CaseView:
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self._recorded_seq >= self.state.seq
        )
        return CaseView.of(self.state)

    def _update_search_attributes(self) -> None:
        s = self.state
        task = s.task
        wanted: dict[str, Any] = {
            CASE_TYPE.name: s.case_type,
            CASE_STAGE.name: s.stage,
            CASE_DISTRICT.name: s.district,
            CASE_STATUS.name: s.status.value,
            CASE_ASSIGNEE.name: task.assignee if task else None,
            CASE_DUE_AT.name: task.due_at if task else None,
        }
        keys = {
            k.name: k
            for k in (CASE_TYPE, CASE_STAGE, CASE_DISTRICT, CASE_STATUS, CASE_ASSIGNEE, CASE_DUE_AT)
        }
        changes = []
        for name, value in wanted.items():
            if self._search.get(name, ...) == value:
                continue
            self._search[name] = value
            key = keys[name]
            changes.append(key.value_unset() if value is None else key.value_set(value))  # type: ignore[attr-defined]
        if changes:
            workflow.upsert_search_attributes(changes)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)
