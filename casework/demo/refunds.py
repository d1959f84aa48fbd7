"""A generated year of union-dues refunds (demo, benchmark, tests): a payment file and
the firms' applications, reproducible from a seed, with about `exception_share` of the
applications exceptions of every kind (casework.domain.refund.Exception_)."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from typing import Any

from casework.domain.credit_code import generate
from casework.domain.org import CITY, DISTRICTS
from casework.domain.refund import APPLICATION_COLUMNS, PAYMENT_COLUMNS, RefundApplication

DIVISIONS = {d: f"3206{i:02d}" for i, d in enumerate(DISTRICTS) if d != CITY}


@dataclass(frozen=True)
class RefundYear:
    payments_csv: bytes
    applications: list[RefundApplication]
    clean: int
    """Applications the run should pay."""
    dues_fen_clean: int
    """What paying them costs."""


def _csv(columns: tuple[str, ...], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)
    return out.getvalue().encode()


def refund_year(
    year: int,
    firms: int,
    *,
    seed: int = 2026,
    exception_share: float = 0.03,
    districts: tuple[str, ...] | None = None,
) -> RefundYear:
    """`firms` firms with a payment record each and one application each; every
    exceptional one is spoiled one way (no record, another name, no account, too big,
    claims more than paid, or a second application beside the first)."""
    rng = random.Random(seed)
    places = districts or tuple(DIVISIONS)
    payments: list[list[str]] = []
    apps: list[RefundApplication] = []
    clean = 0
    dues_clean = 0
    seen: set[str] = set()
    for i in range(firms):
        district = places[i % len(places)]
        code = generate(rng, DIVISIONS[district])
        while code in seen:
            code = generate(rng, DIVISIONS[district])
        seen.add(code)
        firm = f"{district}第{i + 1}号小微企业有限公司"
        dues = rng.randrange(50_000, 500_000)
        account = f"6222{rng.randrange(10**11, 10**12)}"
        employees = rng.randrange(3, 90)
        app = RefundApplication(
            year=year,
            firm=firm,
            credit_code=code,
            district=district,
            claimed_fen=dues,
            employees=employees,
            small_scale_taxpayer=rng.random() < 0.5,
        )
        spoil = rng.random() < exception_share
        kind = rng.randrange(6) if spoil else -1
        record = [firm, code, district, account, str(dues), f"{year}-01/{year}-12"]
        if kind == 0:
            record = []  # no payment record
        elif kind == 1:
            app = app.model_copy(update={"firm": firm + "分公司"})
        elif kind == 2:
            record[3] = ""
        elif kind == 3:
            app = app.model_copy(update={"employees": 500, "small_scale_taxpayer": False})
        elif kind == 4:
            app = app.model_copy(update={"claimed_fen": dues + 1})
        if record:
            payments.append(record)
        apps.append(app)
        if kind == 5:
            apps.append(app)  # the first is paid, the second is an exception
        if kind in (-1, 5):
            clean += 1
            dues_clean += dues
    return RefundYear(
        payments_csv=_csv(PAYMENT_COLUMNS, payments),
        applications=apps,
        clean=clean,
        dues_fen_clean=dues_clean,
    )


def applications_csv(apps: list[RefundApplication]) -> bytes:
    """The bulk applications file (`refunds apply`)."""
    return _csv(
        APPLICATION_COLUMNS,
        [
            [
                a.firm,
                a.credit_code,
                a.district,
                str(a.claimed_fen),
                str(a.employees),
                "是" if a.small_scale_taxpayer else "否",
            ]
            for a in apps
        ],
    )


def seed_demo_refunds(engine: Any, keyring: Any, year: int, firms: int = 300) -> int:
    """The demo's refund year (`make run`): last year's payment file imported and a few
    hundred applications received, about 5% of them exceptions, waiting for `refunds
    run`. Nothing if the year has records already. Applications received."""
    from sqlalchemy import func, select

    from casework.store.directory import Directory
    from casework.store.refunds import Refunds
    from casework.store.tables import dues_payment_records

    with engine.connect() as conn:
        if conn.scalar(
            select(func.count())
            .select_from(dues_payment_records)
            .where(dues_payment_records.c.year == year)
        ):
            return 0
    generated = refund_year(
        year, firms, seed=year, exception_share=0.05, districts=("崇川区", "通州区", "海门区")
    )
    city = Directory(engine).get("city.officer1").actor()
    refunds = Refunds(engine, keyring)
    refunds.import_payments(year, generated.payments_csv, city)
    return len(refunds.receive(generated.applications, city).ids)
