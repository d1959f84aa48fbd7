"""A programme's payment run survives a worker killed with SIGKILL halfway (issue #12):
real processes (the Temporal dev server, `casework worker`, the fault hook of
tests/e2e/fault_worker.py), a real database, and a bank that keeps its ledger in a
file. The run resumes from the last committed batch; every row is paid exactly once,
and the counts and amounts equal those of a run that was never interrupted (`casework
programme run`, the same lists, on the same site)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from activities.ledger_bank import LedgerBank
from casework.demo.programme import generate, put_on_register
from casework.demo.programme import spec as programme_spec
from casework.domain.batch import RunProgress
from casework.domain.programme import ProgrammeRunState, ProgrammeSpec, programme_workflow_id
from casework.privacy.keys import Keyring
from casework.store.programmes import PAYMENTS_BATCH, Programmes
from casework.store.tables import payments
from tests.e2e.test_faults import Site, site_factory, temporal  # noqa: F401

pytestmark = pytest.mark.integration

DISTRICTS = {"崇川区": "chongchuan", "通州区": "tongzhou"}
CITY_OFFICER = "city.officer1"


def approved_programme(site: Site, programmes: Programmes, lists: dict[str, list[bytes]]) -> str:
    spec = ProgrammeSpec.model_validate(programme_spec(2027, list(DISTRICTS), 100_000_000))
    city = site.directory.get(CITY_OFFICER).actor()
    pid = programmes.open(spec, city)
    for district, slug in DISTRICTS.items():
        union = site.directory.get(f"{slug}.grassroots1").actor()
        officer = site.directory.get(f"{slug}.officer1").actor()
        for data in lists[district]:
            listed = programmes.submit(pid, data, union)
            programmes.review(listed.list_id, officer, approve=True)
        programmes.approve_district(pid, district, city)
    return pid


@pytest.mark.parametrize(
    ("backend", "fault"),
    [
        # Two of the four: the other two are the refund run's (test_refund_crash.py),
        # whose activity runs the same batch loop (activities/batches.py) and bank
        # transfer under the same fault hook; between the two files every back-end
        # meets every fault.
        pytest.param("sqlite", "after-commit", id="sqlite-after-commit"),
        pytest.param(
            "postgres", "before-commit", id="postgres-before-commit", marks=pytest.mark.postgres
        ),
    ],
)
async def test_a_killed_worker_resumes_the_payment_run(
    site_factory: Callable[..., Awaitable[Site]],  # noqa: F811
    backend: str,
    fault: str,
) -> None:
    site = await site_factory(backend)
    ledger_path = site.home / "bank-ledger.db"
    site.env["CASEWORK_BANK_LEDGER"] = str(ledger_path)
    keyring = Keyring.parse(site.env["CASEWORK_ENCRYPTION_KEYS"])
    generated = generate(1_200, list(DISTRICTS), per_list=300, seed=11)
    put_on_register(site.engine, keyring, generated.register)
    programmes = Programmes(site.engine, keyring)
    crashed = approved_programme(site, programmes, generated.lists)
    control = approved_programme(site, programmes, generated.lists)
    total = programmes.progress(crashed).total
    assert total == programmes.progress(control).total > 1_100

    worker = site.start_worker(fault=fault, event=PAYMENTS_BATCH)
    city = site.directory.get(CITY_OFFICER).actor()
    handle = await site.client.start_workflow(
        "ProgrammeRun",
        ProgrammeRunState(programme_id=crashed, actor=city, heartbeat_timeout_s=3),
        id=programme_workflow_id(crashed),
        task_queue=site.env["CASEWORK_TASK_QUEUE"],
        result_type=RunProgress,
    )
    await worker.wait_marker(0)
    worker.kill()
    halfway = programmes.progress(crashed)
    # After the commit: the first batch stands, its heartbeat never sent. Before: the
    # transaction was open when the process died, so nothing of the batch stands.
    assert halfway.done == (500 if fault == "after-commit" else 0)
    assert not halfway.finished

    site.start_worker()
    resumed = await asyncio.wait_for(handle.result(), 90)
    assert resumed.finished and resumed.done == resumed.total == total

    # The same lists paid by a run nobody interrupted, through the officer's command.
    done = await asyncio.to_thread(
        site.cli, "programme", "run", control, "--as", CITY_OFFICER, "--json", env=site.cli_env()
    )
    assert done.returncode == 0, done.stderr
    uninterrupted = RunProgress.model_validate(json.loads(done.stdout))
    assert resumed.counts == uninterrupted.counts
    assert resumed.amount_fen == uninterrupted.amount_fen
    assert resumed.counts["failed"] >= 1  # the accounts the bank declines

    # Exactly once: one payments row and one bank transfer per paid row.
    with site.engine.connect() as conn:
        rows: dict[str, Any] = dict(
            conn.execute(select(payments.c.run_id, func.count()).group_by(payments.c.run_id)).all()
        )
    assert rows == {crashed: resumed.counts["paid"], control: uninterrupted.counts["paid"]}
    transfers, amount, asked = LedgerBank(ledger_path).totals()
    assert transfers == resumed.counts["paid"] + uninterrupted.counts["paid"]
    assert amount == resumed.amount_fen + uninterrupted.amount_fen
    if fault == "before-commit":
        assert asked > transfers  # the lost batch was asked for again; paid once
    assert site.store.verify().broken == []
