"""Paying the relief out (资金发放): the district's yearly fund, the bank transfer, its
retries, and what a failure leaves behind."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from casework.demo.people import DEMO_BUDGET_FEN
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseView
from casework.domain.hardship import HardshipConfig
from casework.funds import wake_waiting_cases
from casework.store.funds import FundsLedger
from casework.store.supervision import SupervisorQueries
from tests.workflows.conftest import Harness
from tests.workflows.steps import (
    CITY_SUPERVISOR,
    DISTRICT,
    LEADER,
    QUICK,
    SUPERVISOR,
    advance,
    after_disbursement,
    case_row,
    event_types,
    events_of,
    ledger,
    state,
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


async def test_no_bank_account_on_file_fails_without_calling_the_bank(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO)
    cid = await approve_for_payment(h, applicant={"bank_account": None})
    await after_disbursement(h, cid)
    assert h.bank.attempts == 0
    await assert_failed_and_released(h, cid, "no bank account on file")
    # An expected business failure, not a bug: no traceback in the run log.
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]
    assert tracebacks == [], [(r.name, r.getMessage()) for r in tracebacks]


async def waiting_for_funds(h: Harness) -> tuple[str, int]:
    """A case approved for payment whose district's fund is one fen short: it waits."""
    await set_budget(h, AMOUNT - 1)
    cid = await approve_for_payment(h)
    v = await after_disbursement(h, cid)
    assert (v.status, v.stage) == ("open", "awaiting_funds")
    assert case_row(h, cid)["stage"] == "awaiting_funds"
    assert h.bank.attempts == 0 and ledger(h, cid) == []
    [short] = events_of(h, cid, "funds.short")
    assert "relief fund insufficient" in short.payload["reason"]
    assert str(AMOUNT - 1) in short.payload["reason"]
    return cid, int(short.payload["year"])


async def until_paid(h: Harness, case_id: str) -> CaseView:
    for _ in range(40):
        s = await state(h, case_id)
        if s.stage not in ("awaiting_funds", "disbursement"):
            return CaseView.of(s)
        await h.env.sleep(5)
    raise AssertionError(f"{case_id} still waiting for its payment")


async def test_a_case_short_of_funds_waits_is_stuck_and_a_top_up_moves_it_on(
    harness: Harness,
) -> None:
    h = harness
    cid, year = await waiting_for_funds(h)
    now = await h.env.get_current_time()
    for who in (SUPERVISOR, CITY_SUPERVISOR):
        listed = SupervisorQueries(h.engine).stuck(h.directory.get(who), now=now)
        assert [(i.case_id, i.stage, i.reason) for i in listed] == [
            (cid, "awaiting_funds", "awaiting_funds")
        ]
    city = h.directory.get("city.officer1").actor()
    FundsLedger(h.engine).top_up(city, DISTRICT, year, 1)
    assert await wake_waiting_cases(h.env.client, h.engine, DISTRICT, year) == [cid]
    v = await until_paid(h, cid)
    assert (v.status, v.stage) == ("open", "receipt_confirmation")
    assert ledger(h, cid) == [("reserved", AMOUNT), ("disbursed", AMOUNT)]
    assert len(h.bank.transfers) == 1
    assert event_types(h, cid)[-7:] == [
        "funds.short",
        "case.stage_entered",  # awaiting_funds
        "funds.reserved",
        "case.stage_entered",  # disbursement
        "disbursement.completed",
        "case.stage_entered",  # receipt_confirmation
        "task.opened",
    ]
    assert not SupervisorQueries(h.engine).stuck(h.directory.get(SUPERVISOR), now=now)


async def test_a_waiting_case_tries_again_on_its_own_timer(harness: Harness) -> None:
    h = harness
    cid, year = await waiting_for_funds(h)
    recorded = len(event_types(h, cid))
    await h.env.sleep(2 * 3600)  # tried after an hour: still short, nothing recorded
    assert (await state(h, cid)).stage == "awaiting_funds"
    assert len(event_types(h, cid)) == recorded
    city = h.directory.get("city.officer1").actor()
    FundsLedger(h.engine).top_up(city, DISTRICT, year, AMOUNT)  # no signal sent
    await h.env.sleep(26 * 3600)  # the next try comes within a day
    v = await until_paid(h, cid)
    assert v.stage == "receipt_confirmation"
    assert ledger(h, cid) == [("reserved", AMOUNT), ("disbursed", AMOUNT)]


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

    third = await approve_for_payment(h)  # 3,000 元 asked, 1,000 元 left: it waits
    v = await after_disbursement(h, third)
    assert (v.status, v.stage) == ("open", "awaiting_funds")
    assert "100000" in events_of(h, third, "funds.short")[0].payload["reason"]
    assert h.store.fund_balance(DISTRICT, year) == {
        "budget_fen": AMOUNT + 100_000,
        "committed_fen": AMOUNT,
        "disbursed_fen": AMOUNT,
        "remaining_fen": 100_000,
    }
    final = await advance(h, second, "filed")
    assert final.outcome == "approved"
