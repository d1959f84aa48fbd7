"""`python -m benchmarks [--quick] [--only NAME ...] [--output PATH] [--no-postgres]`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    annual_review,
    append,
    campaign,
    latency,
    memory,
    programme,
    refunds,
    report,
    scale_out,
    supervision,
    throughput,
)
from benchmarks.harness import (
    Database,
    People,
    Temporal,
    bare_worker,
    casework_worker,
    compile_bytecode,
    dev_server,
    load_average,
    machine_info,
    new_task_queue,
    postgres_database,
    postgres_unavailable,
    postgres_url,
    prepare_casework_database,
    progress,
    revision,
    scratch_dir,
    sqlite_database,
)
from benchmarks.results import Section
from casework.service import CaseService

BENCHMARKS = (
    "latency",
    "throughput",
    "scale_out",
    "memory",
    "append",
    "supervision",
    "annual_review",
    "programme",
    "refunds",
    "campaign",
)


@dataclass(frozen=True)
class Plan:
    latency_actions: int
    latency_warmup: int
    throughput_cases: int
    throughput_limit: int
    throughput_warmup: int
    append_events: int
    append_per_case: int
    supervision_cases: int
    supervision_calls: int
    supervision_scans: int
    review_households: int
    programme_recipients: int
    refund_firms: int
    memory_cases: int
    scale_cases: int = 60
    scale_limit: int = 20
    campaign_nominations: int = 1000
    campaign_calls: int = 50


FULL = Plan(
    300,
    20,
    200,
    200,
    4,
    2000,
    25,
    1_000_000,
    300,
    5,
    34_429,
    programme.SEED_YEAR_RECIPIENTS,
    refunds.FIRMS,
    2000,
)
QUICK = Plan(30, 5, 20, 20, 2, 200, 25, 50_000, 50, 2, 3_000, 3_000, 1_000, 200, 12, 6, 200, 10)


class Databases:
    """Fresh databases for each benchmark and back-end; case numbers never repeat
    across them, since they all share one dev server (workflow id = case id)."""

    def __init__(self, directory: Path, pg_url: str | None) -> None:
        self.directory = directory
        self.pg_url = pg_url
        self.opened = 0

    def backends(self) -> list[str]:
        return ["SQLite", "PostgreSQL"] if self.pg_url else ["SQLite"]

    def new(self, backend: str, name: str) -> Database:
        self.opened += 1
        if backend == "SQLite":
            return sqlite_database(self.directory, f"{name}-{self.opened}")
        assert self.pg_url is not None
        return postgres_database(self.pg_url, name)

    def new_casework(self, backend: str, name: str) -> Database:
        db = self.new(backend, name)
        prepare_casework_database(db, first_case_number=100_000 * self.opened + 1)
        return db


async def run_latency(temporal: Temporal, dbs: Databases, plan: Plan) -> Section:
    results: dict[str, latency.LatencySample] = {}
    for backend in dbs.backends():
        db = dbs.new_casework(backend, "latency")
        try:
            queue, bare_queue = new_task_queue("case"), new_task_queue("bare")
            async with (
                casework_worker(temporal.client, db.engine, queue),
                bare_worker(temporal.client, bare_queue),
            ):
                progress(f"latency on {backend} ({db.where})")
                results[backend] = await latency.measure(
                    service=CaseService(temporal.client, db.engine, queue),
                    client=temporal.client,
                    people=People(db.engine),
                    bare_queue=bare_queue,
                    n=plan.latency_actions,
                    warmup=plan.latency_warmup,
                    first_index=0,
                )
        finally:
            db.close()
    return latency.section(results, plan.latency_actions)


async def run_throughput(temporal: Temporal, dbs: Databases, plan: Plan) -> Section:
    results: dict[str, throughput.ThroughputSample] = {}
    apps = throughput.applications(plan.throughput_cases, first_index=1000)
    trips = [throughput.round_trips(app) for app in apps]
    for backend in dbs.backends():
        db = dbs.new_casework(backend, "throughput")
        try:
            bare_queue = new_task_queue("bare")
            async with bare_worker(temporal.client, bare_queue):
                await throughput.drive_bare(
                    temporal.client, bare_queue, [2] * plan.throughput_warmup, 10
                )
                progress(f"throughput: {len(trips)} bare workflows, {sum(trips)} Updates")
                clock = temporal.cpu()
                bare = await throughput.drive_bare(
                    temporal.client, bare_queue, trips, plan.throughput_limit
                )
                bare.cpu_s, bare.threads = clock.used(), clock.by_thread()
            queue = new_task_queue("case")
            async with casework_worker(temporal.client, db.engine, queue):
                service = CaseService(temporal.client, db.engine, queue)
                people = People(db.engine)
                warm = throughput.applications(plan.throughput_warmup, first_index=900)
                await throughput.warm_up(service, people, warm)
                progress(f"throughput on {backend} ({db.where}): {len(apps)} cases to filed")
                clock = temporal.cpu()
                cw = await throughput.drive_cases(
                    service, db.engine, people, apps, plan.throughput_limit
                )
                cw.cpu_s, cw.threads = clock.used(), clock.by_thread()
            if cw.actions != sum(trips):
                raise AssertionError(f"{cw.actions} actions, expected {sum(trips)}")
            results[backend] = throughput.ThroughputSample(cw, bare)
        finally:
            db.close()
    return throughput.section(results, plan.throughput_cases, plan.throughput_limit)


async def run_scale_out(temporal: Temporal, dbs: Databases, plan: Plan) -> Section:
    """1, 2 and 3 `casework worker` processes on PostgreSQL (several processes on one
    SQLite file is not the production shape)."""
    if dbs.pg_url is None:
        return scale_out.section(None, plan.scale_cases, plan.scale_limit, "no PostgreSQL")
    runs = {}
    for n in scale_out.WORKER_COUNTS:
        db = dbs.new_casework("PostgreSQL", "scale")
        try:
            runs[n] = await scale_out.measure_one(
                temporal.address,
                db,
                dbs.pg_url,
                dbs.directory / f"workers-{n}",
                n,
                plan.scale_cases,
                plan.scale_limit,
            )
        finally:
            db.close()
    return scale_out.section(scale_out.ScaleSample(runs), plan.scale_cases, plan.scale_limit, None)


async def run_memory(temporal: Temporal, dbs: Databases, plan: Plan) -> Section:
    results: dict[str, memory.MemorySample] = {}
    cache = 10_000
    for backend in dbs.backends():
        db = dbs.new_casework(backend, "memory")
        try:
            queue = new_task_queue("case")
            async with casework_worker(temporal.client, db.engine, queue):
                results[backend] = await memory.measure(
                    CaseService(temporal.client, db.engine, queue),
                    People(db.engine),
                    db,
                    temporal.home / "temporal.db",
                    plan.memory_cases,
                )
        finally:
            db.close()
    return memory.section(results, plan.memory_cases, cache)


def run_append(dbs: Databases, plan: Plan) -> Section:
    results: dict[str, append.AppendSample] = {}
    for backend in dbs.backends():
        db = dbs.new(backend, "append")
        try:
            results[backend] = append.measure(db, plan.append_events, plan.append_per_case)
        finally:
            db.close()
    return append.section(results, plan.append_events, plan.append_per_case)


def run_annual_review(dbs: Databases, plan: Plan) -> Section:
    results: dict[str, annual_review.ReviewSample] = {}
    for backend in dbs.backends():
        db = dbs.new(backend, "review")
        try:
            results[backend] = annual_review.measure(db, plan.review_households)
        finally:
            db.close()
    return annual_review.section(results, plan.review_households)


def run_supervision(dbs: Databases, plan: Plan) -> Section:
    results: dict[str, supervision.SupervisionSample] = {}
    for backend in dbs.backends():
        db = dbs.new(backend, "supervision")
        try:
            results[backend] = supervision.measure(
                db, plan.supervision_cases, plan.supervision_calls, plan.supervision_scans
            )
        finally:
            db.close()
    return supervision.section(
        results, plan.supervision_cases, plan.supervision_calls, plan.supervision_scans
    )


def run_programme(dbs: Databases, plan: Plan) -> Section:
    from casework.store.db import migrate

    results: dict[str, programme.ProgrammeSample] = {}
    for backend in dbs.backends():
        db = dbs.new_casework(backend, "programme")
        floor = dbs.new(backend, "programme_floor")
        try:
            migrate(floor.engine)
            results[backend] = programme.measure(db, floor, plan.programme_recipients)
        finally:
            db.close()
            floor.close()
    return programme.section(results, plan.programme_recipients)


def run_refunds(dbs: Databases, plan: Plan) -> Section:
    from casework.store.db import migrate

    results: dict[str, refunds.RefundSample] = {}
    for backend in dbs.backends():
        db = dbs.new_casework(backend, "refunds")
        floor = dbs.new(backend, "refunds_floor")
        try:
            migrate(floor.engine)
            results[backend] = refunds.measure(db, floor, plan.refund_firms)
        finally:
            db.close()
            floor.close()
    return refunds.section(results, plan.refund_firms)


def run_campaign(dbs: Databases, plan: Plan) -> Section:
    results: dict[str, campaign.CampaignSample] = {}
    for backend in dbs.backends():
        db = dbs.new(backend, "campaign")
        try:
            results[backend] = campaign.measure(db, plan.campaign_nominations, plan.campaign_calls)
        finally:
            db.close()
    return campaign.section(results, plan.campaign_nominations)


async def run(plan: Plan, which: list[str], pg_url: str | None) -> list[Section]:
    sections: list[Section] = []
    with scratch_dir() as directory:
        dbs = Databases(directory, pg_url)
        if {"latency", "throughput", "scale_out", "memory"} & set(which):
            compile_bytecode()
            async with dev_server() as temporal:
                if "latency" in which:
                    sections.append(await run_latency(temporal, dbs, plan))
                if "throughput" in which:
                    sections.append(await run_throughput(temporal, dbs, plan))
                if "scale_out" in which:
                    sections.append(await run_scale_out(temporal, dbs, plan))
                if "memory" in which:
                    sections.append(await run_memory(temporal, dbs, plan))
        if "append" in which:
            sections.append(await asyncio.to_thread(run_append, dbs, plan))
        if "supervision" in which:
            sections.append(await asyncio.to_thread(run_supervision, dbs, plan))
        if "annual_review" in which:
            sections.append(await asyncio.to_thread(run_annual_review, dbs, plan))
        if "programme" in which:
            sections.append(await asyncio.to_thread(run_programme, dbs, plan))
        if "refunds" in which:
            sections.append(await asyncio.to_thread(run_refunds, dbs, plan))
        if "campaign" in which:
            sections.append(await asyncio.to_thread(run_campaign, dbs, plan))
    return sections


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a small smoke run (writes nothing)")
    p.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these")
    p.add_argument(
        "--output",
        type=Path,
        help="results file to update (default BENCHMARKS.md for a full run of everything)",
    )
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    return p.parse_args(argv)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    from casework.logging import configure_logging

    args = parse(argv)
    # SIGTERM unwinds like Ctrl-C: the dev server is stopped, scratch databases dropped.
    signal.signal(signal.SIGTERM, _interrupt)
    configure_logging("WARNING")
    plan = QUICK if args.quick else FULL
    which = args.only or list(BENCHMARKS)
    pg_url: str | None = None
    pg_note = "skipped (--no-postgres)"
    if not args.no_postgres:
        pg_url = postgres_url()
        problem = postgres_unavailable(pg_url)
        if problem:
            progress(f"{problem}: PostgreSQL figures skipped")
            pg_note, pg_url = problem, None
    output = args.output
    if output is None and not args.quick and not args.only:
        output = Path("BENCHMARKS.md")
    machine = machine_info(pg_url)
    if pg_url is None:
        machine["PostgreSQL"] = pg_note
    started = datetime.now(UTC)
    load_before = load_average()
    t0 = time.monotonic()
    progress(f"plan: {plan}; benchmarks: {', '.join(which)}")
    sections = asyncio.run(run(plan, which, pg_url))
    elapsed = time.monotonic() - t0
    run_info = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": revision(),
        "load average before / after": f"{load_before} / {load_average()}",
        "duration": f"{elapsed:.0f} s",
        "mode": "quick" if args.quick else "full",
    }
    print(report.table(sections))
    if output is not None:
        report.write(output, report.markdown(sections, machine, run_info, args.quick))
        progress(f"wrote {output}")
    return 0
