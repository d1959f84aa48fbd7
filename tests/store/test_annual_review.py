"""The annual review's batch step in the store (SQLite and PostgreSQL): every file on
the register reviewed once, a retried batch reviews nothing twice, progress and figures
read back from the rows, the spot checks drawn once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from casework.demo.register import seed_register
from casework.domain.annual_review import (
    REVIEW_BATCH,
    SPOT_CHECKS_DRAWN,
    AnnualReviewConfig,
    HouseholdFacts,
    judge,
)
from casework.domain.eligibility import EligibilityRules
from casework.domain.streams import annual_review_stream
from casework.store.annual_review import AnnualReview, case_id_of, key_of, review_figures
from casework.store.event_store import EventStore
from casework.store.tables import case_events, households, register_reviews

YEAR = 2027
RULES = EligibilityRules()
CONFIG = AnnualReviewConfig()


def expected(rows: list[dict]) -> Counter[str]:  # type: ignore[type-arg]
    return Counter(
        judge(
            HouseholdFacts(
                case_id=h["case_id"],
                district=h["district"],
                category=h["category"],
                filed_at=h["filed_at"],
                household_size=h["facts"].get("household_size"),
                income_per_head_fen=h["facts"].get("income_per_head_fen"),
            ),
            YEAR,
            RULES,
            CONFIG,
        ).outcome.value
        for h in rows
    )


def review(store: EventStore, batch_size: int = 50) -> AnnualReview:
    return AnnualReview(store, YEAR, RULES, CONFIG, batch_size=batch_size)


def events(engine: Engine, type_: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(case_events)
                .where(
                    case_events.c.case_id == annual_review_stream(YEAR), case_events.c.type == type_
                )
            )
            or 0
        )


def test_keys_order_as_case_ids() -> None:
    assert key_of("HR-2026-000123") == 2026000123
    assert case_id_of(2026000123) == "HR-2026-000123"
    assert case_id_of(0) < "HR-2019-000001"
    with pytest.raises(ValueError, match="case_id"):
        key_of("LA-2026-000001")


def test_every_file_is_reviewed_once_in_batches(engine: Engine) -> None:
    store = EventStore(engine)
    rows = seed_register(engine, 230, seed=5, year=YEAR)
    r = review(store)
    before = r.progress()
    assert (before.total, before.done, before.finished) == (230, 0, False)
    cursor, batches = 0, 0
    while (nxt := r.step(cursor)) is not None:
        cursor, batches = nxt, batches + 1
    assert batches == 5
    p = r.progress(cursor)
    assert (p.total, p.done, p.finished) == (230, 230, True)
    want = expected(rows)
    assert {k: p.counts[k] for k in want} == dict(want)
    assert events(engine, REVIEW_BATCH) == 5
    with engine.connect() as conn:
        figures = review_figures(conn, YEAR)
    assert figures.total("renewed") == want["renewed"]
    assert figures.total("exit_proposed") == want["exit_proposed"]
    assert store.verify().broken == []


def test_a_retried_batch_reviews_nothing_twice(engine: Engine) -> None:
    store = EventStore(engine)
    seed_register(engine, 120, seed=6, year=YEAR)
    r = review(store)
    first = r.step(0)
    assert first is not None
    # The worker died after the commit, before its heartbeat: the retry starts from 0.
    again = r.step(0)
    assert again is not None and again > first
    while r.step(0) is not None:  # always from the start: found done
        pass
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(register_reviews)) == 120
        dupes = conn.execute(
            select(register_reviews.c.case_id)
            .group_by(register_reviews.c.year, register_reviews.c.case_id)
            .having(func.count() > 1)
        ).all()
    assert dupes == []
    assert events(engine, REVIEW_BATCH) == 3
    assert review(store).progress().finished


def test_exited_and_new_files_are_left_out(engine: Engine) -> None:
    store = EventStore(engine)
    rows = seed_register(engine, 40, seed=7, year=YEAR)
    with engine.begin() as conn:
        conn.execute(
            households.update()
            .where(households.c.case_id == rows[0]["case_id"])
            .values(exited_at=datetime(2026, 6, 1, tzinfo=UTC), exit_kind="income")
        )
        conn.execute(
            households.update()
            .where(households.c.case_id == rows[1]["case_id"])
            .values(filed_at=datetime(2027, 1, 2, tzinfo=UTC))
        )
    r = review(store)
    while r.step(0) is not None:
        pass
    assert r.progress().done == 38


def test_the_spot_checks_are_drawn_once_over_the_renewed(engine: Engine) -> None:
    store = EventStore(engine)
    seed_register(engine, 200, seed=8, year=YEAR)
    r = review(store, batch_size=500)
    while r.step(0) is not None:
        pass
    renewed = r.progress().counts["renewed"]
    drawn = r.draw_spot_checks()
    assert drawn >= 0.3 * renewed and drawn == r.draw_spot_checks()
    assert events(engine, SPOT_CHECKS_DRAWN) == 1
    with engine.connect() as conn:
        outcomes = set(
            conn.scalars(
                select(register_reviews.c.outcome).where(register_reviews.c.spot_check == 1)
            )
        )
        assert outcomes == {"renewed"}
        assert review_figures(conn, YEAR).total("spot_checked") == drawn
