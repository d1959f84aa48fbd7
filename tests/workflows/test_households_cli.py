"""`casework households list|show|exit`: the register within the viewer's jurisdiction,
the identity masked, `--json` keys for scripts; and an exit through the real worker,
refusals with exit 2 naming the rule and the field."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.cli import app
from casework.demo.people import demo_users
from casework.store.directory import Directory
from tests.api.test_households import ABOVE, TONGZHOU_FILE, seed
from tests.conftest import TEST_KEYRING
from tests.workflows.conftest import Harness
from tests.workflows.steps import GR2, OFFICER, QUICK, advance

KEYS = {
    "case_id",
    "district",
    "applicant_name",
    "category",
    "national_ref",
    "status",
    "filed_at",
    "filed_by",
    "exited_at",
    "exit_kind",
    "exit_reason",
    "exited_by",
}


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


@pytest.fixture
def config() -> Any:
    return QUICK


class Cli:
    def __init__(self, engine: Engine, home: Path, **more: str) -> None:
        self.env = {
            "CASEWORK_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
            "CASEWORK_HOME": str(home),
            "CASEWORK_LOG_JSON": "true",
            **more,
        }

    def run(self, *args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture
def files(sqlite_engine: Engine) -> dict[str, str]:
    Directory(sqlite_engine).upsert(demo_users())
    return seed(sqlite_engine)


def test_list_and_show_keep_to_the_viewers_jurisdiction(
    sqlite_engine: Engine, tmp_path: Path, files: dict[str, str]
) -> None:
    cli = Cli(sqlite_engine, tmp_path)
    everything = cli.json("households", "list")
    assert [h["case_id"] for h in everything] == [
        TONGZHOU_FILE,
        files["third"],
        files["left"],
        files["first"],
    ]
    assert all(set(h) == KEYS for h in everything)
    mine = cli.json("households", "list", "--as", OFFICER)
    assert [h["district"] for h in mine] == ["崇川区"] * 3
    gone = cli.json("households", "list", "--as", OFFICER, "--status", "exited")
    assert [(h["case_id"], h["status"]) for h in gone] == [(files["left"], "exited")]
    on = cli.json("households", "list", "--district", "通州区", "--status", "on_register")
    assert [h["case_id"] for h in on] == [TONGZHOU_FILE]
    refused = cli.run("households", "list", "--as", OFFICER, "--district", "通州区", code=2)
    assert "outside_jurisdiction" in refused.stderr
    assert "--status" in cli.run("households", "list", "--status", "gone", code=2).stderr
    table = cli.run("households", "list", "--as", OFFICER).stdout
    assert files["first"] in table and "在册" in table and TONGZHOU_FILE not in table

    shown = cli.json("households", "show", files["left"], "--as", OFFICER)
    assert set(shown) >= KEYS and shown["status"] == "exited"
    assert "*" in shown["id_number"]
    assert [m["income_per_head_fen"] for m in shown["exit_months"]] == ABOVE
    text = cli.run("households", "show", files["left"]).stdout
    assert shown["id_number"] in text and "已退出 exited" in text and "2026-11" in text
    # Another district's file reads like one that does not exist.
    other = cli.run("households", "show", TONGZHOU_FILE, "--as", OFFICER, code=2).stderr
    none = cli.run("households", "show", files["running"], "--as", OFFICER, code=2).stderr
    assert other.replace(TONGZHOU_FILE, "X") == none.replace(files["running"], "X")


async def test_a_household_leaves_the_register_from_the_command_line(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    case_id = (await h.open()).case_id
    await advance(h, case_id, "filed")
    cli = Cli(
        h.engine,
        tmp_path,
        CASEWORK_TEMPORAL_ADDRESS=h.env.client.service_client.config.target_host,
        CASEWORK_TASK_QUEUE=h.service.task_queue,
    )
    key = f"desk-{uuid.uuid4()}"
    command = ("households", "exit", case_id, "--kind", "income", "--as", GR2, "--key", key)

    def run(*args: str, code: int = 0) -> Any:
        return asyncio.to_thread(cli.run, *args, code=code)

    bad = await run(*command, "--incomes-fen", "95000,9a", "-m", "就业", code=2)
    assert "field --incomes-fen" in bad.stderr
    assert (
        "field --kind" in (await run(*command[:3], "--kind", "moved", "--as", GR2, code=2)).stderr
    )
    low = await run(
        *command, "--incomes-fen", "95000,95000,80000,95000,95000,95000", "-m", "就业", code=2
    )
    assert "refused: not_above_di_bao" in low.stderr and "incomes_fen.2" in low.stderr
    assert "Traceback" not in low.stderr
    role = await run(
        *command[:-4], "--as", OFFICER, "--incomes-fen", "95000," * 5 + "95000", "-m", "x", code=2
    )
    assert "refused: role_not_held" in role.stderr

    incomes = ",".join(str(n) for n in ABOVE)
    done = await run(*command, "--incomes-fen", incomes, "-m", "重新就业，收入高于低保", "--json")
    shown = json.loads(done.stdout)
    assert (shown["status"], shown["exit_kind"], shown["exited_by"]) == ("exited", "income", GR2)
    assert shown["exit_reason"] == "重新就业，收入高于低保"
    again = await run(*command, "--incomes-fen", incomes, "-m", "重新就业，收入高于低保", "--json")
    assert json.loads(again.stdout) == shown
    assert [e.type for e in h.store.read(case_id)].count("household.exited") == 1
    review = await run(
        "households", "exit", case_id, "--kind", "annual_review", "--as", OFFICER, "-m", "复核",
        code=2,
    )  # fmt: skip
    assert "refused: already_exited" in review.stderr
