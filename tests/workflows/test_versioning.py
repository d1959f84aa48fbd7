"""Changing a running process: cases started before a change finish on the old path,
cases started after it take the new one.

Version 2 of hardship relief added the receipt confirmation (到账确认) between the
transfer and registration, behind `workflow.patched("receipt-confirmation")`. Here a
worker running the code as it was before the change starts a case; it is stopped
half-way and a worker with today's code takes over (what a deployment does). The old
case must finish without the new stage, a new case must go through it, and both
histories must replay against today's code.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.worker import Replayer

from casework.config import ProcessConfig
from casework.domain.hardship import HardshipConfig, Period, Stage
from tests.conftest import DATA_CONVERTER
from tests.workflows.conftest import Harness
from tests.workflows.steps import GR3, OFFICER, OPENER, advance, events_of, history
from tests.workflows.versions import (
    HardshipReliefBeforeObjectors,
    HardshipReliefBeforePaidIsFinal,
    HardshipReliefBeforeReceiptConfirmation,
    RulesUnguarded,
    Unguarded,
)
from workflows.hardship_relief import HardshipReliefWorkflow


def stages(h: Harness, case_id: str) -> list[str]:
    return [e.payload["stage"] for e in events_of(h, case_id, "case.stage_entered")]


async def test_cases_started_before_a_change_finish_on_the_old_path(harness: Harness) -> None:
    h, worker = harness.on_own_queue()
    async with worker(HardshipReliefBeforeReceiptConfirmation):
        old = (await h.open()).case_id
        await advance(h, old, "district_review")

    # Deployed: a new worker process with today's code; the old case's history is
    # replayed on it and continues from where it stopped.
    async with worker(HardshipReliefWorkflow, cache=10_000):
        await advance(h, old, "filed")
        new = (await h.open()).case_id
        await advance(h, new, "filed")

    assert "receipt_confirmation" not in stages(h, old)
    assert stages(h, old)[-3:] == ["disbursement", "registration", "filed"]
    assert stages(h, new)[-4:] == ["disbursement", "receipt_confirmation", "registration", "filed"]
    assert (await h.result(old)).outcome == (await h.result(new)).outcome == "approved"

    replayer = Replayer(workflows=[HardshipReliefWorkflow], data_converter=DATA_CONVERTER)
    for case_id in (old, new):
        await replayer.replay_workflow(await history(h, case_id))


async def test_an_unpatched_change_would_break_the_old_case(harness: Harness) -> None:
    """The guard itself: the same change without `workflow.patched` cannot replay an
    old case's history (so the replay test in CI catches a forgotten patch)."""

    h, worker = harness.on_own_queue()
    async with worker(HardshipReliefBeforeReceiptConfirmation):
        old = (await h.open()).case_id
        await advance(h, old, "filed")
    old_history = await history(h, old)

    replayer = Replayer(workflows=[Unguarded], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(old_history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
    replayer = Replayer(workflows=[HardshipReliefWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(old_history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_a_case_rejected_after_payment_before_the_rule_still_replays(
    harness: Harness,
) -> None:
    """A case that a worker of the old code rejected after the payment (what the
    `already_paid` rule now refuses) replays on today's code: the handler asks the
    `paid-is-final` patch, which an old history does not have, and judges by the old
    rule. Without the patch the replay fails."""
    h, worker = harness.on_own_queue()
    async with worker(HardshipReliefBeforePaidIsFinal):
        old = (await h.open()).case_id
        await advance(h, old, "registration")
        v = await h.act(old, OFFICER, "reject", "不符合条件")
        assert (v.status, v.outcome, v.stage) == ("closed", "rejected", "registration")
    old_history = await history(h, old)

    replayer = Replayer(workflows=[HardshipReliefWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(old_history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    replayer = Replayer(workflows=[RulesUnguarded], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(old_history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)


async def test_an_old_objection_after_the_rules_were_re_read_still_replays(
    harness: Harness,
) -> None:
    """The administrator changes a time limit during the notice; an objection follows,
    recorded by a worker of the code before objectors were named. Replaying it, the
    handler learns from the missing patch to judge by the old rule, then re-reads the
    rules: the workflow's one process object keeps both (a process rebuilt from the new
    rules would have forgotten the old one and refused the objection)."""
    h, worker = harness.on_own_queue()
    async with worker(HardshipReliefBeforeObjectors):
        old = (await h.open()).case_id
        await advance(h, old, "public_notice")
        longer = HardshipConfig().limits | {Stage.HOME_VISIT: Period(working_days=8)}
        h.config_source.update(ProcessConfig(hardship=HardshipConfig(limits=longer)))
        await h.env.sleep(120)  # past the minute a reading of the rules is used for
        v = await h.act(old, GR3, "object", "同事反映另有收入")  # no objector: the old rule
        assert v.stage == "home_visit"
        await h.act(old, OPENER, "withdraw", "申请人撤回")
    [objected] = events_of(h, old, "notice.objected")
    assert "objector" not in objected.payload
    old_history = await history(h, old)

    replayer = Replayer(workflows=[HardshipReliefWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(old_history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    replayer = Replayer(workflows=[RulesUnguarded], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(old_history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
