"""Trade-union legal aid (工会法律援助) as a durable workflow: processes.md section 2.

Everything it does is the shared case machinery (workflows/case.py): people's actions
through the `act` Update, the task clocks, the case deadlines (the limitation period and
the days to sue wake the workflow for their warnings, escalation and passing) and
continue-as-new for a long handling. Its opening is the shared `open_with_rules`: the
time rules read once from the worker and kept in history, and the opener checked again
(the start input can reach Temporal without the service)."""

from __future__ import annotations

from temporalio import workflow

from workflows.case import CaseWorkflow

with workflow.unsafe.imports_passed_through():
    from casework.domain.case import CaseContinuation, CaseState, CaseView, Status
    from casework.domain.legal_aid import (
        CASE_TYPE,
        LegalAidConfig,
        LegalAidProcess,
        StartLegalAidCase,
        check_opener,
    )


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
            await self.open_with_rules(start, CASE_TYPE, LegalAidConfig, check_opener)
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

    def next_run_input(self, continued: CaseContinuation) -> StartLegalAidCase:
        # The opening is recorded: the next run needs the case's configuration, not the
        # sealed personal fields again.
        return self._start.model_copy(
            update={"config": self.process.config, "personal": None, "continued": continued}
        )
