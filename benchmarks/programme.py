"""A 送温暖 programme at the seed year's size (issue #12): 34,429 recipients, generated
reproducibly (casework.demo.programme, about 3% failing a check), from submitted lists
to every row paid, through the store and the payment activity's own code (the batch
loop, sealed fields, one event per list and per batch, the actor checked in each
transaction). The Temporal round trips of a run are a few per list and one per 20 s of
paying, so they are left out here; the crash test (tests/e2e/test_programme_crash.py)
runs the same code under a real worker.

Beside it, the floor: the same checks and the same rows inserted by a plain loop in one
process (no event store, no sealing, no directory check, no bank). And the per-person
BPMN engine the issue quotes: SpiffWorkflow with a durable save per step measured here
300–520 approvals per second; a run must beat that rate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from activities.disbursement import FakeBank
from activities.programme import ProgrammePayments
from benchmarks.harness import Database, progress
from benchmarks.results import Comparison, Section, Target
from casework.demo.programme import generate, put_on_register
from casework.demo.programme import spec as programme_spec
from casework.domain.programme import PayRequest, ProgrammeSpec, check_list, read_rows
from casework.privacy.keys import Keyring
from casework.privacy.lookup import identity_digest, lookup_key
from casework.store.directory import Directory
from casework.store.programmes import Programmes
from casework.store.tables import payments, programme_recipients

SEED_YEAR_RECIPIENTS = 34_429
TARGET_S = 60.0
SPIFF_BEST_PER_S = 520.0
"""The best rate the per-person BPMN engine reached here (issue #12)."""
DISTRICTS = {"崇川区": "chongchuan", "通州区": "tongzhou", "海门区": "haimen"}
KEYRING = Keyring.parse("bench:" + "A" * 43 + "=")


@dataclass
class ProgrammeSample:
    rows: int
    failed_rows: int
    paid: int
    payment_failed: int
    amount_fen: int
    submit_s: float
    review_s: float
    pay_s: float
    floor_s: float

    @property
    def total_s(self) -> float:
        return self.submit_s + self.review_s + self.pay_s


def measure(db: Database, floor_db: Database, recipients: int) -> ProgrammeSample:
    """`db`: a casework database with the demo users; `floor_db`: an empty migrated one."""
    generated = generate(recipients, list(DISTRICTS))
    put_on_register(db.engine, KEYRING, generated.register)
    directory = Directory(db.engine)
    city = directory.get("city.officer1").actor()
    spec = ProgrammeSpec.model_validate(programme_spec(2027, list(DISTRICTS), 10**10))
    programmes = Programmes(db.engine, KEYRING)
    progress(f"programme on {db.label}: {generated.rows:,} rows in lists")
    t0 = time.perf_counter()
    pid = programmes.open(spec, city)
    listed: list[tuple[str, str]] = []
    failed_rows = 0
    for district, slug in DISTRICTS.items():
        union = directory.get(f"{slug}.grassroots1").actor()
        for data in generated.lists[district]:
            summary = programmes.submit(pid, data, union)
            failed_rows += summary.failed
            listed.append((summary.list_id, slug))
    t1 = time.perf_counter()
    officers = {slug: directory.get(f"{slug}.officer1").actor() for slug in DISTRICTS.values()}
    for list_id, slug in listed:
        programmes.review(list_id, officers[slug], approve=True)
    for district in DISTRICTS:
        programmes.approve_district(pid, district, city)
    t2 = time.perf_counter()
    payer = ProgrammePayments(db.engine, FakeBank(), KEYRING)
    cursor = 0
    while True:
        run = payer.pay_programme(PayRequest(programme_id=pid, actor=city, cursor=cursor))
        cursor = run.cursor if run.batches else 0
        if run.finished:
            break
    t3 = time.perf_counter()
    floor_s = plain_loop(floor_db, generated.lists, spec, generated.register)
    return ProgrammeSample(
        rows=generated.rows,
        failed_rows=failed_rows,
        paid=run.counts.get("paid", 0),
        payment_failed=run.counts.get("failed", 0),
        amount_fen=run.amount_fen,
        submit_s=t1 - t0,
        review_s=t2 - t1,
        pay_s=t3 - t2,
        floor_s=floor_s,
    )


def plain_loop(
    db: Database,
    lists: dict[str, list[bytes]],
    spec: ProgrammeSpec,
    register: list[tuple[str, str, str]],
) -> float:
    """The same checks and inserts, one process, one transaction per list, nothing else."""
    on_register = {number: category for number, category, _ in register}
    key = lookup_key(KEYRING.current)
    t0 = time.perf_counter()
    listed: set[str] = set()
    now = datetime.now(UTC)
    with db.engine.connect() as conn:
        for district, datas in lists.items():
            left = spec.budget_fen[district]
            for n, data in enumerate(datas):
                checked = check_list(
                    read_rows(data),
                    spec,
                    district,
                    qualifies=lambda ids: {i: on_register.get(i) for i in ids},
                    already_listed=lambda ids: {i for i in ids if i in listed},
                    budget_left_fen=left,
                )
                left -= checked.total_fen
                listed.update(r.id_number for r in checked.accepted)
                rows: list[dict[str, Any]] = [
                    {
                        "programme_id": "FLOOR",
                        "list_id": f"{district}-{n}",
                        "district": district,
                        "union_name": r.union,
                        "line": r.line,
                        "key_id": "bench",
                        "person_digest": identity_digest(key, r.id_number),
                        "name": r.name,
                        "id_masked": r.id_number[:4],
                        "sealed": "",
                        "category": r.category.value,
                        "amount_fen": r.amount_fen,
                        "status": "paid",
                        "updated_at": now,
                    }
                    for r in checked.accepted
                ]
                with conn.begin():
                    if rows:
                        conn.execute(insert(programme_recipients), rows)
                        conn.execute(
                            insert(payments),
                            [
                                {
                                    "run_id": "FLOOR",
                                    "payee_key": r["person_digest"],
                                    "source": "programme",
                                    "district": district,
                                    "year": spec.year,
                                    "amount_fen": r["amount_fen"],
                                    "idempotency_key": "FLOOR:" + r["person_digest"],
                                    "transfer_ref": "FLOOR",
                                    "seq": 0,
                                    "paid_at": now,
                                }
                                for r in rows
                            ],
                        )
    return time.perf_counter() - t0


def section(results: dict[str, ProgrammeSample], recipients: int) -> Section:
    sec = Section(f"Programme: 送温暖 of {recipients:,} recipients, lists to payments")
    for backend, s in results.items():
        rate = s.rows / s.total_s
        sec.comparisons += [
            Comparison(
                "programme",
                backend,
                "end to end",
                "s",
                round(s.total_s, 1),
                TARGET_S,
                "target 60 s",
                Target(1.0, at_most=True),
            ),
            Comparison(
                "programme",
                backend,
                "rows per second",
                "/s",
                rate,
                SPIFF_BEST_PER_S,
                "SpiffWorkflow best (per person)",
                Target(1.0, at_most=False),
            ),
            Comparison(
                "programme",
                backend,
                "rows per second",
                "/s",
                rate,
                s.rows / s.floor_s,
                "plain loop (floor)",
                None,
            ),
        ]
        sec.notes.append(
            f"{backend}: {s.rows:,} rows, {s.failed_rows:,} failed a check; "
            f"{s.paid:,} paid ({s.amount_fen / 100:,.2f} 元), {s.payment_failed} declined by "
            f"the bank; submit {s.submit_s:.1f} s, review and approval {s.review_s:.1f} s, "
            f"payments {s.pay_s:.1f} s; floor {s.floor_s:.1f} s."
        )
    return sec
