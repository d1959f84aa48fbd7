"""A refund review (返还复核) as a durable workflow: one exception of a year's refund run
(casework.domain.refund_review). The opening is checked by the worker against the run's
own row before anything is recorded; then the shared case machinery (street/town
check, district review, leader approval: tasks, clocks, supervision); once approved,
the payment activity pays the dues recorded and the case closes, paid or refused."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.case import CONFIG_TIMEOUT, CaseWorkflow, refusal

with workflow.unsafe.imports_passed_through():
    from activities.refund_review import (
        CHECK_REVIEW_OPENING,
        PAY_REVIEW,
        PayReviewCall,
        ReviewOpeningAnswer,
        ReviewOpeningCheck,
        ReviewPaid,
    )
    from casework.domain.case import CaseContinuation, CaseState, CaseView, Refused, Status
    from casework.domain.contracts import PROCESS_CONFIG
    from casework.domain.refund_review import (
        CASE_TYPE,
        RefundReviewConfig,
        RefundReviewProcess,
        Stage,
        StartRefundReview,
        check_opener,
        opened_by_run,
    )

PAY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


@workflow.defn(name="RefundReview")
class RefundReviewWorkflow(CaseWorkflow):
    process: RefundReviewProcess

    @workflow.init
    def __init__(self, start: StartRefundReview) -> None:
        continued = start.continued
        self._init_case(
            RefundReviewProcess(start.config or RefundReviewConfig()),
            continued.state if continued else CaseState(case_id=start.case_id),
            continued,
        )
        self._start = start

    async def _open(self, start: StartRefundReview) -> None:
        self.start_task_clocks()
        config = start.config or await workflow.execute_local_activity(
            PROCESS_CONFIG,
            CASE_TYPE,
            result_type=RefundReviewConfig,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        self.process.use(config)
        self._start = start.model_copy(update={"config": config})
        by_run = opened_by_run(start.opened_by)
        try:
            if not by_run:
                check_opener(start.opened_by, start.application.district)
        except Refused as r:
            raise refusal(r) from None
        answer = await workflow.execute_local_activity(
            CHECK_REVIEW_OPENING,
            ReviewOpeningCheck(case_id=start.case_id, application=start.application, by_run=by_run),
            result_type=ReviewOpeningAnswer,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        if answer.code is not None:
            raise refusal(Refused(answer.code, answer.message or answer.code, "application_id"))
        events = self.process.open(start, self.state, self.ctx())
        await self.apply(events, actor=None if by_run else start.opened_by)

    async def _pay(self) -> None:
        try:
            paid = await workflow.execute_activity(
                PAY_REVIEW,
                PayReviewCall(case_id=self.state.case_id, application=self._start.application),
                result_type=ReviewPaid,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=PAY_RETRY,
            )
        except ActivityError as exc:
            cause = exc.cause
            if not isinstance(cause, ApplicationError):
                raise
            code = cause.type or "refund_refused"
            await self.apply_learnt(
                lambda: self.process.not_paid(self.state, self.ctx(), code, cause.message)
            )
            return
        await self.apply_learnt(
            lambda: self.process.paid(self.state, self.ctx(), paid.amount_fen, paid.transfer_ref)
        )

    @workflow.run
    async def run(self, start: StartRefundReview) -> CaseView:
        if start.continued is None:
            await self._open(start)
        else:
            self.go_on()
        self.updates_per_run = self.process.config.updates_per_run
        while True:
            while self.state.status is Status.OPEN:
                if self.state.stage == Stage.PAYMENT:
                    await self._pay()
                    continue
                if self.continue_as_new_wanted():
                    await self.continue_as_new_if_wanted()
                    continue
                await self.wait_for_change(
                    until=lambda: self.continue_as_new_wanted() or self.state.stage == Stage.PAYMENT
                )
            view = await self.finish()
            if view.status is not Status.OPEN:
                break
        return view

    def next_run_input(self, continued: CaseContinuation) -> StartRefundReview:
        return self._start.model_copy(update={"continued": continued})
