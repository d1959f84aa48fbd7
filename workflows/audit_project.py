"""An audit project (工会经费审计) as a durable workflow: processes.md section 4.

The shared case machinery (workflows/case.py) does most of it: people's actions through
the `act` Update, the stage's task clock and every finding's rectification task clock
(one timer, the soonest: a project with 50 findings waits on one timer, not 50), and
continue-as-new. Of its own it has the opening (the time rules read once from the
worker and kept in history, the opener checked again) and the audited unit's reply
window: a timer that, when it runs out before the unit has replied, records the silence
as no objection (`AuditProcess.reply_window_ended`), as hardship's public notice ends;
and the sample a special audit of relief money draws (`draw-sample`): the handler has
the store draw and check it (the `draw_audit_sample` activity) before the action is
decided, so what is recorded is what the store answered, not what a caller claims, and
replays from history.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.case import CaseWorkflow, Superseded, activity_failure

with workflow.unsafe.imports_passed_through():
    from casework.domain.audit import (
        CASE_TYPE,
        AuditAction,
        AuditConfig,
        AuditProcess,
        Stage,
        StartAuditCase,
        check_opener,
    )
    from casework.domain.audit_sample import SampleDraw, SampleQuery, SampleRequest
    from casework.domain.case import (
        ActRequest,
        CaseContinuation,
        CaseState,
        CaseView,
        Status,
    )
    from casework.domain.contracts import DRAW_AUDIT_SAMPLE

SAMPLE_TIMEOUT = timedelta(minutes=2)
SAMPLE_RETRY = RetryPolicy(maximum_attempts=3)
"""A store that does not answer within a few attempts fails the action, not the case:
the auditor draws again later."""


@workflow.defn(name="AuditProject")
class AuditWorkflow(CaseWorkflow):
    process: AuditProcess
    waitable_refusals = frozenset({"sample_not_drawn"})

    @workflow.init
    def __init__(self, start: StartAuditCase) -> None:
        continued = start.continued
        self._init_case(
            AuditProcess(start.config or AuditConfig()),
            continued.state if continued else CaseState(case_id=start.case_id),
            continued,
        )
        self._start = start

    @workflow.run
    async def run(self, start: StartAuditCase) -> CaseView:
        if start.continued is None:
            await self.open_with_rules(start, CASE_TYPE, AuditConfig, check_opener)
        else:
            self.go_on()
        self.updates_per_run = self.process.config.updates_per_run
        while True:
            while self.state.status is Status.OPEN:
                if self._pending:
                    # The reply window starts once the draft's sending is recorded (a
                    # refused recording takes it back).
                    await workflow.wait_condition(lambda: not self._pending)
                    continue
                if self.continue_as_new_wanted():
                    await self.continue_as_new_if_wanted()
                    continue
                if self.state.stage == Stage.REPLY:
                    await self._reply_window()
                else:
                    await self.wait_for_change(until=self.continue_as_new_wanted)
            view = await self.finish()
            if view.status is not Status.OPEN:
                return view
            # The closing action was refused when recorded and taken back: go on.

    async def _reply_window(self) -> None:
        """Until the unit replies (its officer approves the reply task) or the window
        ends; then silence is recorded as no objection. The reply task is due when the
        window ends, and the window's end, not the task clock, decides what happens."""
        sent = self.state.facts.get("draft_sent_on")
        ends = datetime.fromisoformat(str(self.state.facts["reply_ends_at"]))

        def interrupted() -> bool:
            return (
                self.state.status is not Status.OPEN
                or self.state.stage != Stage.REPLY
                or self.state.facts.get("draft_sent_on") != sent
                # time to continue as new: the next run waits out the rest of the window
                or self.continue_as_new_wanted()
            )

        try:
            await workflow.wait_condition(
                interrupted,
                timeout=max(ends - workflow.now(), timedelta(0)),
                timeout_summary="reply window",
            )
        except TimeoutError:
            if not interrupted():
                with contextlib.suppress(Superseded):  # the loop looks at the window again
                    await self.apply(self.process.reply_window_ended(self.state, self.ctx()))

    async def ready_for(self, req: ActRequest) -> None:
        """A sample is drawn and checked by the store before `draw-sample` is decided."""
        if req.action != AuditAction.DRAW_SAMPLE:
            return
        try:
            request = SampleRequest.model_validate(req.data).in_district(self.state.district)
        except ValueError:
            return  # refused as it is decided
        try:
            self.process.drawn = await workflow.execute_activity(
                DRAW_AUDIT_SAMPLE,
                SampleQuery(case_id=self.state.case_id, request=request),
                result_type=SampleDraw,
                start_to_close_timeout=SAMPLE_TIMEOUT,
                retry_policy=SAMPLE_RETRY,
                summary="draw the audit sample",
            )
        except ActivityError as err:
            cause = activity_failure(err)
            reason = cause.message if cause is not None else str(err)
            raise ApplicationError(
                f"抽样失败，请稍后重试 (the sample could not be drawn: {reason})",
                {"code": "sample_failed", "field": None},
                type="sample_failed",
                non_retryable=True,
            ) from None

    def next_run_input(self, continued: CaseContinuation) -> StartAuditCase:
        return self._start.model_copy(
            update={"config": self.process.config, "continued": continued}
        )
