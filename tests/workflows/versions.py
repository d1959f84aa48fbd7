"""Earlier and wrong versions of the hardship workflow, for the versioning tests.

Kept in a module of their own with few imports: the workflow sandbox re-imports the
module that defines a workflow class."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from casework.domain.case import CaseView
    from casework.domain.hardship import StartHardshipCase
    from workflows.hardship_relief import HardshipReliefWorkflow


@workflow.defn(name="HardshipRelief")
class HardshipReliefBeforeReceiptConfirmation(HardshipReliefWorkflow):
    """The workflow as deployed before version 2: it never asks for the patch."""

    def confirms_receipt(self) -> bool:
        return False

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        return await super().run(start)


@workflow.defn(name="HardshipRelief")
class Unguarded(HardshipReliefWorkflow):
    """The same change made without `workflow.patched`: new path for every case."""

    def confirms_receipt(self) -> bool:
        return True

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        return await super().run(start)


@workflow.defn(name="HardshipRelief")
class HardshipReliefBeforePaidIsFinal(HardshipReliefWorkflow):
    """As deployed before the `paid-is-final` rule: a paid case could still be rejected."""

    def rule_in_force(self, patch: str) -> bool:
        return patch != "paid-is-final" and super().rule_in_force(patch)

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        self.process.paid_is_final = False
        return await super().run(start)


@workflow.defn(name="HardshipRelief")
class HardshipReliefBeforeWorkingDayPauses(HardshipReliefWorkflow):
    """As deployed before pauses counted in working days: calendar time."""

    def rule_in_force(self, patch: str) -> bool:
        return patch != "working-day-pauses" and super().rule_in_force(patch)

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        return await super().run(start)


@workflow.defn(name="HardshipRelief")
class HardshipReliefBeforeObjectors(HardshipReliefWorkflow):
    """As deployed before objections named their objector."""

    def rule_in_force(self, patch: str) -> bool:
        return patch != "objector-recorded" and super().rule_in_force(patch)

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        self.process.objector_recorded = False
        return await super().run(start)


@workflow.defn(name="HardshipRelief")
class RulesUnguarded(HardshipReliefWorkflow):
    """Corrected rules without their patches: every action judged by them on replay."""

    def rule_in_force(self, patch: str) -> bool:
        return True

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        return await super().run(start)


@workflow.defn(name="HardshipRelief")
class HardshipReliefBeforeContinueAsNew(HardshipReliefWorkflow):
    """As deployed before runs continued as new: one run, however many Updates."""

    def continue_as_new_wanted(self) -> bool:
        return False

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        return await super().run(start)


@workflow.defn(name="HardshipRelief")
class ContinuesUnguarded(HardshipReliefWorkflow):
    """Continue-as-new without its patch: an old case past the threshold hands over."""

    def continues_as_new(self) -> bool:
        return True

    @workflow.run
    async def run(self, start: StartHardshipCase) -> CaseView:
        return await super().run(start)
