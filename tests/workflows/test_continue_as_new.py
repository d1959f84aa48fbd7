"""Continue-as-new: a case's workflow hands over to a new run before its history nears
Temporal's limits (2,000 Updates a run; the event-count and size warning), and the new
run goes on exactly where the old one stopped.

The threshold is set low here (`updates_per_run`). A hardship case crosses it several
times on its way to filed: while its civil-affairs check runs (the run waits for the
answer), during its public notice (the new run waits out the rest of it), with a task
clock running (it falls overdue on time in the later run), and while the transfer is
retried (paid once). The test-only limitation process does the same with a case
deadline and an assigned task. Each time nothing is recorded twice and every run's
history replays.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from temporalio import workflow
from temporalio.worker import Replayer

from casework.domain.hardship import HardshipConfig, Stage, StartHardshipCase
from tests.conftest import DATA_CONVERTER
from tests.limitation import LIMITATION, StartLimitationCase
from tests.workflows.conftest import Harness, civil_affairs_done, wait_for
from tests.workflows.limitation_workflow import LimitationWorkflow
from tests.workflows.lt import (
    LAWYER,
    Limitation,
    limitation_cases,  # noqa: F401 - the `lt` fixture
    own_server,  # noqa: F401 - the `env` fixture: these cases skip months, on a server of their own
)
from tests.workflows.runs import (
    assert_one_continuous_log,
    ended_as_continued,
    handed_over,
    runs_of,
)
from tests.workflows.steps import (
    GR2,
    GR3,
    OFFICER,
    QUICK,
    advance,
    after_disbursement,
    events_of,
    ledger,
    sleep_until,
    state,
    visit,
)
from tests.workflows.versions import ContinuesUnguarded, HardshipReliefBeforeContinueAsNew
from workflows.hardship_relief import HardshipReliefWorkflow

MINUTE = timedelta(minutes=1)
ACCEPTOR = "city.legalaid"


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK.model_copy(update={"updates_per_run": 3})


async def comment(h: Harness, case_id: str, n: int, who: str = OFFICER) -> None:
    for i in range(n):
        await h.act(case_id, who, "comment", f"跟进记录 {i + 1}")


async def handed_over_to(h: Harness, case_id: str, run: int) -> None:
    """Skip past the hand-over's pause; the case's workflow is then in its `run`-th run."""
    await h.env.sleep(2)
    for _ in range(100):
        if len(await runs_of(h, case_id)) == run:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{case_id}: not in run {run}")


def activities_scheduled(runs: list) -> dict[str, int]:  # type: ignore[type-arg]
    found: dict[str, int] = {}
    for run in runs:
        for e in run.events:
            if e.HasField("activity_task_scheduled_event_attributes"):
                name = e.activity_task_scheduled_event_attributes.activity_type.name
                found[name] = found.get(name, 0) + 1
    return found


async def replays(histories: list, workflow: type) -> None:  # type: ignore[type-arg]
    replayer = Replayer(workflows=[workflow], data_converter=DATA_CONVERTER)
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, history.workflow_id


async def test_a_hardship_case_continues_as_new_and_finishes_as_it_would_have(
    harness: Harness,
) -> None:
    h = harness
    h.bank.fail_next = 1  # the transfer is retried once
    cid = (await h.open()).case_id  # Update 1 of the first run (the opening's sync)
    h.civil.unanswered_cases.add(cid)  # the registry does not answer for now
    await h.act(cid, GR2, "approve", "材料齐全")  # 2: the home visit, its check started
    # 3 and 4 while the civil-affairs check runs: the run waits for its answer.
    await comment(h, cid, 2)
    await h.env.sleep(60)
    assert len(await runs_of(h, cid)) == 1
    h.civil.unanswered_cases.discard(cid)
    await h.env.sleep(6 * 60)  # the check's next attempt answers
    await civil_affairs_done(h, cid)
    await handed_over_to(h, cid, run=2)
    await visit(h, cid)
    # During the public notice: the next run waits out the rest of it.
    s = await state(h, cid)
    assert s.stage == Stage.PUBLIC_NOTICE
    ends = datetime.fromisoformat(s.facts["notice_ends_at"])
    await comment(h, cid, 2)
    await handed_over_to(h, cid, run=3)
    await sleep_until(h, ends - MINUTE)
    assert (await state(h, cid)).stage == Stage.PUBLIC_NOTICE
    await sleep_until(h, ends + MINUTE)
    await wait_for(lambda st: st.stage == Stage.DISTRICT_REVIEW, h, cid)
    [ended] = events_of(h, cid, "notice.ended")
    assert ends <= ended.occurred_at < ends + MINUTE
    # A task clock across a hand-over: overdue on time in the later run.
    await comment(h, cid, 3)
    await handed_over_to(h, cid, run=4)
    due = (await state(h, cid)).task.due_at  # type: ignore[union-attr]
    assert due is not None
    await sleep_until(h, due + MINUTE)
    await wait_for(lambda st: st.task is not None and st.task.overdue, h, cid)
    [overdue] = events_of(h, cid, "task.overdue")
    assert due <= overdue.occurred_at < due + MINUTE
    # The payment, retried, with the run past its share: it hands over once paid.
    await h.act(cid, OFFICER, "approve", "审核通过")
    await h.act(cid, "chongchuan.leader", "approve", "同意")
    await comment(h, cid, 1)
    assert len(await runs_of(h, cid)) == 4  # the transfer under way
    await after_disbursement(h, cid)
    await handed_over_to(h, cid, run=5)
    assert (await state(h, cid)).stage == Stage.RECEIPT_CONFIRMATION
    await advance(h, cid, "filed")
    view = await h.result(cid)
    assert (view.status, view.outcome) == ("closed", "approved")

    # Paid once (one transfer, one reservation), checked once, noticed once.
    assert len(h.bank.transfers) == 1
    assert ledger(h, cid) == [("reserved", 300_000), ("disbursed", 300_000)]
    for once in ("civil_affairs.checked", "notice.ended", "disbursement.completed"):
        assert len(events_of(h, cid, once)) == 1, once
    assert_one_continuous_log(h, cid)
    runs = await runs_of(h, cid)
    # One check and one payment, each retried within its run, never started again.
    assert activities_scheduled(runs) == {"check_civil_affairs": 1, "disburse": 1}
    assert all(ended_as_continued(r) for r in runs[:-1]) and not ended_as_continued(runs[-1])
    starts = await handed_over(runs, StartHardshipCase)
    stages = [c.state.stage for c in starts]
    # Handed over after the check answered, during the notice, with the review's clock
    # running, and after the payment; never with the check or the payment under way.
    assert stages[:4] == ["home_visit", "public_notice", "district_review", "receipt_confirmation"]
    assert "disbursement" not in stages
    for c in starts:
        assert c.flags == {"receipt-confirmation": True} and c.rules_read_at is not None
        if c.state.stage == "home_visit":
            assert "civil_affairs_match" in c.state.facts
    assert [c.run for c in starts] == list(range(2, len(runs) + 1))
    await replays(runs, HardshipReliefWorkflow)


async def test_a_case_deadline_and_an_assigned_task_go_on_in_the_next_run(
    lt: Limitation,
) -> None:
    h = lt.h
    knew_on = await lt.knew_on_for(days_left=64)
    opened = await lt.open(knew_on, updates_per_run=2)  # Update 1: the opening's sync
    cid = opened.case_id
    due = opened.deadlines[0].due_at
    await h.act(cid, ACCEPTOR, "approve", "受理，指派律师", {"lawyer": LAWYER})
    await handed_over_to(h, cid, run=2)
    # The task opened assigned is still the lawyer's alone.
    assert cid in [i.case_id for i in h.queries.inbox(h.directory.get(LAWYER))]
    await comment(h, cid, 2, who=LAWYER)
    await handed_over_to(h, cid, run=3)
    # The 60-day warning rings in a later run, on its day.
    w60 = due - timedelta(days=60)
    await sleep_until(h, w60 - MINUTE)
    assert events_of(h, cid, "deadline.warned") == []
    await sleep_until(h, w60 + MINUTE)
    await wait_for(lambda s: s.deadlines[LIMITATION].warned_days_before == 60, h, cid)
    [warned] = events_of(h, cid, "deadline.warned")
    assert w60 <= warned.occurred_at < w60 + MINUTE
    award_on = (await lt.today()).isoformat()
    await h.act(cid, LAWYER, "approve", "已申请仲裁", {"award_on": award_on})
    await comment(h, cid, 1, who=LAWYER)
    await handed_over_to(h, cid, run=4)
    await h.act(cid, LAWYER, "approve", "已起诉")
    view = await h.result(cid)
    assert view.status == "closed"
    assert {d.name: d.status for d in view.deadlines} == {LIMITATION: "met", "sue": "met"}
    assert_one_continuous_log(h, cid)
    runs = await runs_of(h, cid)
    starts = await handed_over(runs, StartLimitationCase)
    assert [c.state.stage for c in starts] == ["handling", "handling", "litigation"]
    assert [c.state.task.assignee for c in starts] == [LAWYER] * 3  # type: ignore[union-attr]
    assert starts[1].state.deadlines[LIMITATION].warned_days_before is None
    assert starts[2].state.deadlines[LIMITATION].status == "met"
    await replays(runs, LimitationWorkflow)


async def test_a_case_that_ran_before_continue_as_new_replays_in_one_run(
    harness: Harness,
) -> None:
    """A worker of the code before this change keeps a case in one run past the
    threshold. Today's code replays its history (the `continue-as-new` patch is absent
    where it would hand over); the same change without the patch cannot."""
    h, worker = harness.on_own_queue()
    async with worker(HardshipReliefBeforeContinueAsNew):
        cid = (await h.open()).case_id
        h.opened.remove(cid)  # finished here
        await h.act(cid, GR2, "approve", "材料齐全")
        await comment(h, cid, 4)
        await h.env.sleep(2)
        await advance(h, cid, "filed")
        assert (await h.result(cid)).status == "closed"
    [old] = await runs_of(h, cid)
    await replays([old], HardshipReliefWorkflow)
    result = await Replayer(
        workflows=[ContinuesUnguarded], data_converter=DATA_CONVERTER
    ).replay_workflow(old, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)


async def test_updates_arriving_as_a_run_hands_over_are_recorded_once(harness: Harness) -> None:
    """Officers keep acting while the run hands over, right as the civil-affairs answer
    comes in and is recorded: every action is recorded once, in one continuous log
    (a run that recorded the answer and ended in the same workflow task would have been
    refused by the server for the Updates that came in, and decided again: an id drawn
    twice)."""
    h = harness
    cid = (await h.open()).case_id
    h.civil.unanswered_cases.add(cid)
    await h.act(cid, GR2, "approve", "材料齐全")
    await comment(h, cid, 1)  # past the threshold, the check still running
    h.civil.unanswered_cases.discard(cid)

    async def officers() -> None:
        await asyncio.gather(*(comment(h, cid, 3, who=who) for who in (OFFICER, GR2, GR3)))

    await asyncio.gather(officers(), h.env.sleep(6 * 60))
    await civil_affairs_done(h, cid)
    await handed_over_to(h, cid, run=len(await runs_of(h, cid)))
    assert len(events_of(h, cid, "case.commented")) == 10
    assert_one_continuous_log(h, cid)
    await replays(await runs_of(h, cid), HardshipReliefWorkflow)
