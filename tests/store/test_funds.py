"""Contract of the relief-fund check: a reservation is checked against the district's
yearly budget inside the append's transaction, so none overdraws it, however many run
at once."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from casework.domain.case import Action
from casework.domain.events import NewEvent
from casework.store import projections
from casework.store.event_store import EventStore, FundCheck, FundsUnavailable, StoredEvent
from casework.store.tables import relief_fund_ledger
from tests.store.builders import (
    DISTRICT,
    DISTRICT_LEADER,
    DISTRICT_OFFICER,
    DomainCase,
    event,
    opened,
    raw_rows,
    run_concurrently,
)

YEAR = 2026


def funds(
    case_id: str, type_: str, amount: int, district: str = DISTRICT, year: int = YEAR
) -> NewEvent:
    return event(
        case_id,
        type_,
        {"district": district, "year": year, "amount_fen": amount, "facts": {"fund_year": year}},
        actor="system",
    )


def reserve(
    store: EventStore, case_id: str, amount: int, district: str = DISTRICT, year: int = YEAR
) -> list[StoredEvent]:
    head = len(store.read(case_id))
    return store.append(
        case_id,
        head,
        [funds(case_id, "funds.reserved", amount, district, year)],
        FundCheck(district=district, year=year, amount_fen=amount),
    )


def open_cases(store: EventStore, n: int, district: str = DISTRICT) -> list[str]:
    ids = [f"HR-{YEAR}-{i:06d}" for i in range(1, n + 1)]
    for cid in ids:
        store.append(cid, 0, [opened(cid, district=district)])
    return ids


def state_of(engine: Engine) -> tuple[Any, Any]:
    return raw_rows(engine), projections.projection_snapshot(engine)


def reserved_total(engine: Engine, district: str = DISTRICT) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(relief_fund_ledger.c.amount_fen), 0)).where(
                    relief_fund_ledger.c.entry == "reserved",
                    relief_fund_ledger.c.district == district,
                )
            ).scalar_one()
        )


def test_a_reservation_over_the_remaining_budget_is_refused(
    engine: Engine, store: EventStore
) -> None:
    a, b, c = open_cases(store, 3)
    store.set_budget(DISTRICT, YEAR, 500_000)
    reserve(store, a, 300_000)
    assert store.fund_balance(DISTRICT, YEAR)["remaining_fen"] == 200_000

    before = state_of(engine)
    with pytest.raises(FundsUnavailable, match="200000"):
        reserve(store, b, 300_000)
    assert state_of(engine) == before  # no event, no ledger entry, no case change

    reserve(store, b, 200_000)  # exactly what is left
    with pytest.raises(FundsUnavailable):
        reserve(store, c, 1)
    assert store.fund_balance(DISTRICT, YEAR) == {
        "budget_fen": 500_000,
        "committed_fen": 500_000,
        "disbursed_fen": 0,
        "remaining_fen": 0,
    }

    # Released money can be reserved again; disbursed money stays committed.
    store.append(a, 2, [funds(a, "funds.released", 300_000)])
    store.append(b, 2, [funds(b, "disbursement.completed", 200_000)])
    reserve(store, c, 300_000)
    assert store.fund_balance(DISTRICT, YEAR) == {
        "budget_fen": 500_000,
        "committed_fen": 500_000,
        "disbursed_fen": 200_000,
        "remaining_fen": 0,
    }


def test_budgets_are_per_district_and_year(engine: Engine, store: EventStore) -> None:
    [a] = open_cases(store, 1)
    before = state_of(engine)
    with pytest.raises(FundsUnavailable, match="no budget"):
        reserve(store, a, 1)
    assert state_of(engine) == before
    store.set_budget(DISTRICT, YEAR, 1_000)  # the funds ledger's events and budget rows
    store.set_budget("通州区", YEAR, 5_000)
    before = state_of(engine)
    with pytest.raises(FundsUnavailable, match="no budget"):
        reserve(store, a, 1, year=YEAR + 1)
    with pytest.raises(FundsUnavailable):
        reserve(store, a, 2_000)
    assert state_of(engine) == before
    reserve(store, a, 2_000, district="通州区")  # another district's budget
    store.set_budget(DISTRICT, YEAR, 3_000)  # replaced, not added
    reserve(store, a, 3_000)
    assert store.fund_balance(DISTRICT, YEAR)["remaining_fen"] == 0
    assert store.fund_balance("通州区", YEAR)["remaining_fen"] == 3_000


def test_the_domain_reservation_is_refused_when_funds_run_out(
    engine: Engine, store: EventStore
) -> None:
    store.set_budget(DISTRICT, YEAR, 400_000)
    first = DomainCase(store, "HR-2026-000001").to_filed()
    second = DomainCase(store, "HR-2026-000002")
    second.to_district_review()
    second.act(DISTRICT_OFFICER, Action.APPROVE).act(DISTRICT_LEADER, Action.APPROVE)
    before = state_of(engine)
    with pytest.raises(FundsUnavailable):
        second.reserve()
    assert state_of(engine) == before
    assert [e.type for e in store.read(second.case_id)][-1] == "case.stage_entered"
    assert store.fund_balance(DISTRICT, YEAR)["committed_fen"] == 300_000
    assert first.state.status == "closed"


def test_concurrent_reservations_never_overdraw(engine: Engine, store: EventStore) -> None:
    """Twelve cases reserve 300,000 fen at once against 1,000,000: three get it."""
    ids = open_cases(store, 12)
    store.set_budget(DISTRICT, YEAR, 1_000_000)
    for _round in range(2):  # the second round finds the budget spent
        results = run_concurrently(*[partial(reserve, store, cid, 300_000) for cid in ids])
        granted = [r for r in results if isinstance(r, list)]
        refused = [r for r in results if not isinstance(r, list)]
        assert all(isinstance(r, FundsUnavailable) for r in refused), refused
        assert reserved_total(engine) <= 1_000_000, "the budget was overdrawn"
        assert len(granted) == (3 if _round == 0 else 0)
        assert reserved_total(engine) == 900_000
    assert store.fund_balance(DISTRICT, YEAR)["remaining_fen"] == 100_000
    assert len([e for e in store.iter_all() if e.type == "funds.reserved"]) == 3
