"""Contract of the per-case hash chain: `verify()` is clean for an untouched log and names
the case and seq of every altered or missing event (`casework audit verify`)."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from casework.store.event_store import EventStore, canonical_json
from casework.store.tables import case_events
from tests.store.builders import T0, DomainCase, comments, event, opened, raw_rows, rehashed

BEIJING = timezone(timedelta(hours=8))
A, B, C = "HR-2026-000001", "HR-2026-000002", "HR-2026-000003"


def three_cases(store: EventStore) -> None:
    """A: 5 hand-built events in two appends; B: a real hardship journey; C: one event."""
    store.set_budget("崇川区", 2026, 10_000_000)
    store.append(A, 0, [opened(A, at=T0.astimezone(BEIJING)), *comments(A, 2)])
    DomainCase(store, B).to_filed()
    store.append(A, 3, [event(A, "case.commented", {"comment": "第四条", "金额": [1, 2.5, None]})])
    store.append(A, 4, comments(A, 1, start=9))
    store.append(C, 0, [opened(C)])


def tamper(engine: Engine, case_id: str, seq: int, **values: Any) -> None:
    with engine.begin() as conn:
        result = conn.execute(
            update(case_events)
            .where(case_events.c.case_id == case_id, case_events.c.seq == seq)
            .values(**values)
        )
        assert result.rowcount == 1


def breaks(store: EventStore) -> list[tuple[str, int]]:
    return [(b["case_id"], b["seq"]) for b in store.verify().broken]


def test_verify_is_clean_for_an_untouched_log(engine: Engine, store: EventStore) -> None:
    three_cases(store)
    report = store.verify()
    assert report.broken == []
    assert report.cases_checked == 3
    assert report.events_checked == len(raw_rows(engine)) == 5 + len(store.read(B)) + 1


@pytest.mark.parametrize(
    "column, value",
    [
        ("payload", '{"comment":"已篡改","n":1}'),
        ("actor_id", "someone.else"),
        ("type", "case.closed"),
        ("occurred_at", T0 + timedelta(seconds=1)),
        ("schema_version", 2),
        ("event_id", "00000000-0000-0000-0000-000000000000"),
    ],
    ids=["payload", "actor_id", "type", "occurred_at", "schema_version", "event_id"],
)
def test_an_altered_event_is_reported_with_its_case_and_seq(
    engine: Engine, store: EventStore, column: str, value: Any
) -> None:
    three_cases(store)
    tamper(engine, A, 2, **{column: value})
    report = store.verify()
    assert report.broken == [
        {"case_id": A, "seq": 2, "problem": "hash does not match the stored event (altered)"}
    ]
    assert report.events_checked == len(raw_rows(engine))


def test_an_altered_event_in_a_real_case_is_reported(engine: Engine, store: EventStore) -> None:
    three_cases(store)
    approval = next(e for e in store.read(B) if e.type == "task.approved")
    payload = {**approval.payload, "comment": "不同意"}
    tamper(engine, B, approval.seq, payload=canonical_json(payload))
    assert breaks(store) == [(B, approval.seq)]


def test_a_rehashed_alteration_breaks_the_next_link(engine: Engine, store: EventStore) -> None:
    """Whoever alters an event and recomputes its hash still breaks the chain: the next
    event names the old hash as its predecessor."""
    three_cases(store)
    with engine.connect() as conn:
        row = conn.execute(
            select(case_events).where(case_events.c.case_id == A, case_events.c.seq == 2)
        ).one()
    forged = '{"comment":"伪造","n":0}'
    digest = rehashed(row, forged)
    tamper(engine, A, 2, payload=forged, hash=digest)
    [broken] = store.verify().broken
    assert (broken["case_id"], broken["seq"]) == (A, 3)
    assert "prev_hash" in broken["problem"]


@pytest.mark.parametrize("deleted, reported", [(3, 4), (1, 2)], ids=["middle", "first"])
def test_a_deleted_event_is_reported(
    engine: Engine, store: EventStore, deleted: int, reported: int
) -> None:
    three_cases(store)
    with engine.begin() as conn:
        conn.execute(
            delete(case_events).where(case_events.c.case_id == A, case_events.c.seq == deleted)
        )
    [broken] = store.verify().broken
    assert (broken["case_id"], broken["seq"]) == (A, reported)
    assert "seq gap" in broken["problem"]


def test_every_broken_case_is_reported_once(engine: Engine, store: EventStore) -> None:
    three_cases(store)
    tamper(engine, A, 2, payload='{"n":-1}')
    tamper(engine, A, 4, actor_id="x")  # after the first break of A: not reported again
    tamper(engine, C, 1, type="case.closed")
    assert breaks(store) == [(A, 2), (C, 1)]


def test_the_chain_does_not_depend_on_positions(engine: Engine, store: EventStore) -> None:
    """Positions are excluded from the hash: a log copied into another database (new
    positions) still verifies."""
    three_cases(store)
    with engine.begin() as conn:
        conn.execute(update(case_events).values(position=case_events.c.position + 100_000))
    assert store.verify().broken == []
