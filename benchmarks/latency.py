"""Benchmark 1, action latency: `approve` through the CLI's client path beside a bare
Temporal Update; opening a case beside a bare workflow start plus one Update.

Measurements are interleaved (casework and baseline alternate, the order flipping
every iteration) so that noise from other load on the machine falls on both sides.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle

from benchmarks.bare import CounterWorkflow
from benchmarks.harness import People, progress
from benchmarks.results import Comparison, Section, Target, percentile
from casework.demo.seed import DISTRICT_SLUG, demo_application
from casework.domain.case import Action, CaseView
from casework.service import CaseService

TARGET = Target(1.6, at_most=True)
OPEN_TAIL = Target(2.0, at_most=True)
"""Issue #18: approve p50 ≤ 1.6× a bare Update, open p99 ≤ 2× a bare start + Update."""
T = TypeVar("T")


@dataclass
class LatencySample:
    open_ms: list[float] = field(default_factory=list)
    bare_start_ms: list[float] = field(default_factory=list)
    approve_ms: list[float] = field(default_factory=list)
    bare_update_ms: list[float] = field(default_factory=list)


async def _timed(aw: Awaitable[T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    result = await aw
    return result, (time.perf_counter() - t0) * 1000


async def measure(
    *,
    service: CaseService,
    client: Client,
    people: People,
    bare_queue: str,
    n: int,
    warmup: int,
    first_index: int,
    settle: float = 0.015,
    settle_after_approve: float = 0.03,
) -> LatencySample:
    """Open `warmup + n` cases and as many bare workflows, then approve each case's
    grassroots review and send each bare workflow one Update; only the last `n` of
    each kind are kept."""
    sample = LatencySample()
    cases: list[CaseView] = []
    bares: list[WorkflowHandle[CounterWorkflow, int]] = []
    total = warmup + n
    run_id = uuid.uuid4().hex[:6]

    async def open_case(i: int) -> float:
        app = demo_application(first_index + i)
        opener = people(f"{DISTRICT_SLUG[app.applicant.district]}.grassroots1")
        view, ms = await _timed(service.open_hardship(app, opener))
        assert view.stage == "grassroots_review", view
        cases.append(view)
        return ms

    async def start_bare(i: int) -> float:
        async def start_and_update() -> None:
            handle = await client.start_workflow(
                CounterWorkflow.run, id=f"bench-lat-{run_id}-{i}", task_queue=bare_queue
            )
            await handle.execute_update(CounterWorkflow.bump)
            bares.append(handle)

        _, ms = await _timed(start_and_update())
        return ms

    async def approve(i: int) -> float:
        view = cases[i]
        approver = people(f"{DISTRICT_SLUG[view.district]}.grassroots2")
        new, ms = await _timed(service.act(view.case_id, approver, Action.APPROVE, "材料齐全"))
        assert new.stage == "home_visit", new
        return ms

    async def bump(i: int) -> float:
        count, ms = await _timed(bares[i].execute_update(CounterWorkflow.bump))
        assert count == 2, count
        return ms

    progress(f"latency: opening {total} cases beside {total} bare starts (+1 update each)")
    for i in range(total):
        pair = [("open", open_case), ("bare", start_bare)]
        for kind, op in pair if i % 2 == 0 else reversed(pair):
            ms = await op(i)
            if i >= warmup:
                (sample.open_ms if kind == "open" else sample.bare_start_ms).append(ms)
            await asyncio.sleep(settle)
    progress(f"latency: {total} approvals beside {total} bare updates")
    for i in range(total):
        pair = [("approve", approve), ("bare", bump)]
        for kind, op in pair if i % 2 == 0 else reversed(pair):
            ms = await op(i)
            if i >= warmup:
                (sample.approve_ms if kind == "approve" else sample.bare_update_ms).append(ms)
            # An approval starts the civil-affairs check (an activity, then an append):
            # let it finish so it does not fall on whichever operation comes next.
            await asyncio.sleep(settle_after_approve)
    await asyncio.gather(*(h.signal(CounterWorkflow.finish) for h in bares))
    return sample


def section(results: dict[str, LatencySample], n: int) -> Section:
    sec = Section("Action latency")
    for backend, s in results.items():
        rows = [
            ("approve p50", s.approve_ms, s.bare_update_ms, 50, "bare Update p50", TARGET),
            ("approve p99", s.approve_ms, s.bare_update_ms, 99, "bare Update p99", None),
            ("open p50", s.open_ms, s.bare_start_ms, 50, "bare start + Update p50", None),
            ("open p99", s.open_ms, s.bare_start_ms, 99, "bare start + Update p99", OPEN_TAIL),
        ]
        for metric, mine, base, p, base_name, target in rows:
            sec.comparisons.append(
                Comparison(
                    "latency",
                    backend,
                    metric,
                    "ms",
                    percentile(mine, p),
                    percentile(base, p),
                    base_name,
                    target,
                )
            )
    sec.notes += [
        f"{n} measured actions per figure (after a warm-up), one at a time, casework and"
        " baseline interleaved with the order flipped every iteration, with a pause after"
        " each operation (15 ms; 30 ms in the approval phase, where each approval starts"
        " the civil-affairs check in the background) so that one does not overlap the next.",
        "approve: `CaseService.act` (the CLI's client path: Temporal Update `act` whose"
        " handler decides and appends the events in the `record_events` local activity)"
        " on the grassroots review of a distinct freshly opened case each time. Baseline:"
        " `execute_update` of a handler that only increments a counter, on a distinct bare"
        " workflow each time, served by a second worker in the same process.",
        "open: `CaseService.open_hardship` (case number + personal data in the database,"
        " `start_workflow`, then the `sync` Update that waits until the opening events are"
        " recorded). Baseline: `start_workflow` of the counter workflow plus one Update"
        " round trip (so both sides wait for the workflow's first task).",
    ]
    return sec
