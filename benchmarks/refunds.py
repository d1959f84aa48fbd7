"""A year of union-dues refunds at the seed's size (issue #14): 17,500 generated
applications (casework.demo.refunds, reproducible, about 3% exceptions), the year's
payment file imported, the applications received in bulk, then matched and paid
through the run activity's own code (the batch loop, sealed accounts unsealed for the
bank, one transaction and one `refunds.batch` event per batch, the actor checked in
each, the store's unique key and CHECK). Temporal's share of a run is one round trip
per 20 s of batches, so it is left out here; the crash test
(tests/e2e/test_refund_crash.py) runs the same code under a real worker.

Beside it, the floor: the same file parsing, the same matching and the same rows
inserted by a plain loop in one process (no event store, no sealing, no directory
check, no bank).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert

from activities.disbursement import FakeBank
from activities.refunds import RefundPayments
from benchmarks.harness import Database, progress
from benchmarks.results import Comparison, Section, Target
from casework.demo.refunds import refund_year
from casework.domain.refund import (
    PAYMENT_COLUMNS,
    RefundRequest,
    RefundsConfig,
    check_payment_file,
    match,
    read_csv,
)
from casework.privacy.keys import Keyring
from casework.store.directory import Directory
from casework.store.refunds import Refunds
from casework.store.tables import dues_payment_records, dues_refunds, payments

FIRMS = 17_430
"""Firms generated: with the second applications among the exceptions, about 17,500
applications."""
TARGET_S = 60.0
YEAR = 2026
KEYRING = Keyring.parse("bench:" + "A" * 43 + "=")


@dataclass
class RefundSample:
    applications: int
    paid: int
    exceptions: int
    amount_fen: int
    import_s: float
    receive_s: float
    run_s: float
    floor_s: float

    @property
    def total_s(self) -> float:
        return self.import_s + self.receive_s + self.run_s


def measure(db: Database, floor_db: Database, firms: int) -> RefundSample:
    """`db`: a casework database with the demo users; `floor_db`: an empty migrated one."""
    year = refund_year(YEAR, firms)
    city = Directory(db.engine).get("city.officer1").actor()
    refunds = Refunds(db.engine, KEYRING)
    progress(f"refunds on {db.label}: {len(year.applications):,} applications")
    t0 = time.perf_counter()
    refunds.import_payments(YEAR, year.payments_csv, city)
    t1 = time.perf_counter()
    refunds.receive(year.applications, city)
    t2 = time.perf_counter()
    payer = RefundPayments(db.engine, FakeBank(), KEYRING)
    cursor = 0
    while True:
        run = payer.refund_batch(
            RefundRequest(
                year=YEAR, district=None, actor=city, cursor=cursor, config=RefundsConfig()
            )
        )
        cursor = run.cursor if run.batches else 0
        if run.finished:
            break
    t3 = time.perf_counter()
    return RefundSample(
        applications=len(year.applications),
        paid=run.counts.get("paid", 0),
        exceptions=run.counts.get("exception", 0),
        amount_fen=run.amount_fen,
        import_s=t1 - t0,
        receive_s=t2 - t1,
        run_s=t3 - t2,
        floor_s=plain_loop(floor_db, year.payments_csv, year.applications),
    )


def plain_loop(db: Database, payments_csv: bytes, applications: list) -> float:  # type: ignore[type-arg]
    """The same parsing, matching and inserts in one process, nothing else."""
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    checked = check_payment_file(read_csv(payments_csv, PAYMENT_COLUMNS), YEAR)
    records = {r.credit_code: r for r in checked.accepted}
    seen: set[str] = set()
    config = RefundsConfig()
    paid: list[dict[str, object]] = []
    for n, app in enumerate(applications, 1):
        record = records.get(app.credit_code)
        outcome = match(app, record, earlier_application=app.credit_code in seen, config=config)
        seen.add(app.credit_code)
        if not outcome.exceptions and record is not None:
            paid.append(
                {
                    "no": n,
                    "code": app.credit_code,
                    "district": app.district,
                    "amount": outcome.refund_fen,
                    "dues": record.dues_fen,
                }
            )
    with db.engine.begin() as conn:
        conn.execute(
            insert(dues_payment_records),
            [
                {
                    "year": YEAR,
                    "credit_code": r.credit_code,
                    "firm": r.firm,
                    "district": r.district,
                    "account_masked": None,
                    "sealed": None,
                    "dues_fen": r.dues_fen,
                    "period": r.period,
                    "line": r.line,
                    "imported_by": "floor",
                    "imported_at": now,
                }
                for r in checked.accepted
            ],
        )
        conn.execute(
            insert(dues_refunds),
            [
                {
                    "year": YEAR,
                    "credit_code": p["code"],
                    "application_no": p["no"],
                    "district": p["district"],
                    "amount_fen": p["amount"],
                    "dues_fen": p["dues"],
                    "transfer_ref": "FLOOR",
                    "paid_at": now,
                }
                for p in paid
            ],
        )
        conn.execute(
            insert(payments),
            [
                {
                    "run_id": "FLOOR",
                    "payee_key": p["code"],
                    "source": "refund",
                    "district": p["district"],
                    "year": YEAR,
                    "amount_fen": p["amount"],
                    "idempotency_key": f"FLOOR:{p['code']}",
                    "transfer_ref": "FLOOR",
                    "seq": 0,
                    "paid_at": now,
                }
                for p in paid
            ],
        )
    return time.perf_counter() - t0


def section(results: dict[str, RefundSample], firms: int) -> Section:
    sec = Section(f"Refunds: a year of union-dues refunds ({firms:,} firms), import to payment")
    for backend, s in results.items():
        rate = s.applications / s.total_s
        sec.comparisons += [
            Comparison(
                "refunds",
                backend,
                "end to end",
                "s",
                round(s.total_s, 1),
                TARGET_S,
                "target 60 s",
                Target(1.0, at_most=True),
            ),
            Comparison(
                "refunds",
                backend,
                "applications per second",
                "/s",
                rate,
                s.applications / s.floor_s,
                "plain loop (floor)",
                None,
            ),
        ]
        sec.notes.append(
            f"{backend}: {s.applications:,} applications, {s.paid:,} paid "
            f"({s.amount_fen / 100:,.2f} 元), {s.exceptions:,} exceptions; import "
            f"{s.import_s:.1f} s, receive {s.receive_s:.1f} s, match and pay {s.run_s:.1f} s; "
            f"floor {s.floor_s:.1f} s."
        )
    return sec
