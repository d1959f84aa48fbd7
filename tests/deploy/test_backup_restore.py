"""Back up and restore the event store as deploy/README.md says ("Back up and restore"),
on the local PostgreSQL with its own client programs: `pg_dump -Fc` of a database the
migration made and cases filled, `createdb` and `pg_restore` into an empty one, then
`casework audit verify` on the restored database (every case's hash chain intact, every
event there) and `casework projections rebuild` (the read models rebuilt from the
restored events equal the original's). A restore altered afterwards fails the proof,
naming the case and seq."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update
from sqlalchemy.engine import URL, make_url

from casework.demo.seed import seed_reference_data
from casework.store.db import make_engine
from casework.store.event_store import EventStore
from casework.store.projections import projection_snapshot
from casework.store.tables import case_events
from tests.conftest import PG_URL
from tests.e2e.test_faults import CASEWORK, require_postgres
from tests.store.builders import T0, DomainCase

pytestmark = pytest.mark.postgres

KEYS = "backup:" + base64.b64encode(os.urandom(32)).decode()


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (Debian: postgresql-client)")
    return found


def connection_args(url: URL) -> list[str]:
    return ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or ""]


@pytest.fixture
def databases() -> Iterator[tuple[URL, URL]]:
    """Two fresh databases on the server of the tests' PostgreSQL: the deployment's and
    the empty one a restore goes into."""
    require_postgres()
    base = make_url(PG_URL)
    suffix = uuid.uuid4().hex[:10]
    names = [f"cw_live_{suffix}", f"cw_restored_{suffix}"]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{names[0]}"')
    try:
        yield base.set(database=names[0]), base.set(database=names[1])
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def casework(*args: str, url: URL, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CASEWORK, *args],
        env={
            "PATH": os.environ.get("PATH", ""),
            "CASEWORK_DATABASE_URL": url.render_as_string(hide_password=False),
            "CASEWORK_ENCRYPTION_KEYS": KEYS,
            "CASEWORK_HOME": str(home),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_restored_backup_verifies_and_rebuilds_the_same_read_models(
    databases: tuple[URL, URL], tmp_path: Path
) -> None:
    live, restored = databases
    migrated = casework("migrate", url=live, home=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    engine = make_engine(live.render_as_string(hide_password=False))
    seed_reference_data(engine)
    store = EventStore(engine)
    store.set_budget("崇川区", T0.year, 10**9)
    DomainCase(store, "HR-2026-000001").to_filed()
    DomainCase(store, "HR-2026-000002").to_district_review()
    DomainCase(store, "HR-2026-000003").open()
    with engine.connect() as conn:
        events = conn.execute(select(sa.func.count()).select_from(case_events)).scalar_one()
    original = projection_snapshot(engine)
    before = store.verify()
    engine.dispose()
    assert events > 20 and before.broken == [] and before.events_checked == events

    # Back up (the README's `pg_dump -Fc`), restore into an empty database.
    dump = tmp_path / "casework.dump"
    subprocess.run(
        [pg_tool("pg_dump"), *connection_args(live), "-Fc", "-f", str(dump), live.database or ""],
        check=True,
        timeout=120,
    )
    subprocess.run(
        [pg_tool("createdb"), *connection_args(restored), restored.database or ""],
        check=True,
        timeout=60,
    )
    subprocess.run(
        [
            pg_tool("pg_restore"),
            *connection_args(restored),
            "-d",
            restored.database or "",
            str(dump),
        ],
        check=True,
        timeout=120,
    )

    # Prove it: every chain intact, every event there, the read models rebuilt equal.
    verified = casework("audit", "verify", "--json", url=restored, home=tmp_path)
    assert verified.returncode == 0, verified.stderr
    report = json.loads(verified.stdout)
    assert report == {"cases_checked": before.cases_checked, "events_checked": events, "broken": []}
    rebuilt = casework("projections", "rebuild", "--json", url=restored, home=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["events_replayed"] >= events
    check = make_engine(restored.render_as_string(hide_password=False))
    try:
        assert projection_snapshot(check) == original

        # A restore that does not match its backup (here: one event's bytes altered)
        # fails the proof, naming case and seq.
        with check.begin() as conn:
            conn.execute(
                update(case_events)
                .where(case_events.c.case_id == "HR-2026-000002", case_events.c.seq == 2)
                .values(payload=case_events.c.payload + " ")
            )
    finally:
        check.dispose()
    broken = casework("audit", "verify", "--json", url=restored, home=tmp_path)
    assert broken.returncode == 1, broken.stderr
    assert [(b["case_id"], b["seq"]) for b in json.loads(broken.stdout)["broken"]] == [
        ("HR-2026-000002", 2)
    ]
