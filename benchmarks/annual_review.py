"""The annual review of 34,429 households (issue #12, Performance): the register
generated reproducibly (casework.demo.register), reviewed end to end through the
store's batch step (`AnnualReview.step`, the code the `annual_review_batches` activity
runs: select, judge, rows and one event per batch in one transaction) and the spot-check
draw; beside the floor: the same selection, judging and row inserts as a plain loop in
one process with no event store, in the same run, on the same database."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import insert, select

from benchmarks.harness import Database
from benchmarks.programme import SPIFF_BEST_PER_S
from benchmarks.results import Comparison, Section, Target
from casework.demo.register import seed_register
from casework.domain.annual_review import AnnualReviewConfig, facts_of, judge, year_start
from casework.domain.eligibility import EligibilityRules
from casework.store.annual_review import AnnualReview
from casework.store.db import migrate
from casework.store.event_store import EventStore
from casework.store.tables import cases, households, register_reviews

YEAR = 2027
SEED = 34_429
TARGET_S = 60.0


@dataclass
class ReviewSample:
    households: int
    review_s: float
    floor_s: float
    batches: int

    def rate(self, seconds: float) -> float:
        return self.households / seconds if seconds else 0.0


def floor(db: Database, year: int, rules: EligibilityRules, config: AnnualReviewConfig) -> float:
    began = time.perf_counter()
    with db.engine.begin() as conn:
        rows = conn.execute(
            select(
                households.c.case_id,
                households.c.district,
                households.c.category,
                households.c.filed_at,
                cases.c.state,
            )
            .select_from(households.join(cases, cases.c.case_id == households.c.case_id))
            .where(households.c.exited_at.is_(None), households.c.filed_at < year_start(year))
            .order_by(households.c.case_id)
        ).all()
        out = []
        for row in rows:
            j = judge(facts_of(row, json.loads(row.state)["facts"]), year, rules, config)
            out.append(
                {
                    "year": year,
                    "case_id": j.case_id,
                    "district": j.district,
                    "outcome": j.outcome.value,
                    "reasons": ",".join(j.reasons),
                    "spot_check": 0,
                    "seq": 0,
                    "reviewed_at": year_start(year),
                }
            )
        for i in range(0, len(out), 500):
            conn.execute(insert(register_reviews), out[i : i + 500])
    return time.perf_counter() - began


def measure(db: Database, n: int) -> ReviewSample:
    migrate(db.engine)
    seed_register(db.engine, n, seed=SEED, year=YEAR)
    rules, config = EligibilityRules(), AnnualReviewConfig()
    review = AnnualReview(EventStore(db.engine), YEAR, rules, config)
    began = time.perf_counter()
    cursor, batches = 0, 0
    while (nxt := review.step(cursor)) is not None:
        cursor, batches = nxt, batches + 1
    review.draw_spot_checks()
    took = time.perf_counter() - began
    assert review.progress().done == n
    # The floor reviews the same register as the next year's review.
    return ReviewSample(n, took, floor(db, YEAR + 1, rules, config), batches)


def section(results: dict[str, ReviewSample], n: int) -> Section:
    sec = Section("Annual review of the register")
    for backend, s in results.items():
        sec.comparisons += [
            Comparison(
                "annual_review",
                backend,
                "end to end",
                "s",
                round(s.review_s, 1),
                TARGET_S,
                "target 60 s",
                Target(1.0, at_most=True),
            ),
            Comparison(
                "annual_review",
                backend,
                "households/s",
                "/s",
                s.rate(s.review_s),
                SPIFF_BEST_PER_S,
                "SpiffWorkflow best (per person)",
                Target(1.0, at_most=False),
            ),
            Comparison(
                "annual_review",
                backend,
                "households/s",
                "/s",
                s.rate(s.review_s),
                s.rate(s.floor_s),
                "plain loop (floor)",
                None,
            ),
        ]
        sec.notes.append(
            f"{backend}: {n} households in {s.review_s:.1f} s ({s.batches} batches; target"
            f" ≤ {TARGET_S:.0f} s: {'met' if s.review_s <= TARGET_S else 'missed'}); the"
            f" plain loop {s.floor_s:.1f} s."
        )
    sec.notes.append(
        f"{n} households generated reproducibly (seed {SEED}); the review through"
        " `AnnualReview.step` (batches of 500: select, judge, `register_reviews` rows and one"
        " `review.batch` event on `AR-YYYY` per transaction) and the spot-check draw; the"
        " floor: one select, the same judging and row inserts, no event store."
    )
    return sec
