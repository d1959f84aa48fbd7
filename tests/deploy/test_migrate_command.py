"""`casework migrate`, the deployment's one-off schema step: idempotent, and a clear
error naming the setting when the database cannot be reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from casework.cli import app
from casework.store.db import alembic_config

pytestmark = pytest.mark.usefixtures("restore_logging")


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_migrate_brings_an_empty_database_to_head_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {"CASEWORK_DATABASE_URL": url, "CASEWORK_HOME": str(tmp_path)}
    for _ in range(2):
        result = CliRunner().invoke(app, ["migrate", "--json"], env=env)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"revision": head_revision()}
    engine = sa.create_engine(url)
    assert "case_events" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_migrate_names_the_setting_when_the_database_is_away(tmp_path: Path) -> None:
    env = {
        "CASEWORK_DATABASE_URL": "postgresql+psycopg://casework:pw@127.0.0.1:1/casework",
        "CASEWORK_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
        "CASEWORK_HOME": str(tmp_path),
    }
    result = CliRunner().invoke(app, ["migrate"], env=env)
    assert result.exit_code == 1
    assert "CASEWORK_DATABASE_URL" in result.output
    assert "Traceback" not in result.output
