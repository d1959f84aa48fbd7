"""The append-only case event log, with a per-case hash chain.

Rules (DESIGN.md "Event store"), each with a contract test on SQLite and PostgreSQL:
- `(case_id, seq)` is unique: an append names the seq it follows; a clash is a
  `ConcurrencyConflict`, never a silent retry. The head is read from the rows.
- `event_id` is unique: appending ids already stored as the same decisions (same case,
  place, type, actor and schema version) returns the stored rows (a retried activity, or
  a retried workflow task re-deciding at a later time: the stored version stands and
  the caller adopts it); the same id as another decision is a conflict.
- Global `position` follows commit order (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
  EXCLUSIVE table lock taken last, just before one multi-row insert).
- Projections are written in the same transaction as the events.
- The people an append names (`actors`: who acted, whom they named; `assignees`: whom a
  task opens assigned to) are checked against the directory in the same transaction,
  before any row is written: an actor who is unknown, disabled, or claims roles or a
  jurisdiction they do not hold, or an assignee without the task's role in its
  jurisdiction, is an `ActorRefused` and nothing is written. An append found already stored is not checked
  again: it was checked when it was written (see `append`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from casework.domain.case import CaseState
from casework.domain.events import NewEvent, upcast
from casework.domain.org import Actor
from casework.domain.streams import is_case_stream
from casework.metrics import EVENTS_APPENDED
from casework.store import projections
from casework.store.db import IMMEDIATE
from casework.store.directory import ActorMismatch, Assignee, Directory
from casework.store.fastsql import Statements
from casework.store.tables import case_events, cases, relief_fund_budgets, relief_fund_ledger

GENESIS = "0" * 64


# Statements built once: constructing them per call was most of an append's cost.
def _latest(column: Any) -> Any:
    return (
        select(column)
        .where(case_events.c.case_id == bindparam("case_id"))
        .order_by(case_events.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )


# The case's head (seq, hash; read from the rows) and its read-model state, in one
# round trip.
_HEAD = select(
    _latest(case_events.c.seq).label("seq"),
    _latest(case_events.c.hash).label("hash"),
    select(cases.c.state)
    .where(cases.c.case_id == bindparam("case_id"))
    .scalar_subquery()
    .label("state"),
)
EVENT_COLUMNS = (
    "event_id",
    "case_id",
    "seq",
    "type",
    "schema_version",
    "payload",
    "actor_id",
    "occurred_at",
    "recorded_at",
    "prev_hash",
    "hash",
)
"""Every column of `case_events` but `position`, in the order `_append` binds them
(tests/store/test_event_store.py holds them to the table)."""


@functools.cache
def _row_names(n: int) -> tuple[tuple[str, ...], ...]:
    """The bound parameter names of each row of `_insert_events(n)`."""
    return tuple(tuple(f"{c}_{i}" for c in EVENT_COLUMNS) for i in range(n))


def _insert_events(n: int) -> Any:
    """One multi-row INSERT of `n` events, returning each row's position and seq."""
    rows: list[dict[str, Any]] = [
        {c: bindparam(name) for c, name in zip(EVENT_COLUMNS, names, strict=True)}
        for names in _row_names(n)
    ]
    return insert(case_events).values(rows).returning(case_events.c.position, case_events.c.seq)


_FAST = Statements()
# Taken last, just before the insert: positions then follow commit order (DESIGN.md).
_LOCK = text("SET LOCAL lock_timeout = '5s'; LOCK TABLE case_events IN EXCLUSIVE MODE")
"""Two statements in one round trip: without parameters the driver sends them as one
simple query."""


class Head(NamedTuple):
    seq: int
    hash: str
    state: CaseState | str | None


class StoreError(Exception):
    pass


class ConcurrencyConflict(StoreError):
    """Another writer appended to this case first, or an event id was reused."""


class ActorRefused(StoreError):
    """An actor the append names does not match the directory; nothing was written.
    `code`: unknown_actor | actor_disabled | actor_mismatch, or for an assignee
    unknown_assignee | assignee_disabled | assignee_not_eligible; `index`: which of the
    append's `actors` it was, or len(actors) + which of its `assignees`."""

    def __init__(self, code: str, message: str, index: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.index = index


class FundsUnavailable(StoreError):
    """A reservation would overdraw the district's relief fund for the year."""


class FundCheck(BaseModel):
    """Checked in the append's transaction: the reservation fits the remaining budget."""

    district: str
    year: int
    amount_fen: int


class StoredEvent(BaseModel):
    position: int
    event_id: str
    case_id: str
    seq: int
    type: str
    schema_version: int
    payload: dict[str, Any]
    actor_id: str
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str

    def as_new_event(self) -> NewEvent:
        return NewEvent(
            event_id=self.event_id,
            case_id=self.case_id,
            type=self.type,
            schema_version=self.schema_version,
            payload=self.payload,
            actor_id=self.actor_id,
            occurred_at=self.occurred_at,
        )


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
"""One encoder made once: `json.dumps` with options builds a new one on every call."""


def canonical_json(value: Any) -> str:
    return _CANONICAL(value)


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    prev_hash: str,
    *,
    event_id: str,
    case_id: str,
    seq: int,
    type: str,
    schema_version: int,
    payload: str,
    actor_id: str,
    occurred_at: datetime,
) -> str:
    """sha256 over the previous hash and the stored bytes of the event (not its position)."""
    return _chained(
        prev_hash, event_id, case_id, seq, type, schema_version, payload, actor_id, occurred_at
    )


def _chained(
    prev_hash: str,
    event_id: str,
    case_id: str,
    seq: int,
    type_: str,
    schema_version: int,
    payload: str,
    actor_id: str,
    occurred_at: datetime,
) -> str:
    body = _CANONICAL(
        [event_id, case_id, seq, type_, schema_version, payload, actor_id, _time(occurred_at)]
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass
class VerifyReport:
    cases_checked: int
    events_checked: int
    broken: list[dict[str, Any]]


def walk_chains(rows: Iterable[Any]) -> VerifyReport:
    """Check the hash chain of stored event rows ordered by case and seq; every break,
    once per case (later links of a broken case follow from the break)."""
    broken: list[dict[str, Any]] = []
    cases_checked = events_checked = 0
    current: str | None = None
    prev = GENESIS
    expected_seq = 0
    skip = False
    for row in rows:
        if row.case_id != current:
            current, prev, expected_seq, skip = row.case_id, GENESIS, 0, False
            cases_checked += 1
        events_checked += 1
        expected_seq += 1
        if skip:
            continue
        problem = None
        if row.seq != expected_seq:
            problem = f"seq gap: expected {expected_seq}, found {row.seq}"
        elif row.prev_hash != prev:
            problem = "prev_hash does not match the previous event's hash"
        else:
            digest = event_hash(
                prev,
                event_id=row.event_id,
                case_id=row.case_id,
                seq=row.seq,
                type=row.type,
                schema_version=row.schema_version,
                payload=row.payload,
                actor_id=row.actor_id,
                occurred_at=row.occurred_at,
            )
            if digest != row.hash:
                problem = "hash does not match the stored event (altered)"
        if problem:
            broken.append({"case_id": row.case_id, "seq": row.seq, "problem": problem})
            skip = True
        prev = row.hash
    return VerifyReport(cases_checked, events_checked, broken)


def run_event(
    stream: str, type_: str, actor: Actor, payload: dict[str, Any], event_id: str | None = None
) -> NewEvent:
    """A new event of a run stream (a programme, a campaign, a year's funds or refunds),
    decided now by `actor`."""
    return NewEvent(
        event_id=event_id or str(uuid.uuid4()),
        case_id=stream,
        type=type_,
        payload=payload,
        actor_id=actor.id,
        occurred_at=datetime.now(UTC),
    )


class EventStore:
    HEADS_KEPT = 4096

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._heads: OrderedDict[str, Head] = OrderedDict()
        """Recently appended cases: head seq, head hash and case state as committed by
        this store. A case's next append names the seq it follows; when that is the
        remembered head, the head read is skipped. Safe because the row at that seq
        can never change and `(case_id, seq)` stays the arbiter: if another writer
        appended meanwhile, the insert collides and the append falls back to the rows."""
        self._heads_lock = threading.Lock()
        self._writer: threading.Lock | contextlib.nullcontext[None] = (
            contextlib.nullcontext() if self._postgres else threading.Lock()
        )
        """SQLite has one writer at a time. Threads of this process queue here rather
        than in SQLite's busy handler, whose growing sleeps let an unlucky writer starve
        behind others for seconds (the worker runs up to 32 appends at once); other
        processes still meet at BEGIN IMMEDIATE."""

    def _remembered(self, case_id: str, expected_seq: int) -> Head | None:
        with self._heads_lock:
            head = self._heads.get(case_id)
            if head is None or head.seq != expected_seq:
                return None
            self._heads.move_to_end(case_id)
            return head

    def _remember(self, case_id: str, head: Head | None) -> None:
        with self._heads_lock:
            if head is None:
                self._heads.pop(case_id, None)
                return
            self._heads[case_id] = head
            self._heads.move_to_end(case_id)
            if len(self._heads) > self.HEADS_KEPT:
                self._heads.popitem(last=False)

    # -- writing ---------------------------------------------------------------------

    def append(
        self,
        case_id: str,
        expected_seq: int,
        events: Sequence[NewEvent],
        fund_check: FundCheck | None = None,
        also: Callable[[Connection], None] | None = None,
        actors: Sequence[Actor] = (),
        assignees: Sequence[Assignee] = (),
    ) -> list[StoredEvent]:
        """Append `events` after seq `expected_seq` of `case_id`, atomically with projections.
        `also`: an effect that must commit with the events, or not at all (it may raise
        to abort the append), e.g. destroying a case's data key.
        `actors`: the people these events record acting or name (the Update's actor, a
        reassignment's new assignee), each checked against the directory in this
        transaction before anything is written (`ActorRefused`); `assignees`: the users
        tasks in these events open assigned to, checked the same way for the task's role
        and jurisdiction.

        A retry of an append already stored (the same event ids) returns the stored rows
        without checking `actors` again: they were checked in the transaction that wrote
        those rows, which is what stands. A user disabled after acting must not turn
        the retry of their recorded action into a refusal the log contradicts. Ids come
        from the workflow (`workflow.uuid4()`), so a new request cannot reuse them."""
        if not events:
            return []
        if any(e.case_id != case_id for e in events):
            raise ValueError("every event must belong to the case being appended to")
        known = self._remembered(case_id, expected_seq)
        self._remember(case_id, None)  # until this append has committed
        try:
            with (
                self._writer,
                self.engine.connect().execution_options(**{IMMEDIATE: True}) as conn,
                conn.begin(),
            ):
                if known is not None:
                    head_seq, prev, state = known
                else:
                    head_sql = _FAST.get(conn.dialect, "head", lambda: _HEAD)
                    head_seq, prev, state = head_sql.execute(conn, {"case_id": case_id}).fetchone()
                    head_seq, prev = head_seq or 0, prev or GENESIS
                if head_seq != expected_seq:
                    # Only a case that moved on can already hold these events.
                    stored = self._already_stored(conn, events)
                    if stored is not None:
                        return stored
                    raise ConcurrencyConflict(
                        f"case {case_id}: expected to follow seq {expected_seq}, head is {head_seq}"
                    )
                checks: list[Callable[[], None]] = [
                    *(lambda a=actor: Directory.verify_actor(conn, a) for actor in actors),
                    *(lambda a=who: Directory.verify_assignee(conn, a) for who in assignees),
                ]
                for index, check in enumerate(checks):
                    try:
                        check()
                    except ActorMismatch as exc:
                        # A head remembered from before another worker stored these very
                        # events (its retry is ours): they stand, checked when written.
                        stored = self._already_stored(conn, events) if known else None
                        if stored is not None:
                            return stored
                        raise ActorRefused(exc.code, exc.message, index) from None
                if also is not None:
                    also(conn)
                appended, new_state = self._append(
                    conn, case_id, expected_seq, prev, state, events, fund_check
                )
            last = appended[-1]
            self._remember(case_id, Head(last.seq, last.hash, new_state))
            EVENTS_APPENDED.inc(len(appended))  # committed, and new: a retry counts nothing
            return appended
        except (IntegrityError, ConcurrencyConflict) as exc:
            # A concurrent writer won the race: the same events (a duplicate delivery,
            # maybe committed after this transaction looked for them but before it read
            # the head) or others at the same seq (a real conflict).
            with self.engine.connect() as conn:
                stored = self._already_stored(conn, events)
            if stored is not None:
                return stored
            if isinstance(exc, ConcurrencyConflict):
                raise
            raise ConcurrencyConflict(f"case {case_id}: seq {expected_seq + 1} taken") from exc

    def _already_stored(
        self, conn: Connection, events: Sequence[NewEvent]
    ) -> list[StoredEvent] | None:
        ids = [e.event_id for e in events]
        rows = conn.execute(
            select(case_events).where(case_events.c.event_id.in_(ids)).order_by(case_events.c.seq)
        ).all()
        if not rows:
            return None
        if len(rows) != len(events):
            raise ConcurrencyConflict("some of these event ids are stored, others are not")
        first_seq = rows[0].seq
        for offset, (row, event) in enumerate(zip(rows, events, strict=True)):
            # The same decision is the same id, at the same place in the case, of the same
            # type, by the same actor. Its payload and time may differ: a workflow task that
            # failed after its local activity committed is retried at a later workflow
            # time and re-decides the same events. The stored version stands.
            if (
                row.event_id != event.event_id
                or row.case_id != event.case_id
                or row.seq != first_seq + offset
                or row.type != event.type
                or row.actor_id != event.actor_id
                or row.schema_version != event.schema_version
            ):
                raise ConcurrencyConflict(f"event id {event.event_id} stored with other content")
        return [self.stored(r) for r in rows]

    def _append(
        self,
        conn: Connection,
        case_id: str,
        expected_seq: int,
        prev: str,
        case_state: CaseState | str | None,
        events: Sequence[NewEvent],
        fund_check: FundCheck | None,
    ) -> tuple[list[StoredEvent], CaseState | None]:
        if fund_check is not None:
            self._check_funds(conn, fund_check)
        now = datetime.now(UTC)
        n = len(events)
        insert_sql = _FAST.get(conn.dialect, ("insert", n), lambda: _insert_events(n))
        # Bound by name straight into one dict (the names made once per row count).
        values: dict[str, Any] = {}
        hashes: list[tuple[str, str]] = []
        # The events as they are stored and read back (canonical JSON payload, UTC time):
        # what the projections see, as in a rebuild, and what the caller gets back.
        as_stored: list[NewEvent] = []
        seq = expected_seq
        for event, names in zip(events, _row_names(n), strict=True):
            seq += 1
            payload = _CANONICAL(event.payload)
            occurred = event.occurred_at.astimezone(UTC)
            as_stored.append(
                event.model_copy(update={"payload": json.loads(payload), "occurred_at": occurred})
            )
            # The stored columns up to the time; the time as given (the binding refuses
            # a naive one; the hash takes it in UTC either way).
            columns = (
                event.event_id,
                case_id,
                seq,
                event.type,
                event.schema_version,
                payload,
                event.actor_id,
                event.occurred_at,
            )
            digest = _chained(prev, *columns)
            values.update(zip(names, (*columns, now, prev, digest), strict=True))
            hashes.append((prev, digest))
            prev = digest
        # A run's stream (docs/batch-runs.md) is no case: no case row, tasks or deadlines.
        new_state = (
            projections.project(conn, case_id, as_stored, expected_seq + 1, case_state)
            if is_case_stream(case_id)
            else None
        )
        if self._postgres:
            _FAST.get(conn.dialect, "lock", lambda: _LOCK).execute(conn, {})
        returned = insert_sql.execute(conn, values).fetchall()
        # RETURNING order is not promised for a multi-row insert: match rows by seq.
        position_of = {seq: pos for pos, seq in returned}
        stored = [
            StoredEvent(
                position=position_of[expected_seq + offset],
                event_id=event.event_id,
                case_id=case_id,
                seq=expected_seq + offset,
                type=event.type,
                schema_version=event.schema_version,
                payload=event.payload,
                actor_id=event.actor_id,
                occurred_at=event.occurred_at,
                recorded_at=now,
                prev_hash=prev_hash,
                hash=digest,
            )
            for offset, (event, (prev_hash, digest)) in enumerate(
                zip(as_stored, hashes, strict=True), start=1
            )
        ]
        return stored, new_state

    def _check_funds(self, conn: Connection, check: FundCheck) -> None:
        budget = conn.execute(
            select(relief_fund_budgets.c.budget_fen)
            .where(
                relief_fund_budgets.c.district == check.district,
                relief_fund_budgets.c.year == check.year,
            )
            .with_for_update()
        ).scalar()
        if budget is None:
            raise FundsUnavailable(f"{check.district} {check.year} 年无帮扶资金预算 (no budget)")
        committed = projections.fund_committed(conn, check.district, check.year)
        remaining = budget - committed
        if check.amount_fen > remaining:
            raise FundsUnavailable(
                f"{check.district} {check.year} 年预算余额 {remaining} 分，不足 {check.amount_fen} 分"
            )

    # -- reading ---------------------------------------------------------------------

    def read(self, case_id: str) -> list[StoredEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(case_events)
                .where(case_events.c.case_id == case_id)
                .order_by(case_events.c.seq)
            ).all()
        return [self.stored(r) for r in rows]

    def read_all(self, after_position: int = 0, limit: int = 10_000) -> list[StoredEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(case_events)
                .where(case_events.c.position > after_position)
                .order_by(case_events.c.position)
                .limit(limit)
            ).all()
        return [self.stored(r) for r in rows]

    def iter_all(self, batch: int = 5_000) -> Iterator[StoredEvent]:
        after = 0
        while True:
            chunk = self.read_all(after, batch)
            if not chunk:
                return
            yield from chunk
            after = chunk[-1].position

    @staticmethod
    def stored(row: Any) -> StoredEvent:
        version, payload = upcast(row.type, row.schema_version, json.loads(row.payload))
        return StoredEvent(
            position=row.position,
            event_id=row.event_id,
            case_id=row.case_id,
            seq=row.seq,
            type=row.type,
            schema_version=version,
            payload=payload,
            actor_id=row.actor_id,
            occurred_at=row.occurred_at,
            recorded_at=row.recorded_at,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )

    # -- integrity -------------------------------------------------------------------

    # -- run streams (programmes, campaigns, the funds ledger, refunds) ------------------

    def head(self, stream: str) -> int:
        """The seq of the last event of `stream` (0 when it has none)."""
        with self.engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.coalesce(func.max(case_events.c.seq), 0)).where(
                        case_events.c.case_id == stream
                    )
                )
                or 0
            )

    def append_at_head(
        self,
        stream: str,
        type_: str,
        actor: Actor,
        payload: dict[str, Any] | Callable[[], dict[str, Any]],
        *,
        also: Callable[[Connection, int], None] | None = None,
        event_id: str | None = None,
        check_actor: bool = True,
        tries: int = 8,
        retry_on: tuple[type[Exception], ...] = (),
    ) -> StoredEvent:
        """One event at the end of a run stream (a programme, a campaign, a year's funds
        ledger or refunds), with `also`'s writes (given the connection and the seq the
        event takes) in its transaction and `actor` checked against the directory there
        (unless `check_actor` is off: a system step). Several writers share a stream, so
        one that finds its seq taken, or whose `also` raises one of `retry_on` (what it
        read changed), reads the head again and tries again, at jittered intervals, up
        to `tries` times. `payload` may be a function, asked afresh on every try."""
        retried: tuple[type[Exception], ...] = (ConcurrencyConflict, *retry_on)
        for attempt in range(tries):
            head = self.head(stream)
            event = run_event(
                stream, type_, actor, payload() if callable(payload) else payload, event_id
            )

            def write(conn: Connection, seq: int = head + 1) -> None:
                if also is not None:
                    also(conn, seq)

            try:
                (stored,) = self.append(
                    stream, head, [event], also=write, actors=[actor] if check_actor else ()
                )
                return stored
            except retried:
                if attempt == tries - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02 * min(attempt + 1, 10)))
        raise AssertionError("unreachable")

    def verify(self) -> VerifyReport:
        """Walk every case's hash chain over the stored bytes; report each break."""
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5_000).execute(
                select(case_events).order_by(case_events.c.case_id, case_events.c.seq)
            )
            return walk_chains(result)

    def verify_cases(self, case_ids: Sequence[str], batch: int = 500) -> VerifyReport:
        """`verify` for these cases only (an audit's sample): each break of their chains."""
        report = VerifyReport(0, 0, [])
        ids = sorted(set(case_ids))
        with self.engine.connect() as conn:
            for start in range(0, len(ids), batch):
                result = conn.execute(
                    select(case_events)
                    .where(case_events.c.case_id.in_(ids[start : start + batch]))
                    .order_by(case_events.c.case_id, case_events.c.seq)
                )
                part = walk_chains(result)
                report.cases_checked += part.cases_checked
                report.events_checked += part.events_checked
                report.broken += part.broken
        return report

    # -- reference data --------------------------------------------------------------

    def set_budget(self, district: str, year: int, budget_fen: int) -> None:
        """The demo's seeding (and tests'): the budget brought to `budget_fen` through
        the funds ledger's own events (casework.store.funds)."""
        from casework.store.funds import FundsLedger  # the ledger appends through us

        FundsLedger(self.engine).set_budget(district, year, budget_fen)

    def fund_balance(self, district: str, year: int) -> dict[str, int]:
        with self.engine.connect() as conn:
            budget = conn.execute(
                select(relief_fund_budgets.c.budget_fen).where(
                    relief_fund_budgets.c.district == district, relief_fund_budgets.c.year == year
                )
            ).scalar()
            totals = dict(
                conn.execute(
                    select(relief_fund_ledger.c.entry, func.sum(relief_fund_ledger.c.amount_fen))
                    .where(
                        relief_fund_ledger.c.district == district,
                        relief_fund_ledger.c.year == year,
                    )
                    .group_by(relief_fund_ledger.c.entry)
                ).all()
            )
        committed = totals.get("reserved", 0) - totals.get("released", 0)
        return {
            "budget_fen": budget or 0,
            "committed_fen": committed,
            "disbursed_fen": totals.get("disbursed", 0),
            "remaining_fen": (budget or 0) - committed,
        }
