"""A generated household register for the annual review's tests and benchmark (beside
the other generated data of casework.demo): `n` filed hardship households, reproducible
from a seed, written straight into `cases` (closed, filed, with the facts a filing
records) and `households` in bulk. No events: the review reads the read models, and
generating 34,429 eight-stage cases would take longer than the run it measures. Never
for a real database."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from casework.domain.org import DISTRICTS
from casework.store.tables import cases, households

DI_BAO_FEN = 90_000
CHUNK = 1000


def generated_households(n: int, seed: int, year: int) -> list[dict]:  # type: ignore[type-arg]
    """`n` households (facts and register rows) filed before `year`, reproducibly."""
    rnd = random.Random(seed)
    out = []
    numbers: dict[int, int] = {}
    for _ in range(n):
        filed_year = year - 1 - min(int(rnd.expovariate(0.6)), 7)
        numbers[filed_year] = numbers.get(filed_year, 0) + 1
        case_id = f"HR-{filed_year}-{numbers[filed_year]:06d}"
        filed_at = datetime(filed_year, 3, 1, 2, tzinfo=UTC) + timedelta(
            minutes=rnd.randrange(0, 60 * 24 * 270)
        )
        category = rnd.choices(["deep", "relative", "accident"], [3, 6, 1])[0]
        ratio = {"deep": 0.7, "relative": 1.4, "accident": 1.6}[category]
        per_head = max(int(DI_BAO_FEN * rnd.gauss(ratio, 0.4)), 0)
        size = rnd.randint(1, 5)
        facts: dict[str, object] = {"category": category, "computed_category": category}
        if rnd.random() >= 0.01:  # 1% of files lack their figures (filed before them)
            facts |= {
                "household_size": size,
                "income_per_head_fen": per_head,
                "yearly_income_fen": per_head * 12 * size,
            }
        out.append(
            {
                "case_id": case_id,
                "district": DISTRICTS[rnd.randrange(len(DISTRICTS))],
                "category": category,
                "filed_at": filed_at,
                "facts": facts,
            }
        )
    out.sort(key=lambda h: str(h["case_id"]))
    return out


def seed_register(engine: Engine, n: int, seed: int, year: int) -> list[dict]:  # type: ignore[type-arg]
    """Write the generated households into `cases` and `households`; returns them."""
    rows = generated_households(n, seed, year)
    with engine.begin() as conn:
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            conn.execute(
                insert(cases),
                [
                    {
                        "case_id": h["case_id"],
                        "case_type": "hardship",
                        "status": "closed",
                        "outcome": "approved",
                        "stage": "filed",
                        "district": h["district"],
                        "opened_by": "seed.grassroots",
                        "opened_at": h["filed_at"] - timedelta(days=30),
                        "updated_at": h["filed_at"],
                        "waiting_info": 0,
                        "last_seq": 1,
                        "state": json.dumps(
                            {"case_id": h["case_id"], "facts": h["facts"]}, ensure_ascii=False
                        ),
                    }
                    for h in chunk
                ],
            )
            conn.execute(
                insert(households),
                [
                    {
                        "case_id": h["case_id"],
                        "district": h["district"],
                        "applicant_name": None,
                        "category": h["category"],
                        "filed_at": h["filed_at"],
                        "filed_by": "seed.officer",
                    }
                    for h in chunk
                ],
            )
    return rows
