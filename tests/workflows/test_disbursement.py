"""Paying the relief out (资金发放): the district's yearly fund, the bank transfer, its
retries, and what a failure leaves behind."""

from __future__ import annotations

from typing import Any

import pytest

from casework.demo.people import DEMO_BUDGET_FEN
from casework.domain.calendar import CHINA_TZ
from casework.domain.hardship import HardshipConfig
from tests.workflows.conftest import Harness
from tests.workflows.steps import (
    DISTRICT,
    LEADER,
    QUICK,
    advance,
    after_disbursement,
    case_row,
    event_types,
    events_of,
    ledger,
    tasks,
)


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


AMOUNT = 300_000


async def approve_for_payment(h: Harness, **application: Any) -> str:
    """Open a case and approve it up to the point where the money goes out."""
    cid = (await h.open(requested_amount_fen=AMOUNT, **application)).case_id
    await advance(h, cid, "district_approval")
    v = await h.act(cid, LEADER, "approve", "同意拨付")
    assert v.stage == "disbursement"
    return cid


async def set_budget(h: Harness, budget_fen: int) -> None:
    """The district's budget for the year the workflow's clock is in (and the next)."""
    year = (await h.env.get_current_time()).astimezone(CHINA_TZ).year
    for y in (year, year + 1):
        h.store.set_budget(DISTRICT, y, budget_fen)


def fund_year(h: Harness, case_id: str) -> int:
    return int(events_of(h, case_id, "funds.reserved")[0].payload["year"])


@pytest.mark.parametrize("failures", [1, 2])
async def test_transient_bank_failures_are_retried_and_the_transfer_goes_through(
    harness: Harness, failures: int
) -> None:
    h = harness
    h.bank.fail_next = failures
    cid = await approve_for_payment(h)
    v = await after_disbursement(h, cid)
    assert (v.status, v.stage) == ("open", "receipt_confirmation")
    assert h.bank.attempts == failures + 1
    assert len(h.bank.transfers) == 1  # one payment however many attempts
    assert "disbursement.failed" not in event_types(h, cid)
    assert ledger(h, cid) == [("reserved", AMOUNT), ("disbursed", AMOUNT)]
    balance = h.store.fund_balance(DISTRICT, fund_year(h, cid))
    assert (balance["committed_fen"], balance["disbursed_fen"]) == (AMOUNT, AMOUNT)


async def assert_failed_and_released(h: Harness, case_id: str, reason_part: str) -> None:
    v = await h.result(case_id)
    assert (v.status, v.outcome, v.stage) == ("closed", "failed", "disbursement")
    row = case_row(h, case_id)
    assert (row["status"], row["outcome"]) == ("closed", "failed")
    assert reason_part in row["closed_reason"]
    assert row["closed_reason"].startswith("拨付失败 (transfer failed)")
    assert event_types(h, case_id)[-5:] == [
        "case.stage_entered",
        "funds.reserved",
        "disbursement.failed",
        "funds.released",
        "case.closed",
    ]
    [failed] = events_of(h, case_id, "disbursement.failed")
    assert reason_part in failed.payload["reason"]
    assert ledger(h, case_id) == [("reserved", AMOUNT), ("released", AMOUNT)]
    assert h.store.fund_balance(DISTRICT, fund_year(h, case_id)) == {
        "budget_fen": DEMO_BUDGET_FEN,
        "committed_fen": 0,
        "disbursed_fen": 0,
        "remaining_fen": DEMO_BUDGET_FEN,
    }
    assert h.bank.transfers == {}
    assert all(t["status"] == "done" for t in tasks(h, case_id))


async def test_persistent_bank_failure_ends_the_case_failed_and_releases_the_money(
    harness: Harness,
) -> None:
    h = harness
    h.bank.fail_next = 1000
    cid = await approve_for_payment(h)
    await after_disbursement(h, cid)
    assert h.bank.attempts == QUICK.disbursement_attempts
    await assert_failed_and_released(h, cid, "bank temporarily unavailable")


async def test_declined_account_fails_at_once_and_releases_the_money(harness: Harness) -> None:
    h = harness
    cid = await approve_for_payment(h, applicant={"bank_account": "6222020000000000000"})
    await after_disbursement(h, cid)
    assert h.bank.attempts == 1  # a refusal by the bank is not retried
    await assert_failed_and_released(h, cid, "account rejected by the bank")


async def test_no_bank_account_on_file_fails_without_calling_the_bank(harness: Harness) -> None:
    h = harness
    cid = await approve_for_payment(h, applicant={"bank_account": None})
    await after_disbursement(h, cid)
    assert h.bank.attempts == 0
    await assert_failed_and_released(h, cid, "no bank account on file")


async def test_insufficient_budget_fails_the_case_without_any_transfer(harness: Harness) -> None:
    h = harness
    await set_budget(h, AMOUNT - 1)
    cid = await approve_for_payment(h)
    v = await after_disbursement(h, cid)
    assert (v.status, v.outcome) == ("closed", "failed")
    assert h.bank.attempts == 0 and h.bank.transfers == {}
    types = event_types(h, cid)
    assert types[-2:] == ["case.stage_entered", "case.closed"]
    assert not {"funds.reserved", "funds.released", "disbursement.failed"} & set(types)
    assert ledger(h, cid) == []
    reason = case_row(h, cid)["closed_reason"]
    assert "relief fund insufficient" in reason and str(AMOUNT - 1) in reason


async def test_reservations_count_against_the_budget_and_a_release_frees_the_money(
    harness: Harness,
) -> None:
    h = harness
    await set_budget(h, AMOUNT + 100_000)

    first = await approve_for_payment(h, applicant={"bank_account": "6222020000000010000"})
    await after_disbursement(h, first)
    assert (await h.result(first)).outcome == "failed"  # declined: its money went back

    second = await approve_for_payment(h)
    assert (await after_disbursement(h, second)).stage == "receipt_confirmation"
    year = fund_year(h, second)
    assert h.store.fund_balance(DISTRICT, year)["remaining_fen"] == 100_000

    third = await approve_for_payment(h)  # 3,000 元 asked, 1,000 元 left
    v = await after_disbursement(h, third)
    assert (v.status, v.outcome) == ("closed", "failed")
    assert "100000" in case_row(h, third)["closed_reason"]
    assert h.store.fund_balance(DISTRICT, year) == {
        "budget_fen": AMOUNT + 100_000,
        "committed_fen": AMOUNT,
        "disbursed_fen": AMOUNT,
        "remaining_fen": 100_000,
    }
    final = await advance(h, second, "filed")
    assert final.outcome == "approved"
