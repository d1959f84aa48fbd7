"""Hardship relief (困难职工帮扶) as a durable workflow: processes.md section 1."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.case import CaseWorkflow, Superseded, activity_failure, refusal

with workflow.unsafe.imports_passed_through():
    from casework.domain.case import (
        Action,
        ActRequest,
        CaseContinuation,
        CaseState,
        CaseView,
        Refused,
        Status,
    )
    from casework.domain.contracts import (
        ACCOUNT_REJECTED,
        CHECK_CIVIL_AFFAIRS,
        DISBURSE,
        FUNDS_UNAVAILABLE,
        PROCESS_CONFIG,
        CivilAffairsAnswer,
        CivilAffairsQuery,
        DisburseRequest,
        DisburseResult,
        FundReservation,
    )
    from casework.domain.events import NewEvent
    from casework.domain.funds import FUNDS_AVAILABLE
    from casework.domain.hardship import (
        CASE_TYPE,
        PAID_STAGES,
        HardshipConfig,
        HardshipProcess,
        Period,
        Stage,
        StartHardshipCase,
        check_opener,
        fund_year,
    )

CHECK_RETRY_INTERVAL = timedelta(minutes=5)
CHECK_RETRY = RetryPolicy(maximum_interval=CHECK_RETRY_INTERVAL)
CHECK_ATTEMPT_TIMEOUT = timedelta(seconds=30)
CONFIG_TIMEOUT = timedelta(seconds=10)
RULES_FRESH_FOR = timedelta(minutes=1)
"""How long a reading of the time rules is used before the next decision re-reads it."""
RECEIPT_CONFIRMATION = "receipt-confirmation"
AWAITING_FUNDS_PATCH = "awaiting-funds"
FUNDS_RETRY_FIRST = timedelta(hours=1)
FUNDS_RETRY_MAX = timedelta(days=1)
"""A waiting case tries its reservation again on its own after an hour, then at doubling
intervals up to a day: the safety net under the top-up's signal."""


@workflow.defn(name="HardshipRelief")
class HardshipReliefWorkflow(CaseWorkflow):
    process: HardshipProcess
    """The case's one process object: its configuration changes (`use`), never the object."""

    @workflow.init
    def __init__(self, start: StartHardshipCase) -> None:
        # Until the configuration is known the case has no stage: actions are refused.
        # A continued run has both from the start: the state the last run recorded.
        continued = start.continued
        self._init_case(
            HardshipProcess(start.config or HardshipConfig()),
            continued.state if continued else CaseState(case_id=start.case_id),
            continued,
        )
        self._start = start
        self._rules_read_at: datetime | None = continued.rules_read_at if continued else None
        """When the worker's time rules were last read; None: fixed for this case."""
        self._reading_rules = False
        self._confirm_receipt = bool(continued and continued.flags.get(RECEIPT_CONFIRMATION))
        self._funds_nudged = False
        self._funds_tries = 0

    waitable_refusals = frozenset({"check_pending"})

    @workflow.signal(name=FUNDS_AVAILABLE)
    def funds_available(self) -> None:
        """The district's fund was topped up: a waiting case tries its reservation now."""
        self._funds_nudged = True

    async def ready_for(self, req: ActRequest) -> None:
        # Home-visit findings submitted while the civil-affairs check runs wait for its
        # answer (which decides whether an explanation is needed) rather than bounce.
        if req.action == Action.APPROVE and self.state.stage == Stage.HOME_VISIT:
            await workflow.wait_condition(
                lambda: (
                    "civil_affairs_match" in self.state.facts
                    or self.state.stage != Stage.HOME_VISIT
                    or self.state.status is not Status.OPEN
                )
            )
        self.judge_by_rules_in_force(req)

    def judge_by_rules_in_force(self, req: ActRequest) -> None:
        """Rules corrected while cases were running apply to every action from the
        deployment on, running cases included. Asked here, in the handler, just before
        the decision: an action recorded before the change replays without the marker
        and is judged again by the rule it was judged by (README, "Changing a running
        process"). The validator, which may not ask, judges by the rules of the last
        action; every action it lets through is judged again here."""
        process, state = self.process, self.state
        if req.action == Action.REJECT and state.stage in PAID_STAGES:
            process.paid_is_final = self.rule_in_force("paid-is-final")
        elif req.action in (Action.PROVIDE_INFO, Action.RESUME) and _paused(state):
            process.pauses_in_working_days = self.rule_in_force("working-day-pauses")
        elif req.action == Action.OBJECT and state.stage == Stage.PUBLIC_NOTICE:
            process.objector_recorded = self.rule_in_force("objector-recorded")
        elif req.action == Action.APPROVE and state.stage == Stage.REGISTRATION:
            process.files_household = self.rule_in_force("household-filed")
            process.national_ref_required = self.rule_in_force("national-ref")

    def rule_in_force(self, patch: str) -> bool:
        """Whether the rule introduced with `patch` judges this action: always, except
        for an action replayed from a history recorded before it."""
        return workflow.patched(patch)

    async def refresh_rules(self) -> None:
        """Time limits (the civil-affairs check's too), escalation grace and holidays as
        in force on the worker now, so
        that a changed limit applies to tasks opened after the change. Amounts and
        thresholds stay as they were when the case opened. Read at most once a minute
        of workflow time; cases started with an explicit configuration keep it."""
        if self._rules_read_at is None or self._reading_rules:
            return
        if workflow.now() - self._rules_read_at < RULES_FRESH_FOR:
            return
        if not workflow.patched("config-refresh"):
            return
        self._reading_rules = True
        try:
            latest = await workflow.execute_local_activity(
                PROCESS_CONFIG,
                CASE_TYPE,
                result_type=HardshipConfig,
                start_to_close_timeout=CONFIG_TIMEOUT,
            )
        finally:
            self._reading_rules = False
        self._rules_read_at = workflow.now()
        current = self.process.config
        rules = current.model_copy(
            update={
                "limits": latest.limits,
                "escalation_grace_working_days": latest.escalation_grace_working_days,
                "calendar": latest.calendar,
                "civil_affairs_timeout": latest.civil_affairs_timeout,
            }
        )
        if rules != current:
            self.process.use(rules)

    def confirms_receipt(self) -> bool:
        """Version 2 of the process: after the transfer the grassroots officer confirms
        with the worker that the money arrived (到账确认). Decided once, at the start:
        cases started before this change keep the old path to the end (replaying their
        history, the marker is absent), new cases take the new one. See README,
        "Changing a running process"."""
        return workflow.patched(RECEIPT_CONFIRMATION)

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        if start.continued is None:
            await self._open(start)
        else:
            self.go_on()
        self.updates_per_run = self.process.config.updates_per_run
        while True:
            while self.state.status is Status.OPEN:
                if self._pending and self.acts_on_recorded_decisions():
                    await workflow.wait_condition(lambda: not self._pending)
                    continue
                stage = self.state.stage
                checking = (
                    stage == Stage.HOME_VISIT and "civil_affairs_match" not in self.state.facts
                )
                # Between steps, never with the check or the payment under way: the next
                # run starts from the state (the notice's end and the clocks are in it).
                if self.continue_as_new_wanted() and not checking and stage != Stage.DISBURSEMENT:
                    await self.continue_as_new_if_wanted()
                    continue  # handed over, or the case moved on while handlers finished
                if checking:
                    if workflow.patched("civil-affairs-deadline"):
                        await self._check_civil_affairs_until_its_deadline()
                    else:  # cases whose check started before it had an end
                        await self._check_civil_affairs()
                elif stage == Stage.PUBLIC_NOTICE:
                    await self._public_notice()
                elif stage == Stage.DISBURSEMENT:
                    await self._disburse()
                elif stage == Stage.AWAITING_FUNDS:
                    await self._await_funds()
                else:
                    await self.wait_for_change(until=self.continue_as_new_wanted)
            view = await self.finish()
            if view.status is not Status.OPEN:
                return view
            # The closing action was refused when recorded (the directory did not vouch
            # for who sent it) and taken back: the case goes on.

    async def _open(self, start: StartHardshipCase) -> None:
        """The first run: decide once what is decided at the start, read the time rules
        and record the opening."""
        self.start_task_clocks()
        self._confirm_receipt = self.confirms_receipt()
        config = start.config
        if config is None:
            # Time limits are the worker's to decide, read once and kept in history.
            config = await workflow.execute_local_activity(
                PROCESS_CONFIG,
                CASE_TYPE,
                result_type=HardshipConfig,
                start_to_close_timeout=CONFIG_TIMEOUT,
            )
            self._rules_read_at = workflow.now()
        self.process.use(config)
        # The start input may come straight to Temporal: the opener must be allowed to
        # open, and (checked when the opening is recorded) be who they claim. If not,
        # the workflow fails having recorded nothing.
        try:
            check_opener(start.opened_by, start.application.district)
        except Refused as r:
            raise refusal(r) from None
        await self.apply(self.process.open(start, self.state, self.ctx()), actor=start.opened_by)

    def continuation(self) -> CaseContinuation:
        """The next run goes on with the same process version (receipt confirmation)
        and the same reading of the time rules; the civil-affairs check and the
        disbursement never run across it (the run continues only between steps)."""
        return (
            super()
            .continuation()
            .model_copy(
                update={
                    "flags": {RECEIPT_CONFIRMATION: self._confirm_receipt},
                    "rules_read_at": self._rules_read_at,
                }
            )
        )

    def next_run_input(self, continued: CaseContinuation) -> StartHardshipCase:
        # The opening is recorded (its sealed fields with it): the next run needs the
        # configuration in force for this case, not the personal fields again.
        return self._start.model_copy(
            update={"config": self.process.config, "personal": None, "continued": continued}
        )

    def acts_on_recorded_decisions(self) -> bool:
        """Whether the case starts what reaches outside (the civil-affairs check with the
        applicant's ID number, the notice period, the payment) only once the decision
        that leads there is recorded. A decision refused when recorded (an actor the
        directory does not vouch for) is taken back, and must not have reached anyone.
        Cases that ran before this replay without the marker and keep the old order."""
        return workflow.patched("act-on-recorded")

    def _civil_affairs_query(self) -> CivilAffairsQuery:
        facts = self.state.facts
        return CivilAffairsQuery(
            case_id=self.state.case_id,
            district=self.state.district,
            household_size=int(facts.get("household_size", 1)),
            monthly_income_fen=int(facts.get("monthly_income_fen") or 0),
            income_per_head_fen=facts.get("income_per_head_fen"),
        )

    async def _check_civil_affairs_until_its_deadline(self) -> None:
        """Ask the civil-affairs check until `civil_affairs_timeout` runs out, while the
        task clocks run on (and the case may move, e.g. back to the grassroots review).
        No answer by then, or none possible (no ID number on file): recorded as
        unavailable, and the home visit goes on with an explanation."""
        taken_back = self._taken_back
        timeout = self.process.config.civil_affairs_timeout
        now = workflow.now()
        # The server stops retrying once the next attempt would come after this limit:
        # one retry interval beyond the configured time, so that it never gives up early.
        gives_up_at = timeout.end(now, self.process.calendar) + CHECK_RETRY_INTERVAL
        check = workflow.start_activity(
            CHECK_CIVIL_AFFAIRS,
            self._civil_affairs_query(),
            result_type=CivilAffairsAnswer,
            start_to_close_timeout=CHECK_ATTEMPT_TIMEOUT,
            schedule_to_close_timeout=gives_up_at - now,
            retry_policy=CHECK_RETRY,
        )
        while not check.done() and self.state.status is Status.OPEN:
            await self.wait_for_change(until=check.done)
        if self.state.status is not Status.OPEN:  # withdrawn or rejected meanwhile
            check.cancel()
            with contextlib.suppress(ActivityError, asyncio.CancelledError):
                await check
            return
        if self._taken_back != taken_back and (
            self.state.stage != Stage.HOME_VISIT or "civil_affairs_match" in self.state.facts
        ):
            return  # asked for a home visit the case never reached: the loop looks again
        with contextlib.suppress(Superseded):  # the loop asks again if still needed
            try:
                answer = check.result()
            except ActivityError as err:
                reason = _unavailable_reason(err, timeout)
                await self.apply(
                    self.process.civil_affairs_unavailable(self.state, reason, self.ctx())
                )
                return
            await self.apply(
                self.process.civil_affairs_checked(
                    self.state, answer.match, answer.detail, self.ctx()
                )
            )

    async def _check_civil_affairs(self) -> None:
        """The check as it ran before it had an end (replaying cases started then)."""
        taken_back = self._taken_back
        answer = await workflow.execute_activity(
            CHECK_CIVIL_AFFAIRS,
            self._civil_affairs_query(),
            result_type=CivilAffairsAnswer,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=CHECK_RETRY,
        )
        if self._taken_back != taken_back and (
            self.state.stage != Stage.HOME_VISIT or "civil_affairs_match" in self.state.facts
        ):
            return  # asked for a home visit the case never reached: the loop looks again
        if self.state.status is Status.OPEN:
            with contextlib.suppress(Superseded):  # the loop asks again if still needed
                await self.apply(
                    self.process.civil_affairs_checked(
                        self.state, answer.match, answer.detail, self.ctx()
                    )
                )

    async def _public_notice(self) -> None:
        round_ = self.state.facts["notice_round"]
        ends = datetime.fromisoformat(self.state.facts["notice_ends_at"])
        remaining = max(ends - workflow.now(), timedelta(0))

        def interrupted() -> bool:
            return (
                self.state.status is not Status.OPEN  # withdrawn during the notice
                or self.state.stage != Stage.PUBLIC_NOTICE
                or self.state.facts.get("notice_round") != round_
                # time to continue as new: the next run waits out the rest of the notice
                or self.continue_as_new_wanted()
            )

        try:
            await workflow.wait_condition(
                interrupted, timeout=remaining, timeout_summary="public notice period"
            )
        except TimeoutError:
            await self.refresh_rules()
            if not interrupted():  # an objection may have come in while the rules were read
                with contextlib.suppress(Superseded):  # the loop looks at the notice again
                    await self.apply(self.process.notice_ended(self.state, self.ctx()))

    async def _disburse(self) -> None:
        hp = self.process
        year = fund_year(workflow.now())
        reserve = hp.funds_reserved(self.state, self.ctx(), year)
        funds = FundReservation(
            district=self.state.district, year=year, amount_fen=reserve.payload["amount_fen"]
        )
        try:
            # Checked against the district's yearly budget in the append's transaction.
            await self.record([reserve], funds=funds)
        except Superseded:
            return  # decided on a state since taken back: the loop looks again
        except (ActivityError, ApplicationError) as err:  # record_events is a local activity
            cause = activity_failure(err)
            if cause is not None and cause.type == FUNDS_UNAVAILABLE:
                with contextlib.suppress(Superseded):  # the loop tries the reservation again
                    if workflow.patched(AWAITING_FUNDS_PATCH):
                        # Since the funds ledger (#14): the case waits for a top-up.
                        self._funds_tries = 0
                        await self.apply(
                            hp.funds_short(self.state, self.ctx(), cause.message, year)
                        )
                    else:  # cases that reached this before: closed as failed
                        await self.apply(
                            hp.funds_unavailable(self.state, self.ctx(), cause.message)
                        )
                return
            raise
        await self._pay(reserve)

    async def _await_funds(self) -> None:
        """Wait for the district's fund: woken by a top-up's signal, or on a timer with
        backoff (the safety net). Then the reservation is tried with the way back to
        the payment, in one recording: a fund still short records nothing."""
        hp = self.process
        wait = min(FUNDS_RETRY_FIRST * 2**self._funds_tries, FUNDS_RETRY_MAX)

        def moved() -> bool:
            return (
                self._funds_nudged
                or self.state.status is not Status.OPEN
                or self.state.stage != Stage.AWAITING_FUNDS
                or self.continue_as_new_wanted()
            )

        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(moved, timeout=wait, timeout_summary="awaiting funds")
        if self.state.status is not Status.OPEN or self.state.stage != Stage.AWAITING_FUNDS:
            return
        if self.continue_as_new_wanted() and not self._funds_nudged:
            return  # the loop hands over; the next run waits on
        self._funds_nudged = False
        year = fund_year(workflow.now())
        came = hp.funds_came(self.state, self.ctx(), year)
        reserve = came[0]
        funds = FundReservation(
            district=self.state.district, year=year, amount_fen=reserve.payload["amount_fen"]
        )
        try:
            await self.record(came, funds=funds)
        except Superseded:
            return
        except (ActivityError, ApplicationError) as err:
            cause = activity_failure(err)
            if cause is not None and cause.type == FUNDS_UNAVAILABLE:
                self._funds_tries += 1  # still short: wait longer
                return
            raise
        await self._pay(reserve)

    async def _pay(self, reserve: NewEvent) -> None:
        """The transfer of the reserved relief, and what it became."""
        hp = self.process
        config = hp.config
        try:
            result = await workflow.execute_activity(
                DISBURSE,
                DisburseRequest(
                    case_id=self.state.case_id,
                    district=self.state.district,
                    amount_fen=reserve.payload["amount_fen"],
                    idempotency_key=reserve.event_id,
                ),
                result_type=DisburseResult,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=config.disbursement_retry_seconds),
                    backoff_coefficient=2.0,
                    maximum_attempts=config.disbursement_attempts,
                    non_retryable_error_types=[ACCOUNT_REJECTED],
                ),
            )
        except ActivityError as err:
            failure = err.cause
            reason = (
                failure.message if isinstance(failure, ApplicationError) else str(failure or err)
            )
            await self.apply_learnt(lambda: hp.disbursement_failed(self.state, self.ctx(), reason))
            return
        await self.refresh_rules()  # registration opens with the limits in force now
        await self.apply_learnt(
            lambda: self.process.disbursed(
                self.state, self.ctx(), result.transfer_ref, self._confirm_receipt
            )
        )


def _paused(state: CaseState) -> bool:
    return state.task is not None and state.task.paused_at is not None


def _unavailable_reason(err: ActivityError, timeout: Period) -> str:
    """Why the check gave no answer: none possible (its own words), or none in time (the
    time ran out during an attempt, or the next retry would have come after it)."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return cause.message
    zh, en = timeout.label()
    return f"民政核对 {zh} 内未获答复 (no answer from the civil-affairs check within {en})"
