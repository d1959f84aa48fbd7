"""Computed eligibility and the approved amount, through Temporal (issue #9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.service import ActionRefused
from tests.factories import HOUSEHOLDS
from tests.workflows.conftest import Harness
from tests.workflows.steps import (
    DISTRICT,
    GR2,
    GR3,
    LEADER,
    OFFICER,
    advance,
    events_of,
    ledger,
    visit,
)
from tests.workflows.test_privacy_cli import Cli


async def test_the_amount_the_district_approves_is_what_is_reserved_and_paid(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open(requested_amount_fen=300_000)).case_id
    await advance(h, cid, "district_approval")
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, LEADER, "approve", "多给", {"approved_amount_fen": 300_001})
    assert (refused.value.code, refused.value.field) == (
        "amount_above_requested",
        "data.approved_amount_fen",
    )
    await h.act(cid, LEADER, "approve", "按区标准核减", {"approved_amount_fen": 200_000})
    await advance(h, cid, "filed")
    assert ledger(h, cid) == [("reserved", 200_000), ("disbursed", 200_000)]
    [order] = h.bank.transfers.values()
    assert order.amount_fen == 200_000
    [decided] = events_of(h, cid, "amount.approved")
    assert (decided.actor_id, decided.payload["previous_fen"]) == (LEADER, 300_000)


async def test_a_household_without_a_category_is_stopped_at_the_district_review(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open(category="relative", household=HOUSEHOLDS["none"])).case_id
    [opened] = events_of(h, cid, "eligibility.assessed")
    assert (opened.payload["category"], opened.payload["differs"]) == (None, True)
    await advance(h, cid, "district_review")
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OFFICER, "approve", "同意")
    assert (refused.value.code, refused.value.field) == ("not_eligible", "data.explanation")
    assert "不符合任何困难类别" in str(refused.value)
    view = await h.act(cid, OFFICER, "approve", "同意", {"explanation": "突发重病，经研究予以救助"})
    assert view.stage == "district_approval"


async def test_what_the_home_visit_measures_decides(harness: Harness) -> None:
    """Declared relative; the visit finds a deep-hardship household: the city approves."""
    h = harness
    cid = (await h.open(category="relative")).case_id
    await advance(h, cid, "home_visit")
    deep = HOUSEHOLDS["deep"]
    await visit(
        h,
        cid,
        household_size=deep["size"],
        yearly_income_fen=deep["yearly_income_fen"],
        medical_expenses_fen=deep["medical_expenses_fen"],
    )
    [_, measured] = events_of(h, cid, "eligibility.assessed")
    assert (measured.payload["source"], measured.payload["category"]) == ("home_visit", "deep")
    view = await advance(h, cid, "city_review")
    assert view.open_task is not None and view.open_task.role == "city_officer"


async def test_case_show_shows_what_the_reviewer_decides_on(
    harness: Harness, tmp_path: Path, restore_logging: None
) -> None:
    h = harness
    cid = (await h.open(category="deep", household=HOUSEHOLDS["relative"])).case_id
    await advance(h, cid, "district_approval")
    await h.act(cid, LEADER, "approve", "已获其他救助，核减", {"approved_amount_fen": 250_000})
    # Paid and waiting for people: the worker (in this process) logs nothing meanwhile.
    await advance(h, cid, "receipt_confirmation")
    await h.settled(cid)
    cli = Cli(h, tmp_path)
    review = cli.json("case", "show", cid)["review"]
    assert (review["declared_category"], review["computed_category"]) == ("deep", "relative")
    assert review["categories_differ"] is True
    [opened, visited] = review["assessments"]
    assert (opened["source"], visited["source"]) == ("application", "home_visit")
    assert (visited["income_per_head_fen"], visited["di_bao_fen"]) == (116_666, 90_000)
    assert review["civil_affairs"]["match"] is True
    assert (review["requested_amount_fen"], review["approved_amount_fen"]) == (300_000, 250_000)
    assert review["amount_decisions"][0]["comment"] == "已获其他救助，核减"
    # The district's fund for the year the case drew on, as the ledger has it.
    fund = review.pop("fund")
    state = await h.env.client.get_workflow_handle(cid).query("case_state")
    assert fund["year"] == state["facts"]["fund_year"]
    balance = h.store.fund_balance(DISTRICT, fund["year"])
    assert {k: fund[k] for k in balance} == balance
    assert fund["disbursed_fen"] >= 250_000 and fund["budget_fen"] > 0
    assert review["visit"]["visitors"] == [GR2, GR3]
    table = cli.run("case", "show", cid).stdout
    for shown in (
        "审核要点",
        "深度困难",
        "相对困难",
        "不一致 differs",
        "1,166.66 元",
        "2,500.00 元",
    ):
        assert shown in table, shown
