"""`/healthz` and `/readyz`: answered without sign-in, 503 naming the dependency that is
unreachable, and nothing else revealed (no address, no error text)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from casework.service import CaseService
from casework.store.db import make_engine
from tests.api.conftest import client_for, make_app
from tests.conftest import DATA_CONVERTER

UNREACHABLE_PG = "postgresql+psycopg://casework:secret-pw@127.0.0.1:1/casework"


async def get(app: object, path: str) -> httpx.Response:
    async with client_for(app) as client:  # type: ignore[arg-type]
        return await client.get(path)


async def test_liveness_answers_without_sign_in(sqlite_engine: Engine) -> None:
    r = await get(make_app(sqlite_engine), "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_ready_when_the_database_and_temporal_answer(
    env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    app = make_app(engine, CaseService(env.client, engine, task_queue))
    r = await get(app, "/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}


async def test_not_ready_without_temporal(sqlite_engine: Engine) -> None:
    r = await get(make_app(sqlite_engine), "/readyz")
    assert r.status_code == 503
    assert r.json()["checks"] == {"database": "ok", "temporal": "unreachable"}


async def test_not_ready_when_temporal_stops_answering(sqlite_engine: Engine) -> None:
    gone = await Client.connect("127.0.0.1:1", lazy=True, data_converter=DATA_CONVERTER)
    r = await get(make_app(sqlite_engine, CaseService(gone, sqlite_engine, "q")), "/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["temporal"] == "unreachable"


async def test_not_ready_when_the_database_is_away_and_nothing_is_revealed(
    env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    away = make_engine(UNREACHABLE_PG, connect_args={"connect_timeout": 1})
    app = make_app(sqlite_engine, CaseService(env.client, sqlite_engine, "q"))
    app.state.engine = away
    r = await get(app, "/readyz")
    assert r.status_code == 503
    assert r.json() == {
        "status": "not ready",
        "checks": {"database": "unreachable", "temporal": "ok"},
    }
    for secret in ("127.0.0.1", "secret-pw", "casework", "psycopg", "Operational"):
        assert secret not in r.text
    away.dispose()
