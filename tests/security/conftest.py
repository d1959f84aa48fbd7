"""Shared by the security and reliability tests: the process-wide logging state put back
after each test, and one real stack for the package (the Temporal dev server, a worker
process, a migrated and seeded SQLite database) that the `casework` command talks to."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import structlog
from typer.testing import CliRunner, Result

from casework.cli import app
from casework.demo.seed import seed_reference_data
from casework.devserver import DevServer
from casework.logging import PersonalDataFilter
from casework.store.db import make_engine, migrate

CASEWORK = str(Path(sys.executable).parent / "casework")
LEAKY_WORKER = Path(__file__).with_name("leaky_worker.py")

OPENER = "chongchuan.grassroots1"
REVIEWER = "chongchuan.grassroots2"

QUICK_CONFIG = """
[hardship]
disbursement_attempts = 3
disbursement_retry_seconds = 1

[hardship.limits]
public_notice = { seconds = 1 }
"""
"""The public notice lasts a second and a failed transfer is retried a second later."""


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`configure_logging` (called by the CLI run in-process, and by these tests)
    changes process-wide state: put it back so other tests log as before."""
    root = logging.getLogger()
    saved: dict[str, Any] = {
        "structlog": structlog.get_config(),
        "factory": logging.getLogRecordFactory(),
        "root_level": root.level,
        "levels": {n: logging.getLogger(n).level for n in ("alembic", "uvicorn.access")},
        "excepthook": sys.excepthook,
        "thread_excepthook": threading.excepthook,
    }
    yield
    structlog.reset_defaults()
    structlog.configure(**saved["structlog"])
    logging.setLogRecordFactory(saved["factory"])
    root.setLevel(saved["root_level"])
    for name, level in saved["levels"].items():
        logging.getLogger(name).setLevel(level)
    for handler in root.handlers:
        for f in [f for f in handler.filters if isinstance(f, PersonalDataFilter)]:
            handler.removeFilter(f)
    sys.excepthook = saved["excepthook"]
    threading.excepthook = saved["thread_excepthook"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    home: Path
    env: dict[str, str]
    engine: sa.Engine
    worker_log: Path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`casework ARGS` in a process of its own; never raises on a failure."""
        return subprocess.run(
            [CASEWORK, *args],
            env={**self.env, **env},
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def row_counts(self) -> dict[str, Any]:
        """Rows in every table of the store, and the case numbers handed out so far:
        what a refused input must leave unchanged."""
        with self.engine.connect() as conn:
            counts: dict[str, Any] = {
                name: conn.execute(
                    sa.select(sa.func.count()).select_from(sa.table(name))
                ).scalar_one()
                for name in sa.inspect(conn).get_table_names()
            }
            counts["case numbers"] = sorted(
                tuple(row) for row in conn.execute(sa.text("SELECT * FROM case_sequences"))
            )
        return counts

    def stage(self, case_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT stage FROM cases WHERE case_id = :c"), {"c": case_id}
            ).scalar()

    def wait_for_event(self, case_id: str, event_type: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        query = sa.text("SELECT count(*) FROM case_events WHERE case_id = :c AND type = :t")
        while True:
            with self.engine.connect() as conn:
                if conn.execute(query, {"c": case_id, "t": event_type}).scalar():
                    return
            assert time.monotonic() < deadline, f"no {event_type} for {case_id}"
            time.sleep(0.05)

    def wait_for_stage(self, case_id: str, leaving: str, timeout: float = 30) -> str:
        """Poll the projection until the case is no longer at `leaving`."""
        deadline = time.monotonic() + timeout
        while (stage := self.stage(case_id)) == leaving:
            assert time.monotonic() < deadline, f"{case_id} still at {leaving}"
            time.sleep(0.1)
        return str(stage)


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real thing, as in tests/e2e: dev server, a worker process (the real
    composition root, with a bank whose first refusal names the account, see
    leaky_worker.py) logging at DEBUG to worker.log, and the store."""
    home = tmp_path_factory.mktemp("security-stack")
    port, ui_port = free_port(), free_port()
    server = DevServer(home, f"127.0.0.1:{port}", ui_port, headless=True)
    asyncio.run(server.start())
    (home / "config.toml").write_text(QUICK_CONFIG, encoding="utf-8")
    env = {
        **os.environ,
        "CASEWORK_HOME": str(home),
        "CASEWORK_DATABASE_URL": f"sqlite:///{home / 'casework.db'}",
        "CASEWORK_TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "CASEWORK_TASK_QUEUE": "security",
        "CASEWORK_CONFIG": str(home / "config.toml"),
        "CASEWORK_LOG_JSON": "true",
    }
    engine = make_engine(env["CASEWORK_DATABASE_URL"])
    migrate(engine)
    seed_reference_data(engine)
    worker_log = home / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, str(LEAKY_WORKER)],
        env={**env, "CASEWORK_LOG_LEVEL": "DEBUG"},
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=worker_log.open("w"),
        start_new_session=True,
    )
    try:
        yield Stack(home, env, engine, worker_log)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
        server.stop()
        engine.dispose()


@pytest.fixture
def cli(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`casework ARGS` run in this process (Typer's CliRunner) against the stack: the
    same code as the command, without a process start per call."""
    for name, value in stack.env.items():
        if name.startswith("CASEWORK_"):
            monkeypatch.setenv(name, value)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke
