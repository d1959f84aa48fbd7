"""What every benchmark stands on: the Temporal dev server, fresh databases, workers,
progress output and a description of the machine. Nothing runs at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.worker import Worker

from benchmarks.bare import CounterWorkflow
from casework.config import ProcessConfig
from casework.domain.calendar import CHINA_TZ
from casework.domain.hardship import CASE_PREFIX, HardshipConfig, Period, Stage
from casework.domain.org import Actor
from casework.privacy.codec import encrypted_data_converter
from casework.privacy.keys import Keyring

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_T0 = time.monotonic()


def progress(message: str) -> None:
    """One line of progress on stderr (stdout carries the table only)."""
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def postgres_url() -> str:
    return (
        os.environ.get("CASEWORK_BENCH_POSTGRES_URL")
        or os.environ.get("CASEWORK_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES_URL
    )


def bench_config() -> ProcessConfig:
    """Production rules, but a one-second public notice so cases flow quickly."""
    return ProcessConfig(hardship=HardshipConfig(limits={Stage.PUBLIC_NOTICE: Period(seconds=1)}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- databases ---------------------------------------------------------------------------


@dataclass
class Database:
    """A fresh casework database (SQLite file or PostgreSQL schema), dropped by `close`."""

    label: str  # "SQLite" | "PostgreSQL"
    engine: Engine
    where: str
    _drop: Callable[[], None] = field(repr=False)

    def close(self) -> None:
        self.engine.dispose()
        self._drop()


def sqlite_database(directory: Path, name: str) -> Database:
    from casework.store.db import make_engine

    path = directory / f"{name}.db"
    engine = make_engine(f"sqlite:///{path}")

    def drop() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return Database("SQLite", engine, str(path), drop)


def postgres_unavailable(url: str) -> str | None:
    """None when PostgreSQL answers at `url`, otherwise why not."""
    try:
        probe = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with probe.connect():
            pass
        probe.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable at {url}: {exc.__class__.__name__}"


def postgres_database(url: str, name: str) -> Database:
    """A fresh schema (`bench_<name>_<hex>`) reached through search_path, as the tests do."""
    from casework.store.db import make_engine

    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()

    return Database("PostgreSQL", engine, f"schema {schema}", drop)


def prepare_casework_database(db: Database, first_case_number: int) -> None:
    """Migrate, seed users and budgets, and start case numbers at `first_case_number`:
    every database of a run shares one dev server, where workflow id = case id."""
    from casework.demo.seed import seed_reference_data
    from casework.store.db import migrate
    from casework.store.tables import case_sequences

    migrate(db.engine)
    seed_reference_data(db.engine)
    year = datetime.now(UTC).astimezone(CHINA_TZ).year
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(case_sequences).values(
                prefix=CASE_PREFIX, year=year, last_value=first_case_number - 1
            )
        )


# -- Temporal ----------------------------------------------------------------------------


def compile_bytecode() -> None:
    """Write the bytecode of casework's own modules, as `pip install` does for the
    image (deploy/Dockerfile). The workflow sandbox imports a workflow's modules afresh
    for every new workflow run: without bytecode on disk (an editable install under
    PYTHONDONTWRITEBYTECODE, as on the development machines) each new case compiles
    workflows/case.py and its process's module from source, ~5 ms of CPU a case."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("workflows", "casework", "activities", "benchmarks"):
        compileall.compile_dir(root / package, quiet=1)


@dataclass
class Temporal:
    address: str
    client: Client
    home: Path
    server_pid: int | None

    def cpu(self) -> CpuClock:
        return CpuClock(self.server_pid)


THREAD_GROUPS = {
    "MainThread": "event loop",
    "temporal_workflow": "workflow activations",
    "ThreadPoolExecutor": "activities",
    "asyncio": "client threads",
}
"""Python threads by the prefix of their name; the SDK's Rust threads go by their own."""


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of each thread of this process, with its group (THREAD_GROUPS; any
    other thread by its OS name, e.g. the SDK core's `tokio-rt-worker`)."""
    import threading

    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    task = Path(f"/proc/{os.getpid()}/task")
    for entry in task.iterdir() if task.exists() else []:
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        tid = int(entry.name)
        name = names.get(tid) or raw[raw.index("(") + 1 : raw.rindex(")")]
        group = next((g for p, g in THREAD_GROUPS.items() if name.startswith(p)), None)
        if group is None:
            group = "SDK core (Rust)" if name.startswith(("tokio", "workflow-proc")) else name
        fields = raw.rsplit(")", 1)[1].split()
        out[tid] = (group, (int(fields[11]) + int(fields[12])) / tick)
    return out


class CpuClock:
    """CPU seconds used since creation by this process (worker, clients and drivers,
    all threads) and by the Temporal dev server."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.start = (time.process_time(), self._server())
        self.threads = thread_cpu()

    def by_thread(self) -> dict[str, float]:
        """CPU seconds since creation per thread group of this process."""
        used: dict[str, float] = {}
        for tid, (group, seconds) in thread_cpu().items():
            used[group] = used.get(group, 0.0) + seconds - self.threads.get(tid, (group, 0.0))[1]
        return used

    def _server(self) -> float:
        if self.server_pid is None:
            return float("nan")
        try:
            fields = Path(f"/proc/{self.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def used(self) -> tuple[float, float]:
        return time.process_time() - self.start[0], self._server() - self.start[1]


@contextlib.asynccontextmanager
async def dev_server() -> AsyncIterator[Temporal]:
    """The real `temporal server start-dev` (headless, temp home, free ports) and a client
    with casework's data converter, as the CLI makes it."""
    from casework.devserver import DevServer

    home = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    server = DevServer(home, f"127.0.0.1:{free_port()}", free_port(), headless=True)
    progress(f"starting Temporal dev server at {server.address} (home {home})")
    await server.start()
    try:
        client = await connect_when_ready(server.address)
        pid = server.process.pid if server.process else None
        yield Temporal(server.address, client, home, pid)
    finally:
        progress("stopping Temporal dev server")
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


async def connect_when_ready(address: str, timeout: float = 60.0) -> Client:
    """A client with casework's data converter, as the CLI makes it. The dev server
    accepts connections a moment before its frontend reports healthy: retry until then."""
    runtime = quiet_runtime()
    # Payloads encrypted as in production, with a key made for this run.
    converter = encrypted_data_converter(Keyring.generate("bench"))
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await Client.connect(address, data_converter=converter, runtime=runtime)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def quiet_runtime() -> Runtime:
    """Temporal's core logs go through Python logging (stderr), never onto stdout."""
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    return Runtime(telemetry=TelemetryConfig(logging=logging_config))


@contextlib.asynccontextmanager
async def casework_worker(client: Client, engine: Engine, task_queue: str) -> AsyncIterator[None]:
    """The production worker (worker.build_worker) in this process, with the fakes."""
    from activities.civil_affairs import FakeCivilAffairs
    from activities.disbursement import FakeBank
    from worker import build_worker

    worker = build_worker(
        client,
        engine,
        task_queue=task_queue,
        bank=FakeBank(),
        civil_affairs=FakeCivilAffairs(),
        config=bench_config(),
    )
    async with worker:
        yield


@contextlib.asynccontextmanager
async def bare_worker(client: Client, task_queue: str) -> AsyncIterator[None]:
    """A second worker in this process running only the trivial counter workflow."""
    async with Worker(client, task_queue=task_queue, workflows=[CounterWorkflow]):
        yield


def new_task_queue(kind: str) -> str:
    return f"bench-{kind}-{uuid.uuid4().hex[:8]}"


class People:
    """Demo users as actors, read once from the directory (outside any timed region)."""

    def __init__(self, engine: Engine) -> None:
        from casework.store.directory import Directory

        self.directory = Directory(engine)
        self._cache: dict[str, Actor] = {}

    def __call__(self, user_id: str) -> Actor:
        if user_id not in self._cache:
            self._cache[user_id] = self.directory.get(user_id).actor()
        return self._cache[user_id]


# -- the machine -------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _temporal_cli_version() -> str:
    from casework.devserver import temporal_binary

    try:
        out = subprocess.run(  # noqa: S603 - our own binary
            [temporal_binary(), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
        return out.strip().removeprefix("temporal version ") or "?"
    except Exception as exc:  # noqa: BLE001
        return f"? ({exc.__class__.__name__})"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _postgres_version(url: str) -> str:
    with contextlib.suppress(Exception):
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                return str(conn.exec_driver_sql("SHOW server_version").scalar())
        finally:
            engine.dispose()
    return "not reachable"


def machine_info(pg_url: str | None) -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "temporal CLI": _temporal_cli_version(),
        "temporalio SDK": _version("temporalio"),
        "SQLAlchemy": _version("SQLAlchemy"),
        "SQLite": sqlite3.sqlite_version,
        "PostgreSQL": _postgres_version(pg_url) if pg_url else "skipped",
        "os": platform.platform(),
    }


def revision() -> str:
    """The commit measured, and whether the work tree differs from it (benchmarks aside)."""
    override = os.environ.get("CASEWORK_BENCH_REVISION")
    if override:
        return override
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!benchmarks", ":!BENCHMARKS.md"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha} + uncommitted changes" if dirty else sha


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "?"


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="casework-bench-db-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
