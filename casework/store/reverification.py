"""The annual review's follow-ups (复核核查) in the store: case numbers for the
re-verifications and spot checks of a year, allocated in batches; which of them still
need their workflow started; the worker's check of an opening; the resolution written
back to the review's row.

Idempotent by construction: a row's `follow_up_case_id` is set once, in the transaction
that allocates the number and notes the opening's idempotency key (`case_requests`,
`annual-review:{year}:{file}`, unique); a row that has one is never given another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from casework.domain.annual_review import Outcome
from casework.domain.reverification import CASE_PREFIX, FollowUp, Resolution
from casework.store.db import IMMEDIATE
from casework.store.tables import (
    case_requests,
    case_sequences,
    cases,
    households,
    register_reviews,
)


class FollowUpCase(NamedTuple):
    """One follow-up to run: its case number, the file, and why (codes only)."""

    case_id: str
    household_file: str
    district: str
    follow_up: FollowUp
    reasons: str


class FollowUpConflict(RuntimeError):
    """Another attempt numbered some of these rows meanwhile: this batch wrote nothing."""


def opening_key(year: int, household_file: str) -> str:
    return f"annual-review:{year}:{household_file}"


def _wanted(year: int) -> ColumnElement[bool]:
    return and_(
        register_reviews.c.year == year,
        or_(
            register_reviews.c.outcome == Outcome.REVERIFY.value, register_reviews.c.spot_check == 1
        ),
    )


def _follow_up(outcome: str) -> FollowUp:
    return FollowUp.REVERIFY if outcome == Outcome.REVERIFY.value else FollowUp.SPOT_CHECK


def allocate_case_ids(conn: Connection, prefix: str, year: int, n: int) -> list[str]:
    """`n` new case numbers `{prefix}-{year}-NNNNNN`, in the caller's transaction."""
    upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    last = conn.execute(
        upsert(case_sequences)
        .values(prefix=prefix, year=year, last_value=n)
        .on_conflict_do_update(
            index_elements=[case_sequences.c.prefix, case_sequences.c.year],
            set_={"last_value": case_sequences.c.last_value + n},
        )
        .returning(case_sequences.c.last_value)
    ).scalar_one()
    first = last - n + 1
    return [f"{prefix}-{year}-{first + i:06d}" for i in range(n)]


def note_openings(conn: Connection, keyed: list[tuple[str, str]]) -> None:
    """Each (idempotency key, case id) of a batch opening in `case_requests`, whose unique
    key stops a concurrent attempt from numbering the same record again."""
    now = datetime.now(UTC)
    conn.execute(
        insert(case_requests),
        [
            {"idempotency_key": key, "case_id": case_id, "fingerprint": "", "created_at": now}
            for key, case_id in keyed
        ],
    )


def number_follow_ups(engine: Engine, year: int, limit: int = 500) -> int:
    """Give the next `limit` follow-ups of `year` without a case their numbers
    (`RV-{year}-NNNNNN`), in one transaction; how many (0: none left)."""
    with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
        rows = conn.execute(
            select(register_reviews.c.case_id)
            .where(_wanted(year), register_reviews.c.follow_up_case_id.is_(None))
            .order_by(register_reviews.c.case_id)
            .limit(limit)
        ).all()
        if not rows:
            return 0
        ids = allocate_case_ids(conn, CASE_PREFIX, year, len(rows))
        numbered = list(zip((row.case_id for row in rows), ids, strict=True))
        # A second attempt running at once (a zombie of a timed-out one) finds the rows
        # numbered (PostgreSQL re-reads them after the first commits; SQLite's writers
        # take turns) or fails here on the key: never two cases for one file.
        note_openings(conn, [(opening_key(year, file), case_id) for file, case_id in numbered])
        for file, case_id in numbered:
            done = conn.execute(
                update(register_reviews)
                .where(
                    register_reviews.c.year == year,
                    register_reviews.c.case_id == file,
                    register_reviews.c.follow_up_case_id.is_(None),
                )
                .values(follow_up_case_id=case_id)
            )
            if done.rowcount != 1:
                raise FollowUpConflict(f"{year} {file}: numbered by another attempt")
    return len(numbered)


def unstarted_follow_ups(
    engine: Engine, year: int, after: str = "", limit: int = 1000
) -> list[FollowUpCase]:
    """Numbered follow-ups of `year` (case id after `after`, in order) whose opening is
    not recorded yet (no `cases` row): their workflows may not be running. A started one whose opening is on its way is
    listed too; starting it again is refused by its workflow id."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                register_reviews.c.follow_up_case_id,
                register_reviews.c.case_id,
                register_reviews.c.district,
                register_reviews.c.outcome,
                register_reviews.c.reasons,
            )
            .select_from(
                register_reviews.outerjoin(
                    cases, cases.c.case_id == register_reviews.c.follow_up_case_id
                )
            )
            .where(_wanted(year), register_reviews.c.follow_up_case_id.is_not(None))
            .where(cases.c.case_id.is_(None), register_reviews.c.follow_up_case_id > after)
            .order_by(register_reviews.c.follow_up_case_id)
            .limit(limit)
        ).all()
    return [
        FollowUpCase(r[0], r.case_id, r.district, _follow_up(r.outcome), r.reasons) for r in rows
    ]


def follow_ups_opened(conn: Connection, year: int) -> int:
    """Follow-up cases of `year` given a number (their workflows started after it)."""
    return int(
        conn.scalar(
            select(func.count(register_reviews.c.follow_up_case_id)).where(
                register_reviews.c.year == year
            )
        )
        or 0
    )


def opening_refusal(
    conn: Connection,
    case_id: str,
    household_file: str,
    district: str,
    year: int,
    follow_up: FollowUp,
    by_review: bool,
) -> tuple[str, str] | None:
    """The worker's check of an opening, as (code, message) or None when it may open.
    The review opens only what its own row names; a person only a file on the register
    of the district the application names."""
    if by_review:
        row = conn.execute(
            select(
                register_reviews.c.follow_up_case_id,
                register_reviews.c.district,
                register_reviews.c.outcome,
                register_reviews.c.spot_check,
            ).where(register_reviews.c.year == year, register_reviews.c.case_id == household_file)
        ).first()
        if row is None or row.follow_up_case_id != case_id:
            return (
                "not_a_review_follow_up",
                f"{year} 年度复核未为档案 {household_file} 立此案 {case_id} "
                "(the annual review did not open this case for this file)",
            )
        if row.district != district or _follow_up(row.outcome) != follow_up:
            return (
                "not_a_review_follow_up",
                f"{case_id}: 区县或核查类型与年度复核记录不符 "
                "(district or follow-up differs from the review's row)",
            )
        return None
    found = conn.execute(
        select(households.c.district, households.c.exited_at).where(
            households.c.case_id == household_file
        )
    ).first()
    if found is None or found.exited_at is not None:
        return (
            "not_on_register",
            f"档案 {household_file} 不在困难职工档案中 (the file is not on the register)",
        )
    if found.district != district:
        return (
            "outside_jurisdiction",
            f"档案 {household_file} 属于 {found.district}，不是 {district} "
            "(the file belongs to another district)",
        )
    return None


def record_resolution(
    engine: Engine, case_id: str, year: int, household_file: str, resolution: Resolution
) -> bool:
    """Write what the follow-up found onto the review's row (once; the same again is a
    no-op). Whether the row names this case."""
    with engine.begin() as conn:
        done = conn.execute(
            update(register_reviews)
            .where(
                register_reviews.c.year == year,
                register_reviews.c.case_id == household_file,
                register_reviews.c.follow_up_case_id == case_id,
            )
            .values(resolution=resolution.value)
        )
    return bool(done.rowcount)
