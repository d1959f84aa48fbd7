"""The annual review of the household register (年度复核) in the store: the batch step
the `review_batch` activity runs (docs/batch-runs.md), the spot-check draw, the progress
and the figures read back from `register_reviews`.

One batch: the next households on the register (filed before the review year, not yet
reviewed for it, case id after the cursor, in case-id order), each judged by
casework.domain.annual_review, then their `register_reviews` rows and ONE
`review.batch` event on the year's stream `AR-YYYY` in one transaction. The primary key
(year, case_id) and the stream's seq make a retried batch a no-op or a conflict, never a
second review of a file.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, select, update

from casework.domain.annual_review import (
    OUTCOMES,
    REVIEW_ACTOR,
    REVIEW_BATCH,
    SPOT_CHECKS_DRAWN,
    AnnualReviewConfig,
    DistrictFigures,
    Judgement,
    Outcome,
    ReviewFigures,
    draw_seed,
    draw_spot_checks,
    facts_of,
    judge,
    year_start,
)
from casework.domain.audit_sample import candidates_digest
from casework.domain.batch import RunProgress
from casework.domain.eligibility import EligibilityRules
from casework.domain.events import NewEvent
from casework.domain.org import DISTRICTS
from casework.domain.streams import annual_review_stream
from casework.store.event_store import EventStore
from casework.store.tables import case_events, cases, households, register_reviews

CASE_KEY = re.compile(r"^HR-(\d{4})-(\d{6})$")
"""Files are kept by hardship cases: `HR-YYYY-NNNNNN` orders as the number YYYYNNNNNN."""
CHUNK = 500


def key_of(case_id: str) -> int:
    """The cursor key of a file's case id (HR-2026-000123 -> 2026000123)."""
    m = CASE_KEY.match(case_id)
    if m is None:
        raise ValueError(f"case_id {case_id!r}: not a hardship case number HR-YYYY-NNNNNN")
    return int(m.group(1)) * 1_000_000 + int(m.group(2))


def case_id_of(key: int) -> str:
    return f"HR-{key // 1_000_000:04d}-{key % 1_000_000:06d}"


def _on_register(year: int) -> Any:
    return and_(households.c.exited_at.is_(None), households.c.filed_at < year_start(year))


def _not_reviewed(year: int) -> Any:
    return ~exists().where(
        register_reviews.c.year == year, register_reviews.c.case_id == households.c.case_id
    )


def stream_head(conn: Connection, stream: str) -> int:
    seq = conn.scalar(select(func.max(case_events.c.seq)).where(case_events.c.case_id == stream))
    return int(seq or 0)


def batch_event_id(year: int, first: str, last: str) -> str:
    """The same batch sent again has the same id (the event store's unique event id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{REVIEW_BATCH}:{year}:{first}:{last}"))


class AnnualReview:
    """The review of one year in the store."""

    def __init__(
        self,
        store: EventStore,
        year: int,
        rules: EligibilityRules,
        config: AnnualReviewConfig,
        *,
        batch_size: int = 500,
        now: datetime | None = None,
    ) -> None:
        self.store = store
        self.engine = store.engine
        self.year = year
        self.rules = rules
        self.config = config
        self.batch_size = batch_size
        self.stream = annual_review_stream(year)
        self._now = now

    def now(self) -> datetime:
        return self._now or datetime.now(UTC)

    # -- the batch -------------------------------------------------------------------

    def _next(self, conn: Connection, cursor: int) -> list[Judgement]:
        after = case_id_of(cursor)
        rows = conn.execute(
            select(
                households.c.case_id,
                households.c.district,
                households.c.category,
                households.c.filed_at,
                cases.c.state,
            )
            .select_from(households.outerjoin(cases, cases.c.case_id == households.c.case_id))
            .where(_on_register(self.year), households.c.case_id > after, _not_reviewed(self.year))
            .order_by(households.c.case_id)
            .limit(self.batch_size)
        ).all()
        out = []
        for row in rows:
            facts = json.loads(row.state).get("facts", {}) if row.state else {}
            out.append(judge(facts_of(row, facts), self.year, self.rules, self.config))
        return out

    def step(self, cursor: int) -> int | None:
        """Review the next batch after `cursor`; its last key, or None when none is left."""
        with self.engine.connect() as conn:
            judged = self._next(conn, cursor)
            head = stream_head(conn, self.stream)
        if not judged:
            return None
        now = self.now()
        seq = head + 1
        by_outcome: dict[str, list[str]] = {o.value: [] for o in OUTCOMES}
        for j in judged:
            by_outcome[j.outcome.value].append(j.case_id)
        event = NewEvent(
            event_id=batch_event_id(self.year, judged[0].case_id, judged[-1].case_id),
            case_id=self.stream,
            type=REVIEW_BATCH,
            payload={
                "year": self.year,
                "counts": {k: len(v) for k, v in by_outcome.items()},
                "case_ids": by_outcome,
                "reasons": dict(Counter(r for j in judged for r in j.reasons)),
            },
            actor_id=REVIEW_ACTOR,
            occurred_at=now,
        )
        rows = [
            {
                "year": self.year,
                "case_id": j.case_id,
                "district": j.district,
                "outcome": j.outcome.value,
                "reasons": ",".join(j.reasons),
                "spot_check": 0,
                "seq": seq,
                "reviewed_at": now,
            }
            for j in judged
        ]

        def write(conn: Connection) -> None:
            conn.execute(insert(register_reviews), rows)

        self.store.append(self.stream, head, [event], also=write)
        return key_of(judged[-1].case_id)

    # -- the spot checks -------------------------------------------------------------

    def spot_checks_drawn(self, conn: Connection) -> bool:
        return (
            conn.scalar(
                select(func.count())
                .select_from(case_events)
                .where(
                    case_events.c.case_id == self.stream, case_events.c.type == SPOT_CHECKS_DRAWN
                )
            )
            or 0
        ) > 0

    def draw_spot_checks(self) -> int:
        """Draw the spot checks over the year's renewed files, once: the rows marked and
        `review.spot_checks_drawn` in one transaction. The number drawn."""
        with self.engine.connect() as conn:
            if self.spot_checks_drawn(conn):
                return self._spot_checked(conn)
            renewed = list(
                conn.scalars(
                    select(register_reviews.c.case_id).where(
                        register_reviews.c.year == self.year,
                        register_reviews.c.outcome == Outcome.RENEWED.value,
                    )
                )
            )
            head = stream_head(conn, self.stream)
        drawn = draw_spot_checks(renewed, self.year, self.config)
        event = NewEvent(
            event_id=str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{SPOT_CHECKS_DRAWN}:{self.year}")
            ),
            case_id=self.stream,
            type=SPOT_CHECKS_DRAWN,
            payload={
                "year": self.year,
                "share": self.config.spot_check_share,
                "seed": draw_seed(self.year, self.config.seed),
                "renewed": len(renewed),
                "renewed_sha256": candidates_digest(renewed),
                "drawn": len(drawn),
                "case_ids": drawn,
            },
            actor_id=REVIEW_ACTOR,
            occurred_at=self.now(),
        )

        def mark(conn: Connection) -> None:
            for i in range(0, len(drawn), CHUNK):
                conn.execute(
                    update(register_reviews)
                    .where(
                        register_reviews.c.year == self.year,
                        register_reviews.c.case_id.in_(drawn[i : i + CHUNK]),
                    )
                    .values(spot_check=1)
                )

        self.store.append(self.stream, head, [event], also=mark)
        return len(drawn)

    def _spot_checked(self, conn: Connection) -> int:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(register_reviews)
                .where(register_reviews.c.year == self.year, register_reviews.c.spot_check == 1)
            )
            or 0
        )

    # -- progress and figures ------------------------------------------------------

    def progress(self, cursor: int = 0, batches: int = 0) -> RunProgress:
        """Where the review is, from its rows: done = files reviewed; total = those plus
        the files on the register still to review."""
        with self.engine.connect() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(register_reviews.c.outcome, func.count())
                    .where(register_reviews.c.year == self.year)
                    .group_by(register_reviews.c.outcome)
                ).all()
            )
            left = conn.scalar(
                select(func.count())
                .select_from(households)
                .where(_on_register(self.year), _not_reviewed(self.year))
            )
            spot = self._spot_checked(conn)
        done = sum(counts.values())
        full = {o.value: int(counts.get(o.value, 0)) for o in OUTCOMES}
        full["spot_checked"] = spot
        return RunProgress(
            total=done + int(left or 0),
            done=done,
            counts=full,
            cursor=cursor,
            batches=batches,
            finished=not left,
        )


def review_figures(conn: Connection, year: int, district: str | None = None) -> ReviewFigures:
    """Per district: renewed, exit proposed, re-verify, spot-checked, follow-ups and
    resolved (an exit proposal is resolved once its household left the register; a
    follow-up once `resolution` is recorded)."""
    q = (
        select(
            register_reviews.c.district,
            register_reviews.c.outcome,
            func.count(),
            func.sum(register_reviews.c.spot_check),
            func.count(register_reviews.c.follow_up_case_id),
            func.count(register_reviews.c.resolution),
            func.count(households.c.exited_at),
        )
        .select_from(
            register_reviews.outerjoin(
                households,
                and_(
                    households.c.case_id == register_reviews.c.case_id,
                    households.c.exited_at >= year_start(year),
                ),
            )
        )
        .where(register_reviews.c.year == year)
        .group_by(register_reviews.c.district, register_reviews.c.outcome)
    )
    if district is not None:
        q = q.where(register_reviews.c.district == district)
    found: dict[str, DistrictFigures] = {}
    for d, outcome, n, spot, follow, resolved, exited in conn.execute(q).all():
        f = found.setdefault(d, DistrictFigures(district=d))
        setattr(f, outcome, int(n))
        f.spot_checked += int(spot or 0)
        f.follow_ups += int(follow or 0)
        f.resolved += int(exited or 0) if outcome == Outcome.EXIT_PROPOSED else int(resolved or 0)
    drawn = (
        conn.scalar(
            select(func.count())
            .select_from(case_events)
            .where(
                case_events.c.case_id == annual_review_stream(year),
                case_events.c.type == SPOT_CHECKS_DRAWN,
            )
        )
        or 0
    )
    ordered = [found[d] for d in DISTRICTS if d in found]
    return ReviewFigures(year=year, districts=ordered, spot_checks_drawn=drawn > 0)
