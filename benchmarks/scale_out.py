"""Benchmark: scale-out. The same hardship cases driven from open to filed (the
throughput benchmark's driver) with 1, 2 and 3 `casework worker` *processes* on one task
queue and one PostgreSQL database, as the production shape runs them (deploy/). The
baseline is the one-worker run: the ratio is the speed-up. On a machine with fewer cores
than processes (the dev server, the drivers and N workers) the rate plateaus; the point
is the shape, and that nothing breaks (every case filed)."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks.harness import Database, People, progress
from benchmarks.results import Comparison, Section
from benchmarks.throughput import Run, applications, drive_cases, warm_up
from casework.service import CaseService
from casework.settings import Settings
from casework.temporal import connect

CASEWORK = str(Path(sys.executable).parent / "casework")
WORKER_COUNTS = (1, 2, 3)
CONFIG = """
[hardship.limits]
public_notice = { seconds = 1 }
"""
"""The benchmarks' configuration (`harness.bench_config`) as the workers read it."""


@dataclass
class ScaleSample:
    runs: dict[int, Run]
    """Worker processes → the drive's run."""


@contextlib.contextmanager
def worker_processes(n: int, env: dict[str, str], home: Path) -> Iterator[None]:
    """`casework worker` × n on the deployment's settings; stopped with SIGTERM after."""
    procs = []
    for i in range(n):
        log = (home / f"worker{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [CASEWORK, "worker"],
                env=env,
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        yield
    except BaseException:
        for i in range(n):  # why, before the scratch directory goes
            progress(f"worker {i}: {(home / f'worker{i}.log').read_text(errors='replace')[-1500:]}")
        raise
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        if any(p.returncode not in (0, -15) for p in procs):
            tails = [(home / f"worker{i}.log").read_text(errors="replace")[-800:] for i in range(n)]
            raise AssertionError(f"a worker failed: {tails}")


def deployment_env(address: str, db: Database, pg_url: str, home: Path) -> dict[str, str]:
    schema = db.where.split()[-1]  # "schema bench_scale_..."
    url = make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    config = home / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return {
        **os.environ,
        "CASEWORK_HOME": str(home),
        "CASEWORK_DATABASE_URL": url.render_as_string(hide_password=False),
        "CASEWORK_TEMPORAL_ADDRESS": address,
        "CASEWORK_TASK_QUEUE": f"bench-scale-{uuid.uuid4().hex[:8]}",
        "CASEWORK_CONFIG": str(config),
        "CASEWORK_ENCRYPTION_KEYS": f"bench:{base64.b64encode(os.urandom(32)).decode()}",
        "CASEWORK_LOG_LEVEL": "WARNING",
    }


async def measure_one(
    address: str, db: Database, pg_url: str, home: Path, workers: int, cases: int, limit: int
) -> Run:
    home.mkdir(parents=True, exist_ok=True)
    env = deployment_env(address, db, pg_url, home)
    ours = {k[len("CASEWORK_") :].lower(): v for k, v in env.items() if k.startswith("CASEWORK_")}
    settings = Settings.model_validate(ours)
    client = await connect(settings)  # the deployment's key, as an API process has it
    service = CaseService(client, db.engine, settings.task_queue)
    people = People(db.engine)
    with worker_processes(workers, env, home):
        await warm_up(service, people, applications(2 * workers, first_index=900))
        progress(f"scale-out: {cases} cases to filed, {workers} worker process(es)")
        started = time.monotonic()
        run = await drive_cases(
            service, db.engine, people, applications(cases, first_index=1000), limit
        )
        progress(f"  {cases / (time.monotonic() - started):.2f} cases/s")
    return run


def section(sample: ScaleSample | None, cases: int, limit: int, skipped: str | None) -> Section:
    sec = Section("Scale-out: worker processes")
    if sample is None:
        sec.skipped = skipped
        return sec
    one = sample.runs[1]
    for n, run in sample.runs.items():
        sec.comparisons += [
            Comparison(
                "scale_out",
                "PostgreSQL",
                f"cases/s, {n} worker{'s' if n > 1 else ''}",
                "/s",
                run.units / run.wall_s,
                one.units / one.wall_s,
                "cases/s, 1 worker",
            ),
            Comparison(
                "scale_out",
                "PostgreSQL",
                f"actions/s, steady (p10-p90), {n} worker{'s' if n > 1 else ''}",
                "/s",
                run.steady_rate,
                one.steady_rate,
                "1 worker",
            ),
        ]
    sec.notes.append(
        f"{cases} hardship cases per run driven to filed with {limit} at once, each run on "
        f"a fresh PostgreSQL schema; the workers are `casework worker` processes on one "
        f"task queue; cores: {os.cpu_count()}. "
        + "; ".join(
            f"{n} worker(s): {r.wall_s:.1f} s, {r.actions} actions" for n, r in sample.runs.items()
        )
    )
    return sec
