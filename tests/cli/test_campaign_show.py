"""`casework campaign show` on a seeded campaign of 120 nominations (casework.demo.
campaign, no Temporal) at 80 columns: by default the quotas, the rules and the count per
stage, no nomination listed; `--district` and `--stage` list the nominations they choose
(together they narrow), `--all` every one as plain aligned lines, each id whole; a filter
naming nothing in the campaign is refused naming its option; `--json` stays the whole
overview, narrowed by the filters."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.cli import app
from casework.demo.campaign import seed_campaign
from casework.demo.people import demo_users
from casework.store.campaigns import Campaigns
from casework.store.directory import Directory
from tests.conftest import TEST_KEYRING

CASE_ID = re.compile(r"NM-\d{4}-\d{6}")


@pytest.fixture
def seeded(sqlite_engine: Engine) -> str:
    Directory(sqlite_engine).upsert(demo_users())
    return seed_campaign(sqlite_engine, nominations=120, seed=9).campaign_id


@pytest.fixture
def run(sqlite_engine: Engine, tmp_path: Path, restore_logging: None) -> Callable[..., Any]:
    env = {
        "CASEWORK_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
        "CASEWORK_HOME": str(tmp_path),
        "COLUMNS": "80",
    }

    def invoke(*args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        assert all(cell_len(line) <= 80 for line in result.stdout.splitlines())
        return result

    return invoke


def test_show_counts_stages_and_lists_what_the_filters_choose(
    run: Callable[..., Any], seeded: str, sqlite_engine: Engine
) -> None:
    seen = Campaigns(sqlite_engine).overview(seeded)
    stages = Counter(n.outcome or n.stage for n in seen.nominations)
    show = ["campaign", "show", seeded, "--as", "city.officer1"]

    text = run(*show).stdout
    assert not CASE_ID.search(text)  # 120 nominations: counted, not listed
    assert "--all" in text and "崇川区" in text and "剩余 left" in text
    for stage, count in stages.items():  # each stage's key beside its count
        assert re.search(rf"{stage}\s+│\s+{count} │", text), (stage, count, text)
    assert re.search(r"合计 total\s+│\s+│\s+120 │", text)

    everything = run(*show, "--all").stdout
    assert CASE_ID.findall(everything) == [n.case_id for n in seen.nominations]
    assert "┃" not in everything.split("推荐 nominations")[-1]  # plain lines, not a table

    tongzhou = CASE_ID.findall(run(*show, "--district", "通州区").stdout)
    assert tongzhou == [n.case_id for n in seen.nominations if n.district == "通州区"]
    stage, _ = stages.most_common(1)[0]
    both = CASE_ID.findall(run(*show, "--district", "通州区", "--stage", stage).stdout)
    wanted = [
        n.case_id
        for n in seen.nominations
        if n.district == "通州区" and (n.outcome or n.stage) == stage
    ]
    assert both == wanted and 0 < len(wanted) < len(tongzhou)

    whole = json.loads(run(*show, "--json").stdout)
    assert len(whole["nominations"]) == 120 and whole["quotas"]
    narrowed = json.loads(run(*show, "--json", "--stage", stage).stdout)
    assert [n["case_id"] for n in narrowed["nominations"]] == [
        n.case_id for n in seen.nominations if (n.outcome or n.stage) == stage
    ]
    assert narrowed["quotas"] == whole["quotas"]


def test_a_filter_naming_nothing_here_is_refused_by_its_option(
    run: Callable[..., Any], seeded: str
) -> None:
    show = ["campaign", "show", seeded, "--as", "city.officer1"]
    wrong = run(*show, "--district", "海安市", code=2)
    assert "--district" in wrong.stderr and "崇川区" in wrong.stderr
    wrong = run(*show, "--stage", "finished", code=2)
    assert "--stage" in wrong.stderr and "joint_vetting" in wrong.stderr
    # District staff see their own district's nominations only, filters or not.
    mine = CASE_ID.findall(
        run("campaign", "show", seeded, "--as", "tongzhou.officer1", "--all").stdout
    )
    assert mine and all(
        n in CASE_ID.findall(run(*show, "--district", "通州区").stdout) for n in mine
    )
