"""A household filed by the real hardship workflow leaves the register (解困脱困) through
the `HouseholdExit` workflow: judged by the worker's eligibility rules, its actor
checked against the directory, recorded once on the filing case; and one person cannot
apply again while on the register or with an application open."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from casework.config import ProcessConfig
from casework.domain.eligibility import EligibilityRules
from casework.domain.hardship import HardshipConfig
from casework.domain.org import Actor, Role
from casework.domain.register import (
    ExitKind,
    ExitRequest,
    HouseholdExitStart,
    HouseholdRecord,
    exit_event_id,
)
from casework.service import HOUSEHOLD_EXIT_WORKFLOW, ActionRefused
from casework.store.households import HouseholdDetail
from tests.factories import fresh_id_number
from tests.workflows.conftest import Harness
from tests.workflows.steps import DISTRICT, GR2, OFFICER, QUICK, advance, event_types

ABOVE = [95_000, 96_000, 97_000, 95_500, 98_000, 99_000]
REASON = "配偶康复后重新就业，家庭人均收入连续六个月高于低保"


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


async def filed_household(h: Harness, id_number: str | None = None) -> str:
    view = await h.open(applicant={"id_number": id_number or fresh_id_number()})
    await advance(h, view.case_id, "filed")
    return view.case_id


async def leave(
    h: Harness,
    case_id: str,
    by: str = GR2,
    incomes: list[int] = ABOVE,
    kind: ExitKind = ExitKind.INCOME,
    key: str | None = None,
    comment: str = REASON,
) -> HouseholdDetail:
    request = ExitRequest(kind=kind, comment=comment, incomes_fen=incomes)
    # The service awaits the exit workflow's result, which on the time-skipping server
    # lets time run on to the next timer anywhere (years on): here time stands still.
    with h.env.auto_time_skipping_disabled():
        return await h.service.exit_household(case_id, h.directory.get(by).actor(), request, key)


async def test_a_filed_household_leaves_the_register_once(harness: Harness) -> None:
    h = harness
    cid = await filed_household(h)
    assert h.queries.case_view(cid).status == "closed"
    on_file = h.store.read(cid)
    assert [e.type for e in on_file][-2:] == ["household.filed", "case.closed"]

    detail = await leave(h, cid, key="desk-1")
    assert (detail.status, detail.exit_kind, detail.exited_by) == ("exited", "income", GR2)
    assert detail.exit_reason == REASON
    assert [m.income_per_head_fen for m in detail.exit_months or []] == ABOVE
    assert {m.di_bao_fen for m in detail.exit_months or []} == {90_000}
    assert detail.id_number is not None and "*" in detail.id_number
    log = h.store.read(cid)
    assert [e.type for e in log] == [*[e.type for e in on_file], "household.exited"]
    assert log[-1].event_id == exit_event_id(cid, "desk-1")
    assert h.store.verify().broken == []

    # Sent again with its key (an answer lost on the way): the same file, one exit.
    assert await leave(h, cid, key="desk-1") == detail
    assert event_types(h, cid).count("household.exited") == 1
    # Another exit of the household: refused, naming the day it left.
    with pytest.raises(ActionRefused) as refused:
        await leave(h, cid, by=OFFICER, kind=ExitKind.ANNUAL_REVIEW, incomes=[], key="desk-2")
    assert refused.value.code == "already_exited"
    assert f"{detail.exited_at:%Y}" in refused.value.message
    assert event_types(h, cid).count("household.exited") == 1


async def test_the_worker_judges_the_months_by_its_own_rules(harness: Harness) -> None:
    h = harness
    cid = await filed_household(h)
    # A month at 低保 exactly is not above it: refused naming it, nothing recorded.
    low = [*ABOVE[:3], 90_000, *ABOVE[4:]]
    with pytest.raises(ActionRefused) as refused:
        await leave(h, cid, incomes=low, key="k-7")
    assert (refused.value.code, refused.value.field) == ("not_above_di_bao", "incomes_fen.3")
    with pytest.raises(ActionRefused) as short:
        await leave(h, cid, incomes=ABOVE[:4], key="k-8")
    assert (short.value.code, short.value.field) == ("too_few_months", "incomes_fen")
    assert "household.exited" not in event_types(h, cid)
    # The worker's configuration decides how many months: three, from now on.
    rules = EligibilityRules(exit_months_above_di_bao=3)
    h.config_source.update(ProcessConfig(hardship=QUICK.model_copy(update={"eligibility": rules})))
    # The refused request, corrected, may be sent again with its key.
    detail = await leave(h, cid, incomes=ABOVE[:3], key="k-8")
    assert detail.status == "exited" and len(detail.exit_months or []) == 3


async def test_who_may_take_a_household_off_the_register(harness: Harness) -> None:
    h = harness
    cid = await filed_household(h)
    for by, kind, code in [
        (OFFICER, ExitKind.INCOME, "role_not_held"),  # income: the grassroots officer
        (GR2, ExitKind.ANNUAL_REVIEW, "role_not_held"),  # annual review: a district officer
        ("tongzhou.grassroots1", ExitKind.INCOME, "outside_jurisdiction"),
    ]:
        incomes = ABOVE if kind is ExitKind.INCOME else []
        with pytest.raises(ActionRefused) as refused:
            await leave(h, cid, by=by, kind=kind, incomes=incomes)
        assert refused.value.code == code, (by, kind)
    with pytest.raises(ActionRefused) as no_reason:
        await leave(h, cid, comment="  ")
    assert (no_reason.value.code, no_reason.value.field) == ("comment_required", "comment")
    # A case still running filed nothing.
    running = (await h.open()).case_id
    with pytest.raises(ActionRefused) as never:
        await leave(h, running)
    assert never.value.code == "not_on_register"
    detail = await leave(h, cid, by=OFFICER, kind=ExitKind.ANNUAL_REVIEW, incomes=[])
    assert (detail.exit_kind, detail.exited_by) == ("annual_review", OFFICER)


async def test_an_exit_sent_straight_to_temporal_in_a_false_name_records_nothing(
    harness: Harness,
) -> None:
    """The workflow's input can be sent to Temporal without any edge: the worker checks
    the actor against the directory before it records."""
    h = harness
    cid = await filed_household(h)
    forged = Actor(id=GR2, roles=(Role.DISTRICT_OFFICER,), district=DISTRICT)
    start = HouseholdExitStart(
        case_id=cid,
        actor=forged,
        request=ExitRequest(kind=ExitKind.ANNUAL_REVIEW, comment="年度复核"),
        event_id=exit_event_id(cid, "forged"),
    )
    with pytest.raises(WorkflowFailureError) as failed, h.env.auto_time_skipping_disabled():
        await h.env.client.execute_workflow(
            HOUSEHOLD_EXIT_WORKFLOW,
            start,
            id=f"{cid}/exit/forged-{uuid.uuid4()}",
            task_queue=h.service.task_queue,
            result_type=HouseholdRecord,
        )
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "actor_mismatch"
    assert "household.exited" not in event_types(h, cid)


async def test_one_person_cannot_apply_again_while_on_the_register(harness: Harness) -> None:
    h = harness
    person = fresh_id_number()
    # Two applications of one person: the second is refused while the first is open.
    first = await h.open(applicant={"id_number": person})
    with pytest.raises(ActionRefused) as refused:
        await h.open(applicant={"id_number": person})
    assert (refused.value.code, refused.value.field) == ("application_open", "applicant.id_number")
    assert first.case_id in refused.value.message
    await advance(h, first.case_id, "filed")
    # On the register: refused, naming the file.
    with pytest.raises(ActionRefused) as on_file:
        await h.open(applicant={"id_number": person})
    assert on_file.value.code == "already_on_register"
    assert first.case_id in on_file.value.message
    # After the household left it, a new application is taken.
    await leave(h, first.case_id)
    again = await h.open(applicant={"id_number": person})
    assert again.case_id != first.case_id and again.status == "open"
