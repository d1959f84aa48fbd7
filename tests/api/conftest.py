"""The API against a real store: httpx on ASGI, a user per role from the demo directory,
tokens for them, and (where a test needs no worker) no case service at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from casework.api.app import create_app
from casework.demo.people import demo_users
from casework.service import CaseService
from casework.settings import Settings
from casework.store.auth import Tokens
from casework.store.directory import Directory


def make_app(engine: Engine, service: CaseService | None = None, **settings: Any) -> FastAPI:
    return create_app(engine, service, Settings(_env_file=None, **settings))  # type: ignore[call-arg]


def client_for(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def bearer(engine: Engine, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {Tokens(engine).create(user, 'test', 1)[0]}"}


@pytest.fixture
def directory(sqlite_engine: Engine) -> Directory:
    d = Directory(sqlite_engine)
    d.upsert(demo_users())
    return d


@pytest.fixture
async def api(sqlite_engine: Engine, directory: Directory) -> AsyncIterator[httpx.AsyncClient]:
    """The API without Temporal (service None): reads work, actions answer 503."""
    async with client_for(make_app(sqlite_engine)) as client:
        yield client
