"""The store contract suite: every test here that takes `engine` runs on SQLite and on
PostgreSQL (the `engine` fixture of tests/conftest.py is parametrised over both)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from casework.store.event_store import EventStore


@pytest.fixture
def store(engine: Engine) -> EventStore:
    return EventStore(engine)
