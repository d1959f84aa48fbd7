"""The test-only parallel process (tests/parallel.py) as a workflow on the shared
`CaseWorkflow`: nothing of its own but the opening and the run's loop, so that what it
shows (several open tasks, each with its own clock waking the workflow, supervisors and
officers acting per task) is the base's.

Kept in a module of its own with few imports: the workflow sandbox re-imports the
module that defines a workflow class."""

from __future__ import annotations

from temporalio import workflow

from workflows.case import CaseWorkflow

with workflow.unsafe.imports_passed_through():
    from casework.domain.case import CaseContinuation, CaseState, CaseView, Status
    from tests.parallel import ParallelProcess, StartParallelCase

PARALLEL_WORKFLOW = "ParallelTest"


@workflow.defn(name=PARALLEL_WORKFLOW)
class ParallelWorkflow(CaseWorkflow):
    @workflow.init
    def __init__(self, start: StartParallelCase) -> None:
        continued = start.continued
        self._init_case(
            ParallelProcess(),
            continued.state if continued else CaseState(case_id=start.case_id),
            continued,
        )
        self._start = start
        self.updates_per_run = start.updates_per_run

    @workflow.run
    async def run(self, start: StartParallelCase) -> CaseView:
        if start.continued is None:
            self.start_task_clocks()
            process: ParallelProcess = self.process  # type: ignore[assignment]
            await self.apply(process.open(start, self.state, self.ctx()), actor=start.opened_by)
        else:
            self.go_on()
        while True:
            while self.state.status is Status.OPEN:
                if self.continue_as_new_wanted():
                    await self.continue_as_new_if_wanted()
                    continue
                await self.wait_for_change(until=self.continue_as_new_wanted)
            view = await self.finish()
            if view.status is not Status.OPEN:
                return view

    def next_run_input(self, continued: CaseContinuation) -> StartParallelCase:
        return self._start.model_copy(update={"continued": continued})
