"""Contract of the event log (DESIGN.md "Event store"), on SQLite and on PostgreSQL.

Every test takes the `engine` fixture, parametrised over both back-ends, so each
contract below is checked against each recorder (as the `eventsourcing` library runs
one abstract recorder test case per back-end).
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError

from casework.demo.people import demo_users
from casework.domain.events import NewEvent
from casework.domain.org import Role
from casework.store import event_store, projections
from casework.store.directory import ActorMismatch, Assignee, Directory, User
from casework.store.event_store import (
    GENESIS,
    ActorRefused,
    ConcurrencyConflict,
    EventStore,
    StoredEvent,
)
from casework.store.tables import case_events
from tests.store.builders import (
    GRASSROOTS2,
    GRASSROOTS3,
    OPENER,
    actor,
    after_event_insert,
    after_statement,
    comments,
    event,
    opened,
    raw_rows,
    run_concurrently,
)

BEIJING = timezone(timedelta(hours=8))


def dump(events: list[StoredEvent]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in events]


def nothing_changed(engine: Engine, before: tuple[Any, Any]) -> None:
    """The log and every projection are exactly as they were."""
    assert (raw_rows(engine), projections.projection_snapshot(engine)) == before


def state_of(engine: Engine) -> tuple[Any, Any]:
    return raw_rows(engine), projections.projection_snapshot(engine)


# -- 1. append: seq, position, round trip ----------------------------------------------


def test_append_numbers_events_per_case_and_positions_increase(store: EventStore) -> None:
    a1 = store.append(
        "HR-2026-000001", 0, [opened("HR-2026-000001"), *comments("HR-2026-000001", 2)]
    )
    b1 = store.append("HR-2026-000002", 0, [opened("HR-2026-000002")])
    a2 = store.append("HR-2026-000001", 3, comments("HR-2026-000001", 2, start=2))
    b2 = store.append("HR-2026-000002", 1, comments("HR-2026-000002", 3))

    assert [e.seq for e in a1 + a2] == [1, 2, 3, 4, 5]
    assert [e.seq for e in b1 + b2] == [1, 2, 3, 4]
    in_commit_order = a1 + b1 + a2 + b2
    positions = [e.position for e in in_commit_order]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)

    # read() gives one case in seq order, exactly what append returned.
    assert dump(store.read("HR-2026-000001")) == dump(a1 + a2)
    assert dump(store.read("HR-2026-000002")) == dump(b1 + b2)
    assert store.read("HR-2026-999999") == []
    # read_all() gives the whole log in position order, from a position, in pages.
    assert dump(store.read_all()) == dump(in_commit_order)
    assert dump(store.read_all(after_position=a1[-1].position)) == dump(b1 + a2 + b2)
    assert dump(store.read_all(after_position=b1[0].position, limit=2)) == dump(a2)
    assert dump(list(store.iter_all(batch=2))) == dump(in_commit_order)


def test_stored_fields_round_trip(store: EventStore) -> None:
    payload = {
        "comment": "申请人配偶重病，家庭收入低于低保标准两倍 ✓",
        "amount_fen": 9_007_199_254_740_993,  # beyond a double's exact range
        "flags": [True, False, None],
        "nested": {"z": 1, "a": {"b": [1, 2, {"c": "丙"}]}},
        "empty": {},
    }
    given_at = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=BEIJING)
    events = [
        opened("HR-2026-000001", at=given_at),
        event(
            "HR-2026-000001",
            "case.commented",
            payload,
            actor="chongchuan.officer1",
            at=given_at + timedelta(microseconds=1),
        ),
    ]
    before = datetime.now(UTC)
    returned = store.append("HR-2026-000001", 0, events)
    after = datetime.now(UTC)

    read = store.read("HR-2026-000001")
    assert dump(read) == dump(returned)
    for stored, given in zip(read, events, strict=True):
        assert stored.event_id == given.event_id
        assert stored.case_id == "HR-2026-000001"
        assert stored.type == given.type
        assert stored.schema_version == 1
        assert stored.payload == given.payload
        assert stored.actor_id == given.actor_id
        # The same instant, to the microsecond, handed back as an aware UTC datetime.
        assert stored.occurred_at == given.occurred_at
        assert stored.occurred_at.utcoffset() == timedelta(0)
        assert stored.recorded_at.utcoffset() == timedelta(0)
        assert before <= stored.recorded_at <= after
    assert read[1].occurred_at == datetime(2026, 3, 2, 1, 30, 15, 123457, tzinfo=UTC)
    assert read[1].payload["amount_fen"] == 9_007_199_254_740_993
    assert read[0].recorded_at == read[1].recorded_at  # one append, one transaction


def test_the_append_binds_every_column_of_the_event_table() -> None:
    """The insert names its columns in a fixed order (the append binds them without
    looking them up): a column added to `case_events` must be added there too."""
    assert set(event_store.EVENT_COLUMNS) == {c.name for c in case_events.c} - {"position"}
    assert len(event_store.EVENT_COLUMNS) == len(case_events.c) - 1


def test_hash_chain_links_each_case_from_genesis(store: EventStore) -> None:
    store.append("HR-2026-000001", 0, [opened("HR-2026-000001"), *comments("HR-2026-000001", 2)])
    store.append("HR-2026-000002", 0, [opened("HR-2026-000002")])
    store.append("HR-2026-000001", 3, comments("HR-2026-000001", 1, start=2))
    for case_id in ("HR-2026-000001", "HR-2026-000002"):
        events = store.read(case_id)
        assert events[0].prev_hash == GENESIS
        for prev, this in zip(events, events[1:], strict=False):
            assert this.prev_hash == prev.hash
        for e in events:
            assert len(e.hash) == 64 and e.hash != e.prev_hash


def test_append_rejects_events_of_another_case_and_writes_nothing(
    engine: Engine, store: EventStore
) -> None:
    store.append("HR-2026-000001", 0, [opened("HR-2026-000001")])
    before = state_of(engine)
    with pytest.raises(ValueError, match="belong to the case"):
        store.append(
            "HR-2026-000001", 1, [*comments("HR-2026-000001", 1), opened("HR-2026-000002")]
        )
    nothing_changed(engine, before)
    assert store.append("HR-2026-000001", 1, []) == []
    nothing_changed(engine, before)


def test_naive_times_are_refused_and_nothing_is_written(engine: Engine, store: EventStore) -> None:
    cid = "HR-2026-000001"
    store.append(cid, 0, [opened(cid)])
    before = state_of(engine)
    naive = comments(cid, 1)[0].model_copy(update={"occurred_at": datetime(2026, 3, 2, 9, 30)})
    with pytest.raises(StatementError, match="naive datetime"):
        store.append(cid, 1, [naive])
    nothing_changed(engine, before)


# -- 2. expected_seq -------------------------------------------------------------------


@pytest.mark.parametrize("expected_seq", [0, 1, 2, 4, 10])
def test_wrong_expected_seq_is_a_conflict_and_writes_nothing(
    engine: Engine, store: EventStore, expected_seq: int
) -> None:
    cid = "HR-2026-000001"
    store.append(cid, 0, [opened(cid), *comments(cid, 2)])  # head is seq 3
    before = state_of(engine)
    late = [
        event(cid, "case.stage_entered", {"stage": "home_visit", "facts": {"x": 1}}),
        event(
            cid,
            "task.opened",
            {
                "task_id": "task-late",
                "stage": "home_visit",
                "role": "grassroots_officer",
                "district": "崇川区",
                "due_at": None,
            },
        ),
    ]
    with pytest.raises(ConcurrencyConflict, match="head is 3"):
        store.append(cid, expected_seq, late)
    nothing_changed(engine, before)
    # The same events at the right seq are accepted (the refusal was about the seq).
    assert [e.seq for e in store.append(cid, 3, late)] == [4, 5]


def test_first_append_must_expect_seq_zero(engine: Engine, store: EventStore) -> None:
    with pytest.raises(ConcurrencyConflict):
        store.append("HR-2026-000001", 1, [opened("HR-2026-000001")])
    assert raw_rows(engine) == []
    assert projections.projection_snapshot(engine) == {
        "cases": [],
        "case_tasks": [],
        "relief_fund_ledger": [],
        "notifications": [],
        "open_task_days": [],
        "households": [],
        "case_deadlines": [],
        "relief_fund_budgets": [],
    }


def test_racing_appends_at_the_same_seq_one_wins(engine: Engine, store: EventStore) -> None:
    """Writers that read the same head: exactly one append lands, the others conflict and
    leave no trace, in the log or in the projections they wrote before losing."""
    for round_ in range(5):
        cid = f"HR-2026-{round_ + 1:06d}"
        store.append(cid, 0, [opened(cid)])
        batches = [
            [
                event(cid, "case.stage_entered", {"stage": f"s{w}", "facts": {"writer": w}}),
                *comments(cid, 2, start=10 * w),
            ]
            for w in range(4)
        ]
        results = run_concurrently(*[partial(store.append, cid, 1, b) for b in batches])
        winners = [r for r in results if isinstance(r, list)]
        losers = [r for r in results if not isinstance(r, list)]
        assert len(winners) == 1, results
        assert all(isinstance(r, ConcurrencyConflict) for r in losers), losers
        log = store.read(cid)
        assert [e.seq for e in log] == [1, 2, 3, 4]
        assert dump(log[1:]) == dump(winners[0])
        winner = batches[results.index(winners[0])]
        assert [e.event_id for e in log[1:]] == [e.event_id for e in winner]
    # The projections are those of the winners alone: a rebuild from the log agrees.
    live = projections.projection_snapshot(engine)
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == live


# -- 3. idempotent retry ----------------------------------------------------------------


def test_retrying_the_same_append_returns_the_stored_rows(
    engine: Engine, store: EventStore
) -> None:
    cid = "HR-2026-000001"
    events = [opened(cid), *comments(cid, 3)]
    first = store.append(cid, 0, events)
    after_first = state_of(engine)

    # A retried activity: the same events, decoded again from JSON (as Temporal hands
    # them to the activity), at the same expected seq.
    again = [NewEvent.model_validate_json(e.model_dump_json()) for e in events]
    assert dump(store.append(cid, 0, again)) == dump(first)
    assert dump(store.append(cid, 0, events)) == dump(first)
    nothing_changed(engine, after_first)

    # Recognised by event id, not by seq: still the stored rows once the case moved on.
    later = store.append(cid, 4, comments(cid, 2, start=3))
    after_later = state_of(engine)
    assert dump(store.append(cid, 0, events)) == dump(first)
    assert dump(store.append(cid, 4, [e.as_new_event() for e in later])) == dump(later)
    nothing_changed(engine, after_later)
    assert [e.seq for e in store.read(cid)] == [1, 2, 3, 4, 5, 6]


def _changed(e: NewEvent, field: str) -> NewEvent:
    changes: dict[str, Any] = {
        "payload": {**e.payload, "comment": "改过的内容"},
        "type": "case.noted",
        "actor_id": "chongchuan.officer2",
        "occurred_at": e.occurred_at + timedelta(microseconds=1),
        "schema_version": e.schema_version + 1,
    }
    return e.model_copy(update={field: changes[field]})


@pytest.mark.parametrize("field", ["payload", "occurred_at"])
def test_same_decision_redecided_later_returns_the_stored_version(
    engine: Engine, store: EventStore, field: str
) -> None:
    """A workflow task retried after its local activity committed re-decides the same
    events (same ids, places, types, actors) at a later workflow time: the stored version
    stands, nothing is written, and the caller gets the stored rows to adopt."""
    cid = "HR-2026-000001"
    events = [opened(cid), *comments(cid, 2)]
    first = store.append(cid, 0, events)
    before = state_of(engine)
    redecided = [events[0], _changed(events[1], field), events[2]]
    again = store.append(cid, 0, redecided)
    assert [e.model_dump() for e in again] == [e.model_dump() for e in first]
    assert getattr(again[1], field) != getattr(redecided[1], field)
    nothing_changed(engine, before)


def test_stored_ids_in_another_order_are_a_conflict(engine: Engine, store: EventStore) -> None:
    cid = "HR-2026-000001"
    events = [opened(cid), *comments(cid, 2)]
    store.append(cid, 0, events)
    before = state_of(engine)
    with pytest.raises(ConcurrencyConflict, match="other content"):
        store.append(cid, 0, [events[0], events[2], events[1]])
    nothing_changed(engine, before)


@pytest.mark.parametrize("field", ["type", "actor_id", "schema_version"])
def test_same_event_id_with_other_content_is_a_conflict(
    engine: Engine, store: EventStore, field: str
) -> None:
    cid = "HR-2026-000001"
    events = [opened(cid), *comments(cid, 2)]
    store.append(cid, 0, events)
    before = state_of(engine)
    tampered = [events[0], _changed(events[1], field), events[2]]
    with pytest.raises(ConcurrencyConflict, match="other content"):
        store.append(cid, 0, tampered)
    # Not silently appended as new events either, wherever the case is now.
    with pytest.raises(ConcurrencyConflict):
        store.append(cid, 3, [_changed(events[1], field)])
    nothing_changed(engine, before)


def test_event_id_of_another_case_is_a_conflict(engine: Engine, store: EventStore) -> None:
    store.append("HR-2026-000001", 0, [opened("HR-2026-000001")])
    reused = opened("HR-2026-000002").model_copy(
        update={"event_id": store.read("HR-2026-000001")[0].event_id}
    )
    before = state_of(engine)
    with pytest.raises(ConcurrencyConflict):
        store.append("HR-2026-000002", 0, [reused])
    nothing_changed(engine, before)


def test_partly_stored_batch_is_a_conflict(engine: Engine, store: EventStore) -> None:
    cid = "HR-2026-000001"
    events = [opened(cid), *comments(cid, 2)]
    store.append(cid, 0, events)
    before = state_of(engine)
    with pytest.raises(ConcurrencyConflict, match="some of these event ids"):
        store.append(cid, 3, [events[2], *comments(cid, 1, start=5)])
    nothing_changed(engine, before)


def test_duplicate_deliveries_racing_each_other_both_get_the_stored_rows(
    engine: Engine, store: EventStore
) -> None:
    """Two deliveries of the same append at once (an activity retried while its first
    attempt is still running): one inserts, the other returns what the first stored."""
    for n in range(1, 21):
        cid = f"HR-2026-{n:06d}"
        events = [opened(cid), *comments(cid, 4)]
        results = run_concurrently(*[partial(store.append, cid, 0, events)] * 3)
        assert all(isinstance(r, list) for r in results), results
        assert dump(results[0]) == dump(results[1]) == dump(results[2])  # type: ignore[arg-type]
        assert dump(store.read(cid)) == dump(results[0])  # type: ignore[arg-type]
    assert len(raw_rows(engine)) == 20 * 5


def test_duplicate_delivery_committing_between_checks_gets_the_stored_rows(
    engine: Engine, store: EventStore
) -> None:
    """The race above, made certain: delivery B has read the case's head (empty) when
    delivery A commits the same events; B's insert then collides with them. That is the
    same append, stored: B must return the stored rows, not report a conflict (the
    workflow would take a ConcurrencyConflict as another writer and fail the case)."""
    cid = "HR-2026-000001"
    events = [opened(cid), *comments(cid, 4)]
    b_looked, a_done = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def pause_b_after_its_head_read() -> None:
        if threading.current_thread().name == "B" and not b_looked.is_set():
            b_looked.set()
            # SQLite: B holds the write lock, so A cannot commit before B goes on.
            a_done.wait(0.5 if engine.dialect.name == "sqlite" else 10)

    def deliver(name: str) -> None:
        try:
            results[name] = store.append(cid, 0, events)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[name] = exc

    b = threading.Thread(name="B", target=deliver, args=("B",))
    with after_statement(engine, "ORDER BY case_events.seq DESC", pause_b_after_its_head_read):
        b.start()
        try:
            assert b_looked.wait(10)
            a = threading.Thread(name="A", target=deliver, args=("A",))
            a.start()
            a.join(15)
        finally:
            a_done.set()
            b.join(15)
    assert isinstance(results["A"], list) and isinstance(results["B"], list), results
    assert dump(results["A"]) == dump(results["B"]) == dump(store.read(cid))
    assert len(raw_rows(engine)) == 5


# -- 4. position follows commit order ---------------------------------------------------


class Follower:
    """Follows the log the way a projector or outbox relay does: it remembers the last
    position it saw and asks only for events after it."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.after = 0
        self.seen: list[StoredEvent] = []

    def poll(self) -> int:
        chunk = self.store.read_all(after_position=self.after)
        if chunk:
            self.seen += chunk
            self.after = chunk[-1].position
        return len(chunk)

    def skipped(self, log: list[StoredEvent]) -> set[str]:
        assert [e.position for e in self.seen] == sorted({e.position for e in self.seen})
        return {e.event_id for e in log} - {e.event_id for e in self.seen}


def test_a_reader_following_positions_never_misses_an_event(
    engine: Engine, store: EventStore
) -> None:
    """Two writers append 1,000 events each (batches of 10) to two cases, while followers
    read `read_all(after=last position seen)`: one polling all along, and each writer
    right after each of its commits (when a slower, lower-numbered batch of the other
    writer may still be uncommitted). If positions did not follow commit order, a batch
    committing after a higher-numbered one would be skipped for good."""
    cases = ("HR-2026-000001", "HR-2026-000002")
    batches, batch_size = 100, 10
    sqlite = engine.dialect.name == "sqlite"
    # SQLite: a breath between decisions, else one writer re-takes the lock while the
    # other sleeps in its busy handler and they hardly overlap.
    pause = 0.002 if sqlite else 0.0
    # PostgreSQL: up to 1 ms between taking positions and committing, as a loaded server
    # or a slow network gives: the window in which commit order could differ from
    # position order. (SQLite's single write lock spans the whole append anyway.)
    jitter = 0.0 if sqlite else 0.001
    returned: dict[str, list[list[StoredEvent]]] = {c: [] for c in cases}
    followers = {c: Follower(store) for c in cases}
    poller = Follower(store)
    writing = threading.Event()
    writing.set()
    polls_with_news = 0

    def writer(cid: str) -> None:
        seq = 0
        for b in range(batches):
            if b == 0:
                events = [opened(cid), *comments(cid, batch_size - 1)]
            else:
                events = comments(cid, batch_size, start=seq)
            returned[cid].append(store.append(cid, seq, events))
            seq += batch_size
            followers[cid].poll()
            time.sleep(pause)

    def poll_while_writing() -> None:
        nonlocal polls_with_news
        while writing.is_set():
            if poller.poll():
                polls_with_news += 1
            else:
                time.sleep(0.0005)

    def commit_a_little_later() -> None:
        time.sleep(random.random() * jitter)

    polling = threading.Thread(target=poll_while_writing)
    polling.start()
    started = time.monotonic()
    try:
        with after_event_insert(engine, commit_a_little_later):
            results = run_concurrently(*[lambda c=c: writer(c) for c in cases])
    finally:
        writing.clear()
        polling.join(60)
    elapsed = time.monotonic() - started
    assert not polling.is_alive()
    assert results == [None, None], results

    log = list(store.iter_all())
    assert len(log) == 2 * batches * batch_size
    # Per case, seq runs 1..1000 and increases with position.
    for cid in cases:
        assert [e.seq for e in log if e.case_id == cid] == list(range(1, batches * batch_size + 1))
    # Each append is one contiguous run of positions, as returned to its writer.
    by_position = {e.position: e for e in log}
    for cid in cases:
        for batch in returned[cid]:
            first = batch[0].position
            assert [e.position for e in batch] == list(range(first, first + batch_size))
            assert all(by_position[e.position].event_id == e.event_id for e in batch)
    # The writers and the poller really ran side by side (else this proves nothing).
    switches = sum(a.case_id != b.case_id for a, b in zip(log, log[1:], strict=False))
    assert switches >= 20, f"writers hardly overlapped ({switches} switches)"
    assert polls_with_news >= 5, "the poller hardly overlapped the writers"
    # The real property: after catching up, no follower lacks an event.
    for name, follower in [("poller", poller), *followers.items()]:
        follower.poll()
        skipped = follower.skipped(log)
        assert not skipped, f"{name} skipped {len(skipped)} events that committed late"
    assert elapsed < 30, f"too slow: {elapsed:.1f}s"


def test_an_append_waits_for_one_that_took_positions_before_it(
    engine: Engine, store: EventStore
) -> None:
    """The race of the test above, made certain: append A has inserted its events
    (positions taken) but not committed when append B, to another case, starts. B must
    not become visible before A, or a follower reading in between skips A for good."""
    store.append("HR-2026-000001", 0, [opened("HR-2026-000001")])
    store.append("HR-2026-000002", 0, [opened("HR-2026-000002")])
    follower = Follower(store)
    follower.poll()
    inserted, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def hold_a_open() -> None:
        if threading.current_thread().name == "A":
            inserted.set()
            release.wait(10)

    def append(name: str, cid: str) -> None:
        try:
            results[name] = store.append(cid, 1, comments(cid, 3))
        except Exception as exc:  # noqa: BLE001 - reported below
            results[name] = exc

    a = threading.Thread(name="A", target=append, args=("A", "HR-2026-000001"))
    b = threading.Thread(name="B", target=append, args=("B", "HR-2026-000002"))
    with after_event_insert(engine, hold_a_open):
        a.start()
        try:
            assert inserted.wait(10), "append A never reached its insert"
            b.start()
            b.join(0.5)
            b_finished_first = not b.is_alive()
            follower.poll()  # while A is still uncommitted
        finally:
            release.set()
            a.join(10)
            b.join(10)
    assert isinstance(results["A"], list) and isinstance(results["B"], list), results
    follower.poll()
    log = list(store.iter_all())
    assert not follower.skipped(log), "a follower skipped events that committed late"
    assert not b_finished_first, "B committed while A, holding earlier positions, had not"
    assert max(e.position for e in results["A"]) < min(e.position for e in results["B"])


# -- 5. the actor is checked against the directory --------------------------------------


@pytest.fixture
def people(engine: Engine) -> Directory:
    directory = Directory(engine)
    directory.upsert(demo_users())
    return directory


FORGED = {
    "unknown_actor": (actor("chongchuan.nobody", Role.GRASSROOTS_OFFICER), "unknown_actor"),
    "extra_role": (
        actor("chongchuan.grassroots2", Role.GRASSROOTS_OFFICER, Role.DISTRICT_LEADER),
        "actor_mismatch",
    ),
    "other_district": (
        actor("chongchuan.grassroots2", Role.GRASSROOTS_OFFICER, district="通州区"),
        "actor_mismatch",
    ),
    "city_claimed": (
        actor("chongchuan.grassroots2", Role.GRASSROOTS_OFFICER, district="市总工会"),
        "actor_mismatch",
    ),
}


@pytest.mark.parametrize("forgery", [*FORGED, "disabled"])
@pytest.mark.parametrize("head", ["remembered", "read"])
def test_an_actor_the_directory_does_not_vouch_for_is_refused_and_nothing_is_written(
    engine: Engine, store: EventStore, people: Directory, forgery: str, head: str
) -> None:
    """Unknown, disabled, or claiming a role or jurisdiction the directory does not give:
    refused inside the append's transaction, before any row (event or projection) is
    written; whether the store remembers the case's head from its own last append (the
    fast path) or reads it."""
    cid = "HR-2026-000001"
    store.append(cid, 0, [opened(cid)], actors=[OPENER])
    if forgery == "disabled":
        people.disable(GRASSROOTS2.id)
        claimed, code = GRASSROOTS2, "actor_disabled"
    else:
        claimed, code = FORGED[forgery]
    writer = store if head == "remembered" else EventStore(engine)
    before = state_of(engine)
    claim = event(cid, "task.claimed", {"task_id": "t1", "assignee": claimed.id}, actor=claimed.id)
    with pytest.raises(ActorRefused) as refused:
        writer.append(cid, 1, [claim], actors=[claimed])
    assert (refused.value.code, refused.value.index) == (code, 0)
    assert claimed.id in refused.value.message
    nothing_changed(engine, before)
    # The case is not stuck: the next append at that seq, by someone real, goes in.
    real = event(
        cid, "task.claimed", {"task_id": "t1", "assignee": GRASSROOTS3.id}, actor=GRASSROOTS3.id
    )
    assert [e.seq for e in writer.append(cid, 1, [real], actors=[GRASSROOTS3])] == [2]


def test_a_named_person_is_checked_too_and_each_check_is_one_read(
    engine: Engine, store: EventStore, people: Directory
) -> None:
    """A reassignment names its new assignee: a forged one is refused like a forged
    actor, and `index` says which. Each check is one primary-key read."""
    cid = "HR-2026-000001"
    store.append(cid, 0, [opened(cid)], actors=[OPENER])
    before = state_of(engine)
    supervisor = actor("chongchuan.supervisor", Role.SUPERVISOR)
    forged_target = actor("chongchuan.grassroots3", Role.GRASSROOTS_OFFICER, Role.CITY_LEADER)
    moved = event(
        cid, "task.reassigned", {"task_id": "t1", "assignee": forged_target.id}, actor=supervisor.id
    )
    reads: list[int] = []
    with after_statement(engine, "FROM users", lambda: reads.append(1)):
        with pytest.raises(ActorRefused) as refused:
            store.append(cid, 1, [moved], actors=[supervisor, forged_target])
        assert (refused.value.code, refused.value.index) == ("actor_mismatch", 1)
        nothing_changed(engine, before)
        assert len(reads) == 2
        store.append(cid, 1, [moved], actors=[supervisor, GRASSROOTS3])
    assert len(reads) == 4
    assert [e.type for e in store.read(cid)] == ["case.opened", "task.reassigned"]


ASSIGNED_TO = {
    "unknown": ("chongchuan.nobody", "unknown_assignee"),
    "disabled": ("chongchuan.grassroots3", "assignee_disabled"),
    "lacks_the_role": ("chongchuan.officer1", "assignee_not_eligible"),
    "other_district": ("tongzhou.grassroots1", "assignee_not_eligible"),
}


@pytest.mark.parametrize("who", [*ASSIGNED_TO, "city_staff"])
def test_a_task_opened_assigned_needs_an_assignee_the_directory_vouches_for(
    engine: Engine, store: EventStore, people: Directory, who: str
) -> None:
    """Unknown, disabled, without the task's role, or outside its queue: refused in the
    append's transaction like a forged actor (`index` after the actors), nothing
    written. Someone with the role in the whole city may take a district's task."""
    cid = "HR-2026-000001"
    store.append(cid, 0, [opened(cid)], actors=[OPENER])
    people.disable("chongchuan.grassroots3")
    people.upsert(
        [
            User(
                id="city.grassroots",
                name="市总基层",
                roles=[Role.GRASSROOTS_OFFICER],
                district="市总工会",
            )
        ]
    )
    user_id, code = ASSIGNED_TO.get(who, ("city.grassroots", ""))
    task = event(
        cid,
        "task.opened",
        {
            "task_id": "t2",
            "stage": "home_visit",
            "role": "grassroots_officer",
            "district": "崇川区",
            "due_at": None,
            "assignee": user_id,
        },
    )
    assignee = Assignee(user_id, "grassroots_officer", "崇川区")
    before = state_of(engine)
    if not code:
        store.append(cid, 1, [task], actors=[GRASSROOTS2], assignees=[assignee])
        assert store.read(cid)[-1].payload["assignee"] == user_id
        return
    with pytest.raises(ActorRefused) as refused:
        store.append(cid, 1, [task], actors=[GRASSROOTS2], assignees=[assignee])
    assert (refused.value.code, refused.value.index) == (code, 1)
    assert user_id in refused.value.message
    nothing_changed(engine, before)


def test_the_directory_is_read_at_each_append_not_remembered(
    engine: Engine, store: EventStore, people: Directory
) -> None:
    cid = "HR-2026-000001"
    store.append(cid, 0, [opened(cid)], actors=[OPENER])
    store.append(cid, 1, comments(cid, 1), actors=[OPENER])
    people.set_roles(OPENER.id, [Role.DISTRICT_OFFICER])
    with pytest.raises(ActorRefused, match="grassroots_officer"):
        store.append(cid, 2, comments(cid, 1, start=1), actors=[OPENER])
    people.set_roles(OPENER.id, [Role.GRASSROOTS_OFFICER])
    people.disable(OPENER.id)
    with pytest.raises(ActorRefused) as refused:
        store.append(cid, 2, comments(cid, 1, start=1), actors=[OPENER])
    assert refused.value.code == "actor_disabled"
    people.enable(OPENER.id)
    # Claiming fewer roles than one holds is no forgery.
    modest = actor(OPENER.id)
    assert [e.seq for e in store.append(cid, 2, comments(cid, 1, start=1), actors=[modest])] == [3]


def test_a_retried_append_is_not_checked_again(
    engine: Engine, store: EventStore, people: Directory
) -> None:
    """The events of an append that committed were checked in the transaction that wrote
    them. Its retry (a worker died before reporting the commit) returns the stored rows
    even if the user has been disabled since: the action happened, the log says so, and
    a refusal now would have the workflow take back what the log holds. A new append in
    their name is refused."""
    cid = "HR-2026-000001"
    events = [opened(cid), *comments(cid, 2)]
    first = store.append(cid, 0, events, actors=[OPENER])
    people.disable(OPENER.id)
    after_first = state_of(engine)
    for writer in (store, EventStore(engine)):  # head remembered, or read from the rows
        assert dump(writer.append(cid, 0, events, actors=[OPENER])) == dump(first)
    nothing_changed(engine, after_first)
    with pytest.raises(ActorRefused):
        store.append(cid, 3, comments(cid, 1, start=2), actors=[OPENER])
    nothing_changed(engine, after_first)


def test_the_check_also_runs_outside_an_append(engine: Engine, people: Directory) -> None:
    """`Directory.verify_actor` on a connection with no transaction begun (an edge
    checking someone) reads through SQLAlchemy rather than the append's driver cursor:
    the same verdicts."""
    with engine.connect() as conn:
        Directory.verify_actor(conn, OPENER)
        for forged, code in FORGED.values():
            with pytest.raises(ActorMismatch) as refused:
                Directory.verify_actor(conn, forged)
            assert refused.value.code == code


def test_a_retry_is_not_refused_when_another_worker_stored_it(
    engine: Engine, people: Directory
) -> None:
    """The retry lands on a worker whose store remembers the case's head from before
    another worker stored these events (and died before reporting it): the remembered
    head says the events are new, the directory now refuses their actor, yet they are
    in the log. They stand: the stored rows come back."""
    cid = "HR-2026-000001"
    this_worker, other_worker = EventStore(engine), EventStore(engine)
    this_worker.append(cid, 0, [opened(cid)], actors=[OPENER])  # remembers head 1
    events = comments(cid, 2)
    first = other_worker.append(cid, 1, events, actors=[GRASSROOTS2])
    people.disable(GRASSROOTS2.id)
    before = state_of(engine)
    assert dump(this_worker.append(cid, 1, events, actors=[GRASSROOTS2])) == dump(first)
    nothing_changed(engine, before)
    with pytest.raises(ActorRefused):  # a new append in their name is still refused
        this_worker.append(cid, 3, comments(cid, 1, start=2), actors=[GRASSROOTS2])
