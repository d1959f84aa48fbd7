"""Union-dues refunds in the store, on SQLite and PostgreSQL (casework.store.refunds): the
payment file all or nothing, applications as rows, the run's batches, and the store's
own guarantees: one refund per firm and year, never above the dues paid, under
concurrent attempts."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from activities.disbursement import FakeBank, TransferOrder
from casework.demo.people import demo_users
from casework.demo.refunds import refund_year
from casework.domain.credit_code import generate
from casework.domain.org import Actor
from casework.domain.refund import PAYMENT_COLUMNS, RefundApplication, RefundsConfig
from casework.domain.refusal import Refused
from casework.store.directory import Directory
from casework.store.event_store import ConcurrencyConflict
from casework.store.refunds import FileRejected, Refunds, refunds_paid
from casework.store.tables import (
    case_events,
    dues_payment_records,
    dues_refunds,
    payments,
    refund_applications,
)
from tests.conftest import TEST_KEYRING

YEAR = 2026
CODES = [generate(random.Random(n), "320602") for n in range(6)]


def payment_file(*lines: str) -> bytes:
    return ("\n".join([",".join(PAYMENT_COLUMNS), *lines]) + "\n").encode()


def line(
    n: int, district: str = "崇川区", account: str = "62220000123456", dues: int = 100_000
) -> str:
    return f"企业{n},{CODES[n]},{district},{account},{dues},{YEAR}-01/{YEAR}-12"


@pytest.fixture
def who(engine: Engine) -> dict[str, Actor]:
    directory = Directory(engine)
    directory.upsert(demo_users())
    return {
        u: directory.get(u).actor()
        for u in (
            "city.officer1",
            "chongchuan.officer1",
            "chongchuan.grassroots1",
            "tongzhou.officer1",
        )
    }


@pytest.fixture
def refunds(engine: Engine) -> Refunds:
    return Refunds(engine, TEST_KEYRING)


def bank_transfer(bank: FakeBank) -> Any:
    def transfer(key: str, account: str, amount: int, ref: str) -> str:
        return bank.transfer(
            TransferOrder(idempotency_key=key, account=account, amount_fen=amount, reference=ref)
        )

    return transfer


def run_all(
    r: Refunds, actor: Actor, bank: FakeBank, district: str | None = None, size: int = 50
) -> None:
    cursor = 0
    while (
        done := r.match_batch(
            YEAR, district, cursor, bank_transfer(bank), actor, RefundsConfig(), size
        )
    ) is not None:
        cursor = done


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_a_file_with_errors_imports_nothing_unless_told_to_skip_them(
    engine: Engine, refunds: Refunds, who: dict[str, Actor]
) -> None:
    data = payment_file(
        line(0), f"企业1,{CODES[1][:-1]}0,崇川区,62220000123456,1,{YEAR}-01/{YEAR}-12", line(2)
    )
    with pytest.raises(FileRejected) as info:
        refunds.import_payments(YEAR, data, who["city.officer1"])
    assert [(f.line, f.field) for f in info.value.failures] == [(3, "credit_code")]
    assert count(engine, dues_payment_records) == 0
    assert count(engine, case_events) == 0
    report = refunds.import_payments(YEAR, data, who["city.officer1"], skip_bad=True)
    assert (report.imported, report.dues_fen) == (2, 200_000)
    # The same firms again: already imported, reported by line.
    with pytest.raises(FileRejected) as again:
        refunds.import_payments(YEAR, payment_file(line(2)), who["city.officer1"])
    assert again.value.failures[0].code == "already_imported"


def test_the_unions_account_is_sealed_and_shown_masked(
    engine: Engine, refunds: Refunds, who: dict[str, Actor]
) -> None:
    refunds.import_payments(
        YEAR, payment_file(line(0, account="6222000012345678")), who["city.officer1"]
    )
    with engine.connect() as conn:
        row = conn.execute(select(dues_payment_records)).one()
        dumped = " ".join(str(v) for v in conn.execute(select(case_events.c.payload)).scalars())
    assert row.account_masked == "6222********5678"
    assert "6222000012345678" not in (row.sealed or "") and "6222000012345678" not in dumped


def test_who_imports(refunds: Refunds, who: dict[str, Actor]) -> None:
    with pytest.raises(FileRejected) as info:
        refunds.import_payments(
            YEAR, payment_file(line(0, district="通州区")), who["chongchuan.officer1"]
        )
    assert info.value.failures[0].code == "outside_jurisdiction"
    with pytest.raises(Refused) as refused:
        refunds.import_payments(YEAR, payment_file(line(0)), who["chongchuan.grassroots1"])
    assert refused.value.code == "role_not_held"
    assert (
        refunds.import_payments(YEAR, payment_file(line(0)), who["chongchuan.officer1"]).imported
        == 1
    )


def test_a_year_is_matched_and_paid_and_only_exceptions_are_left(
    engine: Engine, refunds: Refunds, who: dict[str, Actor]
) -> None:
    year = refund_year(YEAR, 200, seed=3, exception_share=0.2)
    city = who["city.officer1"]
    refunds.import_payments(YEAR, year.payments_csv, city)
    ids = refunds.receive(year.applications, city).ids
    assert ids[0] == "RA-2026-0000001" and len(ids) == len(year.applications)
    bank = FakeBank()
    run_all(refunds, city, bank)
    progress = refunds.progress(YEAR)
    assert progress.finished and progress.counts["paid"] == year.clean
    assert progress.amount_fen == year.dues_fen_clean
    assert len(bank.transfers) == year.clean  # one per firm
    assert progress.counts["exception"] == len(year.applications) - year.clean
    with engine.connect() as conn:
        paid_in_payments = conn.scalar(
            select(func.sum(payments.c.amount_fen)).where(payments.c.source == "refund")
        )
    assert paid_in_payments == year.dues_fen_clean
    kinds = {r for e in refunds.exceptions(YEAR, city) for r in e.reasons}
    assert kinds == {
        "no_payment_record",
        "mismatch",
        "no_bank_account",
        "above_size_limit",
        "second_application",
        "above_dues",
    }
    # A district officer sees their own district only.
    mine = refunds.exceptions(YEAR, who["chongchuan.officer1"])
    assert mine and {e.district for e in mine} == {"崇川区"}
    assert [d.district for d in refunds.status(YEAR, who["chongchuan.officer1"]).districts] == [
        "崇川区"
    ]
    with pytest.raises(Refused):
        refunds.status(YEAR, who["chongchuan.grassroots1"])


def test_a_district_run_leaves_other_districts_alone(
    refunds: Refunds, who: dict[str, Actor]
) -> None:
    city = who["city.officer1"]
    refunds.import_payments(YEAR, payment_file(line(0), line(1, district="通州区")), city)
    apps = [
        RefundApplication(
            year=YEAR, firm=f"企业{n}", credit_code=CODES[n], district=d, claimed_fen=1, employees=3
        )
        for n, d in ((0, "崇川区"), (1, "通州区"))
    ]
    refunds.receive(apps, city)
    run_all(refunds, who["chongchuan.officer1"], FakeBank(), district="崇川区")
    assert refunds.progress(YEAR, "崇川区").finished
    assert not refunds.progress(YEAR, "通州区").finished


def test_the_store_refuses_a_second_refund_and_one_above_the_dues(
    engine: Engine, refunds: Refunds, who: dict[str, Actor]
) -> None:
    refunds.import_payments(YEAR, payment_file(line(0, dues=100_000)), who["city.officer1"])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        refunds_paid(conn, YEAR, [{"no": 1, "code": CODES[0], "amount": 100_000, "ref": "R1"}], now)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        refunds_paid(conn, YEAR, [{"no": 2, "code": CODES[0], "amount": 1, "ref": "R2"}], now)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("DELETE FROM dues_refunds"))
        refunds_paid(conn, YEAR, [{"no": 3, "code": CODES[0], "amount": 100_001, "ref": "R3"}], now)
    # Even written by hand, past the insert's own path, the CHECK holds.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("DELETE FROM dues_refunds"))
        conn.execute(
            insert(dues_refunds).values(
                year=YEAR,
                credit_code=CODES[0],
                application_no=4,
                district="崇川区",
                amount_fen=200_000,
                dues_fen=100_000,
                transfer_ref="R4",
                paid_at=now,
            )
        )
    assert count(engine, dues_refunds) == 1


def test_concurrent_attempts_refund_a_firm_once(
    engine: Engine, refunds: Refunds, who: dict[str, Actor]
) -> None:
    """Eight transactions refund the same firm at once: one commits."""
    refunds.import_payments(YEAR, payment_file(line(0)), who["city.officer1"])
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            with engine.begin() as conn:
                refunds_paid(
                    conn,
                    YEAR,
                    [{"no": n, "code": CODES[0], "amount": 100_000, "ref": f"R{n}"}],
                    datetime.now(UTC),
                )
            outcomes.append("ok")
        except IntegrityError:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - SQLite's busy writer counts as refused
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert count(engine, dues_refunds) == 1


def test_two_runs_at_once_pay_each_firm_once(
    engine: Engine, refunds: Refunds, who: dict[str, Actor]
) -> None:
    year = refund_year(YEAR, 120, seed=9)
    city = who["city.officer1"]
    refunds.import_payments(YEAR, year.payments_csv, city)
    refunds.receive(year.applications, city)
    bank = FakeBank()
    errors: list[str] = []

    def runner() -> None:
        other = Refunds(engine, TEST_KEYRING)
        for _ in range(50):
            try:
                run_all(other, city, bank, size=20)
                return
            except (ConcurrencyConflict, IntegrityError) as exc:
                errors.append(type(exc).__name__)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        per_firm = conn.execute(
            select(dues_refunds.c.credit_code, func.count()).group_by(dues_refunds.c.credit_code)
        ).all()
        statuses: dict[str, int] = dict(
            conn.execute(
                select(refund_applications.c.status, func.count()).group_by(
                    refund_applications.c.status
                )
            ).all()
        )
    assert len(per_firm) == year.clean and all(n == 1 for _, n in per_firm)
    assert statuses.get("received", 0) == 0
    assert len(bank.transfers) == year.clean


def test_the_year_end_report_gives_the_refunds_in_the_seeds_words(
    engine: Engine, refunds: Refunds, who: dict[str, Actor]
) -> None:
    from casework.domain.annual_report import RefundFigures, Tally, refund_sentence
    from casework.store.annual_report import AnnualReports

    # The seed's own figures, word for word.
    seed = RefundFigures(total=Tally(count=17_236, amount_fen=4_400_0000_00))
    assert refund_sentence(seed) == "市区返还工会经费4400万元,惠及小微企业17000多家"
    year = refund_year(YEAR, 60, seed=4)
    city = who["city.officer1"]
    refunds.import_payments(YEAR, year.payments_csv, city)
    refunds.receive(year.applications, city)
    run_all(refunds, city, FakeBank())
    figures = AnnualReports(engine).compute(YEAR)
    assert figures.refunds.total == Tally(count=year.clean, amount_fen=year.dues_fen_clean)
    assert sum(t.count for t in figures.refunds.by_district.values()) == year.clean
    from casework.domain.annual_report import render_markdown

    assert refund_sentence(figures.refunds) in render_markdown(figures)
    assert AnnualReports(engine).compute(YEAR + 1).refunds.total.count == 0


def test_the_demo_year_is_seeded_once_with_exceptions_to_work(
    engine: Engine, who: dict[str, Actor]
) -> None:
    from casework.demo.refunds import seed_demo_refunds

    received = seed_demo_refunds(engine, TEST_KEYRING, 2025)
    assert received >= 300
    assert seed_demo_refunds(engine, TEST_KEYRING, 2025) == 0  # a restart seeds nothing more
    r = Refunds(engine, TEST_KEYRING)
    batch = r.match_batch
    cursor = 0
    while (
        done := batch(
            2025,
            "崇川区",
            cursor,
            bank_transfer(FakeBank()),
            who["chongchuan.officer1"],
            RefundsConfig(),
            100,
        )
    ) is not None:
        cursor = done
    assert r.exceptions(2025, who["chongchuan.officer1"])  # work for the district's officer
    assert r.progress(2025, "崇川区").finished and not r.progress(2025).finished
