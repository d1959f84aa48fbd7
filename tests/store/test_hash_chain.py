"""Contract of the per-case hash chain: `verify()` is clean for an untouched log and names
the case and seq of every altered or missing event (`casework audit verify`)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update
from typer.testing import CliRunner

from casework.cli import app
from casework.store.event_store import GENESIS, EventStore, canonical_json, event_hash
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
    # The three cases and the year's funds ledger (FD-…, its budget's movement): every
    # stream is a chain.
    assert report.cases_checked == 3 + 1
    assert report.events_checked == len(raw_rows(engine)) == 5 + len(store.read(B)) + 1 + 1


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


# -- the hash itself, and a forgery that keeps every stored link consistent -----------

KNOWN_EVENT: dict[str, Any] = {
    "event_id": "3f1c9a52-6d0e-4b7a-9c1e-2a5b8d7e4f60",
    "case_id": "HR-2026-000001",
    "seq": 1,
    "type": "case.commented",
    "schema_version": 1,
    "payload": '{"comment":"材料齐全"}',
    "actor_id": "chongchuan.grassroots2",
    "occurred_at": datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=BEIJING),
}
KNOWN_HASH = "e91bb349b7ae6fe8f15601500a7c34ddb19b55e07f8770169ef39f54f456f7f8"
NEXT_HASH = "9c265fedea409aaea1815cf7b0ee9e904878a256a227773062b07b0939dd7706"


def test_the_event_hash_is_sha256_of_the_previous_hash_and_the_stored_bytes() -> None:
    """Known answers: a change to what the hash covers, or how, changes these digests
    (and with them every chain already stored)."""
    assert event_hash(GENESIS, **KNOWN_EVENT) == KNOWN_HASH
    # Spelled out: the previous hash, then the canonical JSON list of the stored fields,
    # times in UTC with microseconds, the payload as its stored text.
    preimage = (
        GENESIS + '["3f1c9a52-6d0e-4b7a-9c1e-2a5b8d7e4f60","HR-2026-000001",1,'
        '"case.commented",1,"{\\"comment\\":\\"材料齐全\\"}","chongchuan.grassroots2",'
        '"2026-03-02T01:30:15.123456+00:00"]'
    )
    assert hashlib.sha256(preimage.encode()).hexdigest() == KNOWN_HASH
    # The next event's digest depends on this one's: the same body after another
    # predecessor hashes differently.
    second = {
        **KNOWN_EVENT,
        "event_id": "3f1c9a52-6d0e-4b7a-9c1e-2a5b8d7e4f61",
        "seq": 2,
        "payload": '{"comment":"同意"}',
        "actor_id": "chongchuan.officer1",
        "occurred_at": datetime(2026, 3, 2, 1, 45, tzinfo=UTC),
    }
    assert event_hash(KNOWN_HASH, **second) == NEXT_HASH
    assert event_hash(GENESIS, **second) != NEXT_HASH


def forge_with_the_next_link_rewritten(engine: Engine, case_id: str, seq: int) -> None:
    """Alter event `seq`, recompute its hash, and point event `seq + 1` at the new hash:
    every stored `prev_hash` then matches its predecessor's stored `hash`."""
    with engine.connect() as conn:
        row = conn.execute(
            select(case_events).where(case_events.c.case_id == case_id, case_events.c.seq == seq)
        ).one()
    forged = '{"comment":"伪造","n":0}'
    digest = rehashed(row, forged)
    tamper(engine, case_id, seq, payload=forged, hash=digest)
    tamper(engine, case_id, seq + 1, prev_hash=digest)


def test_a_forgery_that_rewrites_the_next_prev_hash_is_reported(
    engine: Engine, store: EventStore
) -> None:
    """Only the next event's own hash, recomputed over its new predecessor, gives the
    forgery away: comparing the stored columns finds nothing."""
    three_cases(store)
    forge_with_the_next_link_rewritten(engine, A, 2)
    report = store.verify()
    assert report.broken == [
        {"case_id": A, "seq": 3, "problem": "hash does not match the stored event (altered)"}
    ]


def test_audit_verify_reports_that_forgery(
    sqlite_engine: Engine, tmp_path: Path, restore_logging: None
) -> None:
    store = EventStore(sqlite_engine)
    three_cases(store)
    env = {
        "CASEWORK_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "CASEWORK_HOME": str(tmp_path),
    }
    clean = CliRunner().invoke(app, ["audit", "verify", "--json"], env=env)
    assert clean.exit_code == 0, clean.output
    forge_with_the_next_link_rewritten(sqlite_engine, A, 2)
    result = CliRunner().invoke(app, ["audit", "verify", "--json"], env=env)
    assert result.exit_code == 1, result.output
    broken = json.loads(result.stdout)["broken"]
    assert [(b["case_id"], b["seq"]) for b in broken] == [(A, 3)]
