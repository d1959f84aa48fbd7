"""Trade-union legal aid (工会法律援助) as a durable workflow: processes.md section 2.

Everything it does is the shared case machinery (workflows/case.py): people's actions
through the `act` Update, the task clocks, the case deadlines (the limitation period and
the days to sue wake the workflow for their warnings, escalation and passing) and
continue-as-new for a long handling. Of its own it has the opening: the time rules
read once from the worker and kept in history, and the opener checked again (the start
input can reach Temporal without the service)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.case import CaseWorkflow, refusal

with workflow.unsafe.imports_passed_through():
    from casework.domain.case import CaseContinuation, CaseState, CaseView, Refused, Status
    from casework.domain.contracts import PROCESS_CONFIG
    from casework.domain.legal_aid import (
        CASE_TYPE,
        LegalAidConfig,
        LegalAidProcess,
        StartLegalAidCase,
        check_opener,
    )

CONFIG_TIMEOUT = timedelta(seconds=10)


@workflow.defn(name="LegalAid")
class LegalAidWorkflow(CaseWorkflow):
    process: LegalAidProcess

    @workflow.init
    def __init__(self, start: StartLegalAidCase) -> None:
        continued = start.continued
        self._init_case(
            LegalAidProcess(start.config or LegalAidConfig()),
            continued.state if continued else CaseState(case_id=start.case_id),
            continued,
        )
        self._start = start

    @workflow.run
    async def run(self, start: StartLegalAidCase) -> CaseView:
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
                return view
            # The closing action was refused when recorded and taken back: go on.

    async def _open(self, start: StartLegalAidCase) -> None:
        self.start_task_clocks()
        config = start.config
        if config is None:
            config = await workflow.execute_local_activity(
                PROCESS_CONFIG,
                CASE_TYPE,
                result_type=LegalAidConfig,
                start_to_close_timeout=CONFIG_TIMEOUT,
            )
        self.process.use(config)
        try:
            check_opener(start.opened_by, start.application.district)
        except Refused as r:
            raise refusal(r) from None
        await self.apply(self.process.open(start, self.state, self.ctx()), actor=start.opened_by)

    def next_run_input(self, continued: CaseContinuation) -> StartLegalAidCase:
        # The opening is recorded: the next run needs the case's configuration, not the
        # sealed personal fields again.
        return self._start.model_copy(
            update={"config": self.process.config, "personal": None, "continued": continued}
        )
