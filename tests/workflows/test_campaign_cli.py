"""`casework campaign open|forward|vote|show|honours|list` and `case open nomination
--campaign` with a real worker on the time-skipping server: who may do and read what,
bad input named by its field, the forward and the vote through the campaign's
workflow, the overview at 80 columns with ids whole, the honour list with a BOM."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.campaign import workflow_id
from casework.domain.nomination import Stage
from casework.store.tables import campaigns, case_events
from tests.conftest import DATA_CONVERTER, TEST_KEYRING, register_search_attributes, venv_binary
from tests.workflows.conftest import Harness
from tests.workflows.nomination_steps import at_stage, nominate, number_nominations
from tests.workflows.steps import sleep_until

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = str(REPO / "examples/campaign.json")


@pytest.fixture(name="env")
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


class Cli:
    def __init__(self, h: Harness, home: Path) -> None:
        self.env = {
            "CASEWORK_DATABASE_URL": h.engine.url.render_as_string(hide_password=False),
            "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
            "CASEWORK_HOME": str(home),
            "CASEWORK_LOG_JSON": "true",
            "CASEWORK_TEMPORAL_ADDRESS": h.env.client.service_client.config.target_host,
            "CASEWORK_TASK_QUEUE": h.service.task_queue,
            "COLUMNS": "80",
        }

    def run_here(self, *args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    async def run(self, *args: str, code: int = 0) -> Any:
        """Off the event loop the worker runs on."""
        return await asyncio.to_thread(self.run_here, *args, code=code)

    async def json(self, *args: str) -> Any:
        return json.loads((await self.run(*args, "--json")).stdout)


@pytest.fixture
def h(harness: Harness) -> Harness:
    number_nominations(harness)
    return harness


async def test_campaign_commands_check_who_and_what(h: Harness, tmp_path: Path) -> None:
    cli = Cli(h, tmp_path)
    refused = await cli.run(
        "campaign", "open", "--file", CAMPAIGN, "--as", "chongchuan.officer1", code=2
    )
    assert "role_not_held" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(Path(CAMPAIGN).read_text()), "places": 999}))
    wrong = await cli.run("campaign", "open", "--file", str(bad), "--as", "city.officer1", code=2)
    assert "places" in wrong.stderr
    with h.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(campaigns)) == 0
    cid = (await cli.json("campaign", "open", "--file", CAMPAIGN, "--as", "city.officer1"))[
        "campaign_id"
    ]
    assert cid == "CP-2027-001"
    # Its workflow runs from the opening.
    assert (await h.env.client.get_workflow_handle(workflow_id(cid)).describe()).status

    nominee = str(REPO / "examples/nominee.json")
    wrong = await cli.run(
        "case",
        "open",
        "hardship",
        "--campaign",
        cid,
        "--file",
        nominee,
        "--as",
        "chongchuan.grassroots1",
        code=2,
    )
    assert "--campaign" in wrong.stderr
    elsewhere = await cli.run(
        "campaign", "forward", cid, "--district", "崇川区", "--as", "tongzhou.officer1", code=2
    )
    assert "outside_jurisdiction" in elsewhere.stderr
    nothing = await cli.run(
        "campaign", "forward", cid, "--district", "崇川区", "--as", "chongchuan.officer1", code=2
    )
    assert "nothing_to_forward" in nothing.stderr and "district" in nothing.stderr
    votes = str(REPO / "examples/votes.json")
    stray = await cli.run(
        "campaign", "vote", cid, "--file", votes, "--as", "city.committee1", code=2
    )
    assert "not_awaiting_vote" in stray.stderr
    not_member = await cli.run(
        "campaign", "vote", cid, "--file", votes, "--as", "city.officer1", code=2
    )
    assert "role_not_held" in not_member.stderr
    empty = tmp_path / "votes.json"
    empty.write_text(json.dumps({"present": 12, "votes": {}}))
    no_votes = await cli.run(
        "campaign", "vote", cid, "--file", str(empty), "--as", "city.committee1", code=2
    )
    assert "votes" in no_votes.stderr
    with h.engine.connect() as conn:  # only the opening was recorded
        types = conn.scalars(select(case_events.c.type).where(case_events.c.case_id == cid))
        assert list(types) == ["campaign.opened"]
    await h.env.client.get_workflow_handle(workflow_id(cid)).terminate("test finished")


async def test_show_honours_and_list_through_the_command(h: Harness, tmp_path: Path) -> None:
    cli = Cli(h, tmp_path)
    cid = (await cli.json("campaign", "open", "--file", CAMPAIGN, "--as", "city.officer1"))[
        "campaign_id"
    ]
    mine = [
        (await nominate(h, cid, name="王建华")).case_id,
        (await nominate(h, cid, name="李秀英", migrant_worker=True)).case_id,
    ]
    theirs = (await nominate(h, cid, by="tongzhou.grassroots1", district="通州区")).case_id
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=10))  # past the unit notice
    for case_id in mine:
        await at_stage(h, case_id, Stage.DISTRICT_REVIEW)
    # Alone, 王建华 breaks the migrant workers' 10% floor: refused whole, naming him.
    await h.act(mine[0], "chongchuan.officer1", "approve")
    breach = await cli.run(
        "campaign", "forward", cid, "--district", "崇川区", "--as", "chongchuan.officer1", code=2
    )
    assert "ratio_breached" in breach.stderr and mine[0] in breach.stderr
    assert "nominations" in breach.stderr  # the field
    await h.act(mine[1], "chongchuan.officer1", "approve")
    done = await cli.json(
        "campaign", "forward", cid, "--district", "崇川区", "--as", "chongchuan.officer1"
    )
    assert done["case_ids"] == mine and done["district_forwarded"] == 2
    for case_id in mine:
        assert (await at_stage(h, case_id, Stage.VETTING)).stage == Stage.VETTING

    city = await cli.json("campaign", "show", cid, "--as", "city.officer1")
    assert [n["case_id"] for n in city["nominations"]] == sorted([*mine, theirs])
    quota = {q["district"]: q for q in city["quotas"]}
    assert (quota["崇川区"]["forwarded"], quota["崇川区"]["left"]) == (2, 38)
    assert {r["criterion"] for r in city["rules"]} >= {"frontline_or_technical"}
    district = await cli.json("campaign", "show", cid, "--as", "chongchuan.officer1")
    assert [n["case_id"] for n in district["nominations"]] == mine  # their own district's
    committee = await cli.json("campaign", "show", cid, "--as", "city.committee1")
    assert len(committee["nominations"]) == 3
    outsider = await cli.run("campaign", "show", cid, "--as", "city.lawyer", code=2)
    assert "role_not_held" in outsider.stderr
    text = (await cli.run("campaign", "show", cid, "--as", "city.officer1")).stdout
    assert all(case_id in text for case_id in [*mine, theirs])  # whole at 80 columns
    assert cid in text and "联审" in text and "崇川区" in text

    # Honours: a working list for staff while open; not yet public.
    refused = await cli.run("campaign", "honours", cid, "--as", "city.lawyer", code=2)
    assert "role_not_held" in refused.stderr
    out = tmp_path / "honours.csv"
    await cli.run(
        "campaign", "honours", cid, "--format", "csv", "--output", str(out), "--as", "city.leader"
    )
    raw = out.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    header = next(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert header == ["district", "name", "unit", "award", "award_zh", "nomination_id"]
    text = await cli.run("campaign", "honours", cid, "--as", "city.officer1")
    assert text.stdout == "（无 none）\n"  # nobody honoured yet
    as_json = await cli.run("campaign", "honours", cid, "--format", "json", "--as", "city.leader")
    assert json.loads(as_json.stdout) == []
    listed = await cli.json("campaign", "list", "--as", "city.officer1")
    assert [(c["campaign_id"], c["nominations"]) for c in listed] == [(cid, 3)]
    assert await cli.json("campaign", "list", "--as", "city.lawyer") == []  # none closed yet
    await h.env.client.get_workflow_handle(workflow_id(cid)).terminate("test finished")
