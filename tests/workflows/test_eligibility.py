"""Computed eligibility and the approved amount, through Temporal (issue #9)."""

from __future__ import annotations

import pytest

from casework.service import ActionRefused
from tests.factories import HOUSEHOLDS
from tests.workflows.conftest import Harness
from tests.workflows.steps import LEADER, OFFICER, advance, events_of, ledger, visit


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
