"""`stuck` lists the cases waiting for their fund on every call: on SQLite that query
must use its partial index, not scan every open case (332 ms over a million cases
before the index; BENCHMARKS.md 2026-12-04)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from casework.domain.funds import AWAITING_FUNDS
from casework.store.supervision import awaiting_funds_query
from casework.store.tables import AWAITING_FUNDS_SQL


def test_the_literal_names_the_domains_stage() -> None:
    assert f"stage = '{AWAITING_FUNDS}'" == AWAITING_FUNDS_SQL


@pytest.mark.parametrize(
    ("queue", "case_type"), [(None, None), ("崇川区", None), (None, "hardship")]
)
def test_sqlite_answers_from_the_partial_index(
    sqlite_engine: Engine, queue: str | None, case_type: str | None
) -> None:
    query = awaiting_funds_query(queue, case_type, 100)
    sql = str(query.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
    with sqlite_engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_cases_awaiting_funds" in plan, plan
