"""A re-verification (复核核查) as a durable workflow: the annual review's follow-up of one
household file (casework.domain.reverification).

The opening is checked by the worker before anything is recorded: opened by the review
run, its own row must name this case (`system.annual-review` is in no directory, so its
word is taken only there); opened by a person, the directory vouches for them (the
recording) and the file must be on the register of their district. Then the shared case
machinery (workflows/case.py): the grassroots officer's task with its clock, request-info,
supervision. Once closed, the resolution goes onto the review's row.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.case import CONFIG_TIMEOUT, CaseWorkflow, refusal

with workflow.unsafe.imports_passed_through():
    from activities.reverification import (
        CHECK_OPENING,
        RECORD_RESOLUTION,
        OpeningAnswer,
        OpeningCheck,
        ResolutionCall,
    )
    from casework.domain.case import CaseContinuation, CaseState, CaseView, Refused, Status
    from casework.domain.contracts import PROCESS_CONFIG
    from casework.domain.reverification import (
        CASE_TYPE,
        ReverificationConfig,
        ReverificationProcess,
        StartReverification,
        check_opener,
        opened_by_review,
        resolution_of,
    )

RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn(name="Reverification")
class ReverificationWorkflow(CaseWorkflow):
    process: ReverificationProcess

    @workflow.init
    def __init__(self, start: StartReverification) -> None:
        continued = start.continued
        self._init_case(
            ReverificationProcess(start.config or ReverificationConfig()),
            continued.state if continued else CaseState(case_id=start.case_id),
            continued,
        )
        self._start = start

    async def _open(self, start: StartReverification) -> None:
        self.start_task_clocks()
        config = start.config or await workflow.execute_local_activity(
            PROCESS_CONFIG,
            CASE_TYPE,
            result_type=ReverificationConfig,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        self.process.use(config)
        self._start = start.model_copy(update={"config": config})
        app = start.application
        by_review = opened_by_review(start.opened_by)
        try:
            if not by_review:
                check_opener(start.opened_by, app.district)
        except Refused as r:
            raise refusal(r) from None
        answer = await workflow.execute_local_activity(
            CHECK_OPENING,
            OpeningCheck(
                case_id=start.case_id,
                household_file=app.household_file,
                district=app.district,
                year=app.review_year,
                follow_up=app.follow_up,
                by_review=by_review,
            ),
            result_type=OpeningAnswer,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        if answer.code is not None:
            raise refusal(Refused(answer.code, answer.message or answer.code, "household_file"))
        events = self.process.open(start, self.state, self.ctx())
        # The review's own openings record no person: the row checked above vouches.
        await self.apply(events, actor=None if by_review else start.opened_by)

    @workflow.run
    async def run(self, start: StartReverification) -> CaseView:
        if start.continued is None:
            await self._open(start)
        else:
            self.go_on()
        self.updates_per_run = self.process.config.updates_per_run
        while True:
            while self.state.status is Status.OPEN:
                if self.continue_as_new_wanted():
                    await self.continue_as_new_if_wanted()
                    continue
                await self.wait_for_change(until=self.continue_as_new_wanted)
            view = await self.finish()
            if view.status is not Status.OPEN:
                break
        resolution = resolution_of(self.state.outcome)
        if resolution is not None and opened_by_review(self._start.opened_by):
            app = self._start.application
            await workflow.execute_activity(
                RECORD_RESOLUTION,
                ResolutionCall(
                    case_id=self.state.case_id,
                    household_file=app.household_file,
                    year=app.review_year,
                    resolution=resolution,
                ),
                result_type=bool,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RETRY,
            )
        return view

    def next_run_input(self, continued: CaseContinuation) -> StartReverification:
        return self._start.model_copy(update={"continued": continued})
