"""An audit's sample of closed hardship cases, drawn from the store (`casework audit
sample`, the `draw_audit_sample` activity): the candidates of a district and year, the
draw (casework.domain.audit_sample), and each drawn case checked: its hash chain over
the stored bytes, and its money, the movements its events record against the rows of
the relief-fund ledger and against the amount approved.

Read only: the project records the answer (`sample.drawn`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, select

from casework.domain.audit_sample import (
    MAX_SAMPLE_CASES,
    LedgerEntry,
    SampledCase,
    SampleDraw,
    SampleRequest,
    candidates_digest,
    chain_problem,
    draw,
    payment_problems,
    sample_size,
)
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseState, evolve
from casework.domain.hardship import CASE_TYPE as HARDSHIP
from casework.domain.hardship import current_amount_fen
from casework.store.event_store import EventStore, walk_chains
from casework.store.tables import case_events, cases, relief_fund_ledger

LEDGER_EVENTS = {
    "funds.reserved": "reserved",
    "funds.released": "released",
    "disbursement.completed": "disbursed",
}
"""The events that move relief money, and the ledger entry each one makes (as the
projections write them)."""
BATCH = 500


def candidates(engine: Engine, district: str, year: int) -> list[str]:
    """The closed hardship cases of `district` whose year is `year`: the relief fund's
    year they drew money from, or (none drawn) the year they were opened, Beijing time.
    Sorted."""
    with engine.connect() as conn:
        closed = conn.execute(
            select(cases.c.case_id, cases.c.opened_at).where(
                cases.c.case_type == HARDSHIP,
                cases.c.status == "closed",
                cases.c.district == district,
            )
        ).all()
        fund_year: dict[str, int] = dict(
            conn.execute(
                select(relief_fund_ledger.c.case_id, relief_fund_ledger.c.year).where(
                    relief_fund_ledger.c.district == district,
                    relief_fund_ledger.c.entry == "reserved",
                )
            ).all()
        )
    found = [
        case_id
        for case_id, opened_at in closed
        if fund_year.get(case_id, opened_at.astimezone(CHINA_TZ).year) == year
    ]
    return sorted(found)


def examine(engine: Engine, case_ids: Sequence[str]) -> list[SampledCase]:
    """Each case checked: its chain, and its money against the ledger and the amount
    approved. In the order of `case_ids`."""
    checked: dict[str, SampledCase] = {}
    ids = list(dict.fromkeys(case_ids))
    with engine.connect() as conn:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            rows = conn.execute(
                select(case_events)
                .where(case_events.c.case_id.in_(chunk))
                .order_by(case_events.c.case_id, case_events.c.seq)
            ).all()
            ledger_rows = conn.execute(
                select(relief_fund_ledger).where(relief_fund_ledger.c.case_id.in_(chunk))
            ).all()
            by_case: dict[str, list[Any]] = defaultdict(list)
            for row in rows:
                by_case[row.case_id].append(row)
            ledger: dict[str, list[LedgerEntry]] = defaultdict(list)
            for r in ledger_rows:
                ledger[r.case_id].append(
                    LedgerEntry(
                        seq=r.seq,
                        entry=r.entry,
                        district=r.district,
                        year=r.year,
                        amount_fen=r.amount_fen,
                    )
                )
            for case_id in chunk:
                checked[case_id] = _check(case_id, by_case[case_id], ledger[case_id])
    return [checked[c] for c in ids]


def _check(case_id: str, rows: list[Any], ledger: list[LedgerEntry]) -> SampledCase:
    broken = walk_chains(rows).broken
    events = [EventStore.stored(r) for r in rows]
    state = CaseState(case_id=case_id)
    for e in events:
        try:
            state = evolve(state, e.as_new_event())
        except (KeyError, TypeError, ValueError):
            # An event altered into something no case holds: the chain says so; the
            # money is judged by the events that still read.
            continue
    moved = [
        LedgerEntry(
            seq=e.seq,
            entry=LEDGER_EVENTS[e.type],
            district=str(e.payload.get("district")),
            year=int(e.payload.get("year") or 0),
            amount_fen=int(e.payload.get("amount_fen") or 0),
        )
        for e in events
        if e.type in LEDGER_EVENTS
    ]
    try:
        approved: int | None = current_amount_fen(state.facts)
    except (KeyError, TypeError, ValueError):
        approved = None
    outcome = state.outcome.value if state.outcome else None
    money = payment_problems(outcome, approved, moved, ledger)
    return SampledCase(
        case_id=case_id,
        outcome=outcome,
        approved_fen=approved,
        paid_fen=sum(e.amount_fen for e in ledger if e.entry == "disbursed"),
        chain="broken" if broken else "intact",
        payment="mismatch" if money else "ok",
        problems=[*(chain_problem(b["seq"], b["problem"]) for b in broken), *money],
    )


def draw_sample(engine: Engine, request: SampleRequest) -> SampleDraw:
    """The sample `request` asks for, each case checked. Too large a sample
    (above MAX_SAMPLE_CASES) is counted, not drawn."""
    if request.district is None:
        raise ValueError("a sample is drawn from one district's cases: request.district")
    found = candidates(engine, request.district, request.year)
    size = sample_size(len(found), request.rate)
    drawn = draw(found, request.rate, request.seed) if size <= MAX_SAMPLE_CASES else []
    return SampleDraw(
        request=request,
        candidates=len(found),
        candidates_sha256=candidates_digest(found),
        size=size,
        cases=examine(engine, drawn),
    )
