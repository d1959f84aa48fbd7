"""An audit's sample drawn from the store (casework/store/sampling.py), on SQLite and
PostgreSQL: the closed hardship cases of the district and year are the candidates, the
same seed draws the same cases, and each drawn case is checked, its hash chain and its
money against the relief-fund ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from casework.domain.audit_sample import SampleRequest, draw
from casework.domain.case import Action
from casework.store.event_store import EventStore
from casework.store.sampling import candidates, draw_sample, examine
from casework.store.tables import case_events, relief_fund_ledger
from tests.store.builders import DISTRICT, DISTRICT_OFFICER, T0, DomainCase, event, opened

FILED = [f"HR-2026-{n:06d}" for n in range(1, 8)]  # approved and paid
REJECTED = [f"HR-2026-{n:06d}" for n in range(8, 11)]  # refused at the district review
OPEN = "HR-2026-000011"
NEW_YEAR = "HR-2025-000099"  # opened on New Year's Eve, paid from 2026's fund
LAST_YEAR = "HR-2025-000001"  # refused in 2025
ELSEWHERE = "HR-2026-000012"  # 通州区
TAMPERED, OVERPAID = FILED[1], FILED[4]


def seed_cases(store: EventStore) -> None:
    for year in (2025, 2026):
        store.set_budget(DISTRICT, year, 100_000_000)
    for n, case_id in enumerate(FILED):
        DomainCase(store, case_id, start=T0 + timedelta(minutes=n)).to_filed()
    for case_id in REJECTED:
        DomainCase(store, case_id).to_district_review().act(
            DISTRICT_OFFICER, Action.REJECT, "家庭收入超过标准"
        )
    DomainCase(store, OPEN).to_district_review()
    # 20:00 on New Year's Eve, Beijing time: the money is reserved after midnight.
    DomainCase(store, NEW_YEAR, start=datetime(2025, 12, 31, 12, 0, tzinfo=UTC)).to_filed()
    last_year = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)
    DomainCase(store, LAST_YEAR, start=last_year).to_district_review().act(
        DISTRICT_OFFICER, Action.REJECT, "不符合条件"
    )
    store.append(
        ELSEWHERE,
        0,
        [
            opened(ELSEWHERE, district="通州区"),
            event(ELSEWHERE, "case.closed", {"outcome": "withdrawn"}),
        ],
    )


def tamper(engine: Engine) -> None:
    """Someone changes a filed case's record in the database, and the ledger's payment
    of another."""
    with engine.begin() as conn:
        conn.execute(
            update(case_events)
            .where(case_events.c.case_id == TAMPERED, case_events.c.seq == 3)
            .values(payload='{"comment":"改过"}')
        )
        conn.execute(
            update(relief_fund_ledger)
            .where(
                relief_fund_ledger.c.case_id == OVERPAID,
                relief_fund_ledger.c.entry == "disbursed",
            )
            .values(amount_fen=relief_fund_ledger.c.amount_fen + 50_000)
        )


def sample_request(**kw: object) -> SampleRequest:
    return SampleRequest.model_validate({"district": DISTRICT, "year": 2026, "seed": 7, **kw})


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed_cases(EventStore(engine))
    return engine


def test_the_candidates_are_the_closed_cases_of_the_district_and_year(seeded: Engine) -> None:
    expected = sorted([*FILED, *REJECTED, NEW_YEAR])
    assert candidates(seeded, DISTRICT, 2026) == expected
    assert candidates(seeded, DISTRICT, 2025) == [LAST_YEAR]
    assert candidates(seeded, "通州区", 2026) == [ELSEWHERE]
    assert candidates(seeded, "海门区", 2026) == []


def test_the_same_seed_draws_the_same_cases_from_the_store(seeded: Engine) -> None:
    first = draw_sample(seeded, sample_request())
    assert (first.candidates, first.size, len(first.cases)) == (11, 4, 4)  # ceil(3.3)
    assert draw_sample(seeded, sample_request()) == first
    ids = [c.case_id for c in first.cases]
    assert ids == draw(candidates(seeded, DISTRICT, 2026), "0.3", 7)
    others = [c.case_id for c in draw_sample(seeded, sample_request(seed=8)).cases]
    assert others != ids
    everything = draw_sample(seeded, sample_request(rate="1"))
    assert everything.size == everything.candidates == 11
    assert first.candidates_sha256 == everything.candidates_sha256


def test_an_untouched_store_has_nothing_to_report(seeded: Engine) -> None:
    drawn = draw_sample(seeded, sample_request(rate="1"))
    assert [(c.case_id, c.problems) for c in drawn.cases if c.problems] == []
    by_id = {c.case_id: c for c in drawn.cases}
    paid = by_id[FILED[0]]
    assert (paid.outcome, paid.chain, paid.payment) == ("approved", "intact", "ok")
    assert paid.paid_fen == paid.approved_fen == 300_000
    refused = by_id[REJECTED[0]]
    assert (refused.outcome, refused.paid_fen, refused.payment) == ("rejected", 0, "ok")


def test_a_tampered_case_and_a_payment_that_does_not_match_are_reported(seeded: Engine) -> None:
    tamper(seeded)
    drawn = draw_sample(seeded, sample_request(rate="1"))
    found = {c.case_id: c for c in drawn.cases if c.problems}
    assert set(found) == {TAMPERED, OVERPAID}
    broken = found[TAMPERED]
    assert (broken.chain, broken.payment) == ("broken", "ok")
    [problem] = broken.problems
    assert problem.code == "chain_broken"
    assert problem.detail == "哈希链断裂于 seq 3：事件已被改动 (altered)"
    overpaid = found[OVERPAID]
    assert (overpaid.chain, overpaid.payment, overpaid.paid_fen) == ("intact", "mismatch", 350_000)
    [problem] = overpaid.problems
    assert (problem.code, problem.amount_fen) == ("ledger_mismatch", 50_000)
    assert "台账 ledger disbursed 3,500.00 元" in problem.detail
    # Only the cases asked for are read, in the order asked.
    assert [c.case_id for c in examine(seeded, [OVERPAID, FILED[0]])] == [OVERPAID, FILED[0]]
    # `audit verify` sees the same break.
    assert [(b["case_id"], b["seq"]) for b in EventStore(seeded).verify().broken] == [(TAMPERED, 3)]
    assert EventStore(seeded).verify_cases([FILED[0], OVERPAID]).broken == []


def test_a_sample_too_large_is_counted_not_drawn(
    seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import casework.store.sampling as sampling

    monkeypatch.setattr(sampling, "MAX_SAMPLE_CASES", 3)
    drawn = draw_sample(seeded, sample_request())
    assert (drawn.candidates, drawn.size, drawn.cases) == (11, 4, [])
