"""A run's stream (docs/batch-runs.md) keeps the log's rules but is no case: the store
projects nothing for it, and a rebuild leaves it out."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from casework.domain.refund import refund_stream
from casework.domain.streams import annual_review_stream, is_case_stream
from casework.store import projections
from casework.store.event_store import EventStore
from casework.store.tables import case_events, cases
from tests.store.builders import event, opened


def test_run_streams_are_told_from_cases() -> None:
    assert not is_case_stream("PG-2026-000001")
    assert not is_case_stream(annual_review_stream(2027))
    assert not is_case_stream(refund_stream(2026))  # RD-2026: a year's refunds
    assert is_case_stream("RF-2026-000001")  # a refund review is a case
    assert is_case_stream("HR-2026-000001")
    assert is_case_stream("LA-2026-000001")


def test_a_runs_stream_is_chained_but_not_projected(store: EventStore, engine: Engine) -> None:
    run = "PG-2026-000001"
    store.append(run, 0, [event(run, "programme.opened"), event(run, "payments.batch")])
    store.append(run, 2, [event(run, "payments.batch")])
    store.append("HR-2026-000009", 0, [opened("HR-2026-000009")])
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(cases)) == 1
        assert (
            conn.scalar(
                select(func.count()).select_from(case_events).where(case_events.c.case_id == run)
            )
            == 3
        )
    assert store.verify().broken == []
    assert projections.rebuild(engine) == 1  # the case's one event; the run's are left out
    with engine.connect() as conn:
        assert conn.scalars(select(cases.c.case_id)).all() == ["HR-2026-000009"]
