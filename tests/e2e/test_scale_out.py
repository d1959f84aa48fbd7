"""Scale-out, proven (issue #15): the Temporal dev server and three `casework worker`
processes on one task queue, on PostgreSQL, drive CASEWORK_TEST_SCALE_CASES hardship
cases (60 in CI; 500 for the issue's proof) through their whole process; one worker is
SIGKILLed when half of them have closed. Every case closes approved, every event is recorded exactly once (seqs
contiguous, no event id twice, the log's head the workflow's last seq), `casework audit
verify` is clean, and `casework doctor` finds nothing to repair."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.case import CaseState, CaseView
from casework.service import ActionRefused
from casework.store.tables import case_events, cases
from tests.e2e.test_faults import (  # noqa: F401 - the dev server and site fixtures
    WORK,
    Site,
    site_factory,
    temporal,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

CASES = int(os.environ.get("CASEWORK_TEST_SCALE_CASES", "60"))
"""60 in CI (under a minute on two shared cores: CI's time is short); the issue's proof is
500 (`CASEWORK_TEST_SCALE_CASES=500`: about five minutes there)."""
IN_FLIGHT = 40
"""Cases driven at once, as officers would: enough to keep three workers busy."""
WORKERS = 3
POLL = 0.2
T = TypeVar("T")


async def ask(handle: WorkflowHandle[Any, Any], query: str, result_type: type[T]) -> T:
    """A query, asked again while it cannot be answered for a passing reason: the case's
    worker was just killed (the query goes to the dead worker's sticky queue and times
    out until the server gives up on it), or its last workflow task failed and is being
    retried (an Update arrived while it completed)."""
    for _ in range(50):
        try:
            return await handle.query(query, result_type=result_type)
        except RPCError as err:
            passing = err.status in (
                RPCStatusCode.DEADLINE_EXCEEDED,
                RPCStatusCode.CANCELLED,
                RPCStatusCode.FAILED_PRECONDITION,  # WorkflowNotReady: task failed, retried
            )
            if not passing and "Timeout expired" not in str(err):
                raise
        await asyncio.sleep(POLL)
    raise AssertionError(f"{handle.id}: {query} unanswered")


async def drive(site: Site, timeout: float = 240) -> CaseView:
    """Open a case and work it with the usual people until it closes. Acts on the view
    each action returns; asks the workflow only while the case waits (the check, the
    notice, the transfer)."""
    view = await site.open()
    case_id = view.case_id
    handle = site.client.get_workflow_handle(case_id, result_type=CaseView)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if view.status != "open":
            return await handle.result()
        stage = view.stage
        ready = stage in WORK
        if stage == "home_visit":
            state = await ask(handle, "case_state", CaseState)
            ready = "civil_affairs_match" in state.facts
        if not ready:
            await asyncio.sleep(POLL)
            view = await ask(handle, "view", CaseView)
            continue
        for who, comment, data in WORK[stage]:
            try:
                view = await site.act(case_id, who, "approve", comment, data, stage=stage)
                break
            except ActionRefused as refused:
                if refused.code == "stage_changed":
                    view = await ask(handle, "view", CaseView)
                    break
                if refused.code not in ("separation_of_duties", "role_not_held"):
                    raise
        else:
            raise AssertionError(f"nobody could work {case_id} at {stage}")
    raise AssertionError(f"{case_id} did not close within {timeout}s")


@pytest.mark.timeout(max(300, 2 * CASES))
async def test_three_workers_one_killed_halfway_lose_and_double_nothing(
    site_factory: Callable[..., Awaitable[Site]],  # noqa: F811
) -> None:
    site = await site_factory("postgres")
    workers = [site.start_worker() for _ in range(WORKERS)]
    gate = asyncio.Semaphore(IN_FLIGHT)
    closed: list[CaseView] = []
    half = asyncio.Event()

    async def one() -> None:
        async with gate:
            view = await drive(site)
        closed.append(view)
        if len(closed) >= CASES // 2:
            half.set()

    async def kill_one_halfway() -> float:
        await half.wait()
        workers[0].kill()
        return time.monotonic()

    started = time.monotonic()
    killer = asyncio.create_task(kill_one_halfway())
    try:
        await asyncio.gather(*(one() for _ in range(CASES)))
    except BaseException:
        for n, w in enumerate(workers):
            print(f"--- worker {n} ---\n{w.tail()}")  # noqa: T201 - why, in CI's output
        raise
    killed_at = await killer
    took = time.monotonic() - started
    print(  # noqa: T201 - the figure the README quotes
        f"\n{CASES} cases, {WORKERS} workers (one killed after {killed_at - started:.1f}s): "
        f"{took:.1f}s, {CASES / took:.1f} cases/s"
    )
    assert workers[0].proc.returncode is not None
    assert all(w.proc.poll() is None for w in workers[1:]), "a surviving worker stopped"

    # Every case closed approved, in the workflows and in the read model.
    assert len(closed) == CASES
    assert {(v.status, v.outcome) for v in closed} == {("closed", "approved")}
    with site.engine.connect() as conn:
        rows = dict(conn.execute(select(cases.c.case_id, cases.c.outcome)).all())
        # Every event once: per case, seqs 1..n and n distinct event ids.
        per_case = {
            r.case_id: (r.n, r.first, r.last, r.ids)
            for r in conn.execute(
                select(
                    case_events.c.case_id,
                    func.count().label("n"),
                    func.min(case_events.c.seq).label("first"),
                    func.max(case_events.c.seq).label("last"),
                    func.count(case_events.c.event_id.distinct()).label("ids"),
                )
                .where(case_events.c.case_id.in_(list(rows)))  # not the funds' streams
                .group_by(case_events.c.case_id)
            )
        }
    assert set(rows.values()) == {"approved"} and len(rows) == CASES
    assert {c: (v.seq, 1, v.seq, v.seq) for c, v in ((v.case_id, v) for v in closed)} == per_case

    verify = site.cli("audit", "verify", "--json", env=site.cli_env())
    assert verify.returncode == 0, verify.stderr
    report = json.loads(verify.stdout)
    assert report["broken"] == [] and report["cases_checked"] >= CASES
    doctor = site.cli("doctor", "--as", "city.officer1", "--json", env=site.cli_env())
    assert doctor.returncode == 0, doctor.stderr
    assert json.loads(doctor.stdout)["findings"] == []
