"""A year's refund run survives a worker killed with SIGKILL mid-run (issue #14): real
processes (the Temporal dev server, `casework worker` with the fault hook of
tests/e2e/fault_worker.py), a real database, and a bank that keeps its ledger in a file.
A second worker resumes from the last committed batch; no firm is paid twice, and the
figures equal those of a run nobody interrupted (`casework refunds run`, the same firms
a year later, on the same site)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from activities.ledger_bank import LedgerBank
from casework.demo.refunds import refund_year
from casework.domain.batch import RunProgress
from casework.domain.refund import RefundRunState, refund_run_id
from casework.privacy.keys import Keyring
from casework.store.refunds import REFUNDS_BATCH, Refunds
from casework.store.tables import dues_refunds, payments
from tests.e2e.test_faults import Site, site_factory, temporal  # noqa: F401

pytestmark = pytest.mark.integration

CITY_OFFICER = "city.officer1"
CRASHED, CONTROL = 2026, 2027
FIRMS = 1_200


def prepared(site: Site, refunds: Refunds, year: int) -> int:
    generated = refund_year(year, FIRMS, seed=21)
    city = site.directory.get(CITY_OFFICER).actor()
    refunds.import_payments(year, generated.payments_csv, city)
    refunds.receive(generated.applications, city)
    return generated.clean


@pytest.mark.parametrize(
    ("backend", "fault"),
    [
        # Two of the four: the programme run (test_programme_crash.py) has the other
        # two; both activities run the same batch loop (activities/batches.py).
        pytest.param("sqlite", "before-commit", id="sqlite-before-commit"),
        pytest.param(
            "postgres", "after-commit", id="postgres-after-commit", marks=pytest.mark.postgres
        ),
    ],
)
async def test_a_killed_worker_resumes_the_refund_run(
    site_factory: Callable[..., Awaitable[Site]],  # noqa: F811
    backend: str,
    fault: str,
) -> None:
    site = await site_factory(backend)
    ledger_path = site.home / "bank-ledger.db"
    site.env["CASEWORK_BANK_LEDGER"] = str(ledger_path)
    refunds = Refunds(site.engine, Keyring.parse(site.env["CASEWORK_ENCRYPTION_KEYS"]))
    clean = prepared(site, refunds, CRASHED)
    assert prepared(site, refunds, CONTROL) == clean
    total = refunds.progress(CRASHED).total

    worker = site.start_worker(fault=fault, event=REFUNDS_BATCH)
    city = site.directory.get(CITY_OFFICER).actor()
    handle = await site.client.start_workflow(
        "RefundRun",
        RefundRunState(year=CRASHED, district=None, actor=city, heartbeat_timeout_s=3),
        id=refund_run_id(CRASHED, None),
        task_queue=site.env["CASEWORK_TASK_QUEUE"],
        result_type=RunProgress,
    )
    await worker.wait_marker(0)
    worker.kill()
    halfway = refunds.progress(CRASHED)
    # After the commit the first batch stands; before it, nothing of it does.
    assert halfway.done == (500 if fault == "after-commit" else 0)

    site.start_worker()
    resumed = await asyncio.wait_for(handle.result(), 90)
    assert resumed.finished and resumed.done == resumed.total == total
    assert resumed.counts["paid"] == clean

    done = await asyncio.to_thread(
        site.cli,
        "refunds",
        "run",
        "--year",
        str(CONTROL),
        "--as",
        CITY_OFFICER,
        "--json",
        env=site.cli_env(),
    )
    assert done.returncode == 0, done.stderr
    uninterrupted = RunProgress.model_validate(json.loads(done.stdout))
    assert resumed.counts == uninterrupted.counts
    assert resumed.amount_fen == uninterrupted.amount_fen

    # No firm paid twice: one refund row, one payments row, one transfer per firm.
    with site.engine.connect() as conn:
        per_year: dict[int, int] = dict(
            conn.execute(
                select(
                    dues_refunds.c.year, func.count(func.distinct(dues_refunds.c.credit_code))
                ).group_by(dues_refunds.c.year)
            ).all()
        )
        paid_rows = conn.scalar(
            select(func.count()).select_from(payments).where(payments.c.source == "refund")
        )
    assert per_year == {CRASHED: clean, CONTROL: clean}
    assert paid_rows == 2 * clean
    transfers, amount, asked = LedgerBank(ledger_path).totals()
    assert transfers == 2 * clean
    assert amount == resumed.amount_fen + uninterrupted.amount_fen
    if fault == "before-commit":
        assert asked > transfers  # the lost batch was asked for again; paid once
    assert site.store.verify().broken == []
