"""Errors that say what to do, without a Temporal server: Temporal unreachable is
"try again" (exit 3) in one plain line, like the database; `casework` alone shows its
help and succeeds; the help lists options without odd type marks."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.cli import TRY_AGAIN, app
from casework.demo.people import demo_users
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from tests.conftest import TEST_KEYRING
from tests.store.builders import DomainCase

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


@pytest.fixture
def env(sqlite_engine: Engine, tmp_path: Path, restore_logging: None) -> dict[str, str]:
    Directory(sqlite_engine).upsert(demo_users())
    DomainCase(EventStore(sqlite_engine), "HR-2026-000001").open()
    return {
        "CASEWORK_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
        "CASEWORK_HOME": str(tmp_path),
        "CASEWORK_TEMPORAL_ADDRESS": f"127.0.0.1:{closed_port()}",
        "COLUMNS": "80",
    }


@pytest.mark.parametrize(
    "args",
    [
        ["act", "HR-2026-000001", "claim", "--as", "chongchuan.grassroots2"],
        [
            "case",
            "open",
            "hardship",
            "--file",
            str(EXAMPLES / "hardship-application.json"),
            "--as",
            "chongchuan.grassroots1",
        ],
    ],
    ids=["act", "case open"],
)
def test_temporal_unreachable_is_try_again_in_one_line(
    env: dict[str, str], args: list[str]
) -> None:
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == TRY_AGAIN, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach Temporal" in lines[0] and "try again" in lines[0]
    assert "tonic" not in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_casework_alone_shows_its_help_and_succeeds() -> None:
    result = CliRunner().invoke(app, [], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Usage: casework") and "case" in result.stdout
    assert "<bool>" not in result.stdout
    assert "<bool>" not in CliRunner().invoke(app, ["stuck", "--help"]).stdout


@pytest.mark.parametrize("group", ["users", "case", "funds", "refunds", "campaign", "schedules"])
def test_a_command_group_alone_shows_its_help_and_succeeds(group: str) -> None:
    result = CliRunner().invoke(app, [group], env={"COLUMNS": "80"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout.startswith(f"Usage: casework {group}") and "Commands" in result.stdout
