"""`casework campaign open|forward|vote` and `case open nomination --campaign`: who may
do what, and bad input named by its field, through the command (the refusals come
before anything reaches Temporal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from casework.demo.people import demo_users
from casework.store.directory import Directory
from casework.store.tables import campaigns, case_events
from tests.workflows.test_households_cli import Cli

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = str(REPO / "examples/campaign.json")


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


def test_campaign_commands_check_who_and_what(sqlite_engine: Engine, tmp_path: Path) -> None:
    Directory(sqlite_engine).upsert(demo_users())
    cli = Cli(sqlite_engine, tmp_path)
    refused = cli.run("campaign", "open", "--file", CAMPAIGN, "--as", "chongchuan.officer1", code=2)
    assert "role_not_held" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(Path(CAMPAIGN).read_text()), "places": 999}))
    assert (
        "places"
        in cli.run("campaign", "open", "--file", str(bad), "--as", "city.officer1", code=2).stderr
    )
    with sqlite_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(campaigns)) == 0
    cid = cli.json("campaign", "open", "--file", CAMPAIGN, "--as", "city.officer1")["campaign_id"]
    assert cid == "CP-2027-001"

    nominee = str(REPO / "examples/nominee.json")
    wrong = cli.run(
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
    elsewhere = cli.run(
        "campaign", "forward", cid, "--district", "崇川区", "--as", "tongzhou.officer1", code=2
    )
    assert "outside_jurisdiction" in elsewhere.stderr
    nothing = cli.run(
        "campaign", "forward", cid, "--district", "崇川区", "--as", "chongchuan.officer1", code=2
    )
    assert "nothing_to_forward" in nothing.stderr
    votes = str(REPO / "examples/votes.json")
    stray = cli.run("campaign", "vote", cid, "--file", votes, "--as", "city.committee1", code=2)
    assert "not_awaiting_vote" in stray.stderr
    assert (
        "role_not_held"
        in cli.run("campaign", "vote", cid, "--file", votes, "--as", "city.officer1", code=2).stderr
    )
    empty = tmp_path / "votes.json"
    empty.write_text(json.dumps({"present": 12, "votes": {}}))
    assert (
        "votes"
        in cli.run(
            "campaign", "vote", cid, "--file", str(empty), "--as", "city.committee1", code=2
        ).stderr
    )
    with sqlite_engine.connect() as conn:  # only the opening was recorded
        types = conn.scalars(select(case_events.c.type).where(case_events.c.case_id == cid))
        assert list(types) == ["campaign.opened"]
