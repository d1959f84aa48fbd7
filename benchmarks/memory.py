"""Memory per open case (issue #18): open hardship cases through `CaseService` on a
worker in this process and read the process's resident memory before and after; the
Temporal dev server's database file and the casework database beside it."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import Database, People, progress
from benchmarks.results import Comparison, Section, Target
from casework.demo.seed import DISTRICT_SLUG, demo_application
from casework.service import CaseService

TARGET_KB = 80.0
FIRST_INDEX = 6000
"""Demo applicants from this index on (phone numbers take four digits: < 10,000)."""
CONCURRENCY = 50


def rss_kb() -> float:
    """This process's resident set (VmRSS), KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    return float("nan")


def file_kb(path: Path) -> float:
    """A SQLite database's size with its write-ahead log, KB."""
    total = 0
    for suffix in ("", "-wal"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            total += p.stat().st_size
    return total / 1024


def casework_db_kb(db: Database) -> float:
    if db.label == "SQLite":
        return file_kb(Path(db.where))
    with db.engine.connect() as conn:
        size = conn.exec_driver_sql(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
        ).scalar()
    return float(size or 0) / 1024


@dataclass
class MemorySample:
    cases: int
    rss_before_kb: float
    rss_after_kb: float
    temporal_db_kb: float
    casework_db_kb: float

    @property
    def per_case_kb(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / self.cases


async def measure(
    service: CaseService, people: People, db: Database, temporal_db: Path, n: int
) -> MemorySample:
    async def open_one(i: int, sem: asyncio.Semaphore) -> None:
        app = demo_application(FIRST_INDEX + i)
        async with sem:
            await service.open_hardship(
                app, people(f"{DISTRICT_SLUG[app.applicant.district]}.grassroots1")
            )

    # Warm up: the first cases load modules and fill pools that are not per case.
    sem = asyncio.Semaphore(CONCURRENCY)
    warm = 20
    await asyncio.gather(*(open_one(n + i, sem) for i in range(warm)))
    gc.collect()
    before = rss_kb(), file_kb(temporal_db), casework_db_kb(db)
    progress(f"memory: opening {n} cases (RSS {before[0] / 1024:.0f} MB)")
    await asyncio.gather(*(open_one(i, sem) for i in range(n)))
    gc.collect()
    await asyncio.sleep(1)  # the last recordings settle
    after = rss_kb(), file_kb(temporal_db), casework_db_kb(db)
    return MemorySample(
        n,
        before[0],
        after[0],
        (after[1] - before[1]) / n,
        (after[2] - before[2]) / n,
    )


def section(results: dict[str, MemorySample], n: int, cache: int) -> Section:
    sec = Section("Memory per open case")
    for backend, s in results.items():
        sec.comparisons.append(
            Comparison(
                "memory",
                backend,
                "worker RSS per open case",
                "KB",
                s.per_case_kb,
                TARGET_KB,
                "target",
                Target(1.0, at_most=True),
            )
        )
        sec.notes.append(
            f"{backend}: {s.cases} cases opened; RSS {s.rss_before_kb / 1024:.0f} MB →"
            f" {s.rss_after_kb / 1024:.0f} MB, {s.per_case_kb:.0f} KB a case; Temporal's"
            f" database file {s.temporal_db_kb:.1f} KB a case, the casework database"
            f" {s.casework_db_kb:.1f} KB a case."
        )
    sec.notes.append(
        f"{n} hardship cases opened through `CaseService.open_hardship` ({CONCURRENCY} at a"
        f" time) on the production worker (`build_worker`, workflow cache {cache:,}) in"
        " this process, after 20 warm-up openings; each stays open at grassroots review,"
        " so its workflow stays in the worker's cache. RSS from /proc/self/status after a"
        " garbage collection, before and after; the dev server's database file and the"
        " casework database (SQLite file with its WAL; PostgreSQL: the schema's"
        " relations) measured over the same openings."
    )
    return sec
