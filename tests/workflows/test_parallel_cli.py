"""Several open tasks in one case on the command line (a real worker on the
time-skipping server): `act CASE ACTION --task TASK_ID` for officers and supervisors
alike, refused naming `task_id` when the choice is left open or the id is not one;
`case show` lists each task with its id, assignee, due date and marks (`--json` too);
`inbox` and `stuck` list each task and print its id whole at 80 columns; `board`
counts tasks. The cases are the test-only parallel process's (tests/parallel.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.calendar import CHINA_TZ
from tests.conftest import TEST_KEYRING
from tests.workflows.pt import (
    OFFICER,
    OFFICER2,
    SUPERVISOR,
    Parallel,
    own_server,  # noqa: F401 - the `env` fixture
    parallel_cases,  # noqa: F401 - the `pt` fixture
)
from tests.workflows.steps import settled_state, sleep_until


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


class Cli:
    def __init__(self, pt: Parallel, home: Path) -> None:
        h = pt.h
        self.env = {
            "CASEWORK_DATABASE_URL": h.engine.url.render_as_string(hide_password=False),
            "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
            "CASEWORK_HOME": str(home),
            "CASEWORK_LOG_JSON": "true",
            "CASEWORK_TEMPORAL_ADDRESS": h.env.client.service_client.config.target_host,
            "CASEWORK_TASK_QUEUE": h.service.task_queue,
            "COLUMNS": "80",
        }

    def run(self, *args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    async def act(self, *args: str, code: int = 0) -> Any:
        """A command that sends to Temporal: off the event loop the worker runs on."""
        return await asyncio.to_thread(self.run, "act", *args, code=code)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


def whole(text: str, *ids: str) -> bool:
    """Every id printed, and wherever it is, whole (never cut short, never broken
    across lines)."""
    return all(i in text and text.count(i[:8]) == text.count(i) for i in ids)


async def test_officers_and_supervisors_name_the_task(pt: Parallel, tmp_path: Path) -> None:
    h = pt.h
    cli = Cli(pt, tmp_path)
    cid, (first, second, third) = await pt.with_findings(
        "账实不符", "超标准列支", "票据不全", assignee=OFFICER
    )

    inbox = cli.run("inbox", "--as", OFFICER2).stdout
    assert whole(inbox, cid, second, third) and first not in inbox
    assert "--task" in inbox
    listed = cli.json("inbox", "--as", OFFICER2)
    assert [(i["case_id"], i["task_id"], i["parallel"]) for i in listed] == [
        (cid, second, True),
        (cid, third, True),
    ]

    refused = await cli.act(cid, "claim", "--as", OFFICER2, code=2)
    assert "task_required" in refused.stderr and "task_id" in refused.stderr
    refused = await cli.act(cid, "claim", "--as", OFFICER2, "--task", "no such", code=2)
    assert "invalid_task_id" in refused.stderr and "Traceback" not in refused.stderr
    refused = await cli.act(cid, "approve", "--as", OFFICER2, "--task", first, "-m", "x", code=2)
    assert "already_taken" in refused.stderr
    done = await cli.act(cid, "claim", "--as", OFFICER2, "--task", second, "--json")
    shown = {t["task_id"]: t["assignee"] for t in json.loads(done.stdout)["parallel_tasks"]}
    assert shown == {first: OFFICER, second: OFFICER2, third: None}

    # Supervisors: one task each.
    s = await settled_state(h, cid)
    due = s.parallel[first].due_at
    assert due is not None
    until = ((due - timedelta(microseconds=1)).astimezone(CHINA_TZ) + timedelta(days=7)).date()
    await cli.act(
        cid, "extend", "--as", SUPERVISOR, "--task", first, "--until", until.isoformat(),
        "-m", "延期",
    )  # fmt: skip
    await cli.act(cid, "hold", "--as", SUPERVISOR, "--task", third, "-m", "等待审计结论")
    refused = await cli.act(cid, "resume", "--as", SUPERVISOR, "-m", "恢复", code=2)
    assert "task_required" in refused.stderr
    await cli.act(
        cid, "reassign", "--as", SUPERVISOR, "--task", second, "--to", OFFICER, "-m", "改派"
    )

    await sleep_until(h, due + timedelta(minutes=1))
    await settled_state(h, cid)
    at = (due + timedelta(hours=1)).astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")

    # case show: each task with its id whole, its assignee, due day and marks.
    text = cli.run("case", "show", cid).stdout
    assert whole(text, cid, first, second, third)
    blocks = {t: text[text.index(t) :] for t in (first, second, third)}
    assert "超期 overdue" in blocks[second].split("并行任务")[0]
    assert "计时暂停 clock paused" in blocks[third].split("并行任务")[0]
    assert until.isoformat() in blocks[first].split("并行任务")[0]
    shown_json = cli.json("case", "show", cid)
    marks = {
        t["task_id"]: (t["assignee"], t["overdue"], t["escalated"], t["paused"])
        for t in shown_json["parallel_tasks"]
    }
    assert marks == {
        first: (OFFICER, False, False, False),
        second: (OFFICER, True, False, False),
        third: (None, False, False, True),
    }
    clocks = {c["task_id"]: c for c in shown_json["parallel_task_clocks"]}
    assert set(clocks) == {first, second, third}
    # (Counted from the wall clock's today, which the test server's time has left behind.)
    assert clocks[second]["due_at"] == due.isoformat().replace("+00:00", "Z")
    assert clocks[third]["paused"] and clocks[third]["pause_reason"] == "hold"
    assert shown_json["open_task"] is None and shown_json["task_clock"] is None

    # stuck: the past-due task on its own, its id whole; board: tasks counted.
    stuck = cli.json("stuck", "--as", SUPERVISOR, "--at", at)
    assert [(i["case_id"], i["task_id"]) for i in stuck] == [(cid, second)]
    # Two days on, nothing recorded since: each open task idle (the late one listed
    # once, as late), however many the case holds.
    later = (due + timedelta(days=2)).astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")
    idle = cli.json("stuck", "--as", SUPERVISOR, "--at", later, "--idle-days", "0")
    assert sorted((i["task_id"], i["reason"]) for i in idle) == sorted(
        [(first, "idle"), (second, "overdue"), (third, "idle")]
    )
    table = cli.run("stuck", "--as", SUPERVISOR, "--at", later, "--idle-days", "0").stdout
    assert whole(table, cid, first, second, third)
    board = cli.json("board", "--as", SUPERVISOR, "--at", at)
    [row] = [r for r in board if r["stage"] == "rectification"]
    assert (row["open"], row["overdue"], row["escalated"]) == (3, 1, 0)

    # Approvals per task: the case closes with the last.
    await cli.act(cid, "approve", "--as", OFFICER, "--task", first, "-m", "已整改")
    await cli.act(cid, "approve", "--as", OFFICER, "--task", second, "-m", "已整改")
    await cli.act(cid, "resume", "--as", SUPERVISOR, "--task", third, "-m", "恢复")
    closed = json.loads(
        (
            await cli.act(
                cid, "approve", "--as", OFFICER2, "--task", third, "-m", "已整改", "--json"
            )
        ).stdout
    )
    assert (closed["status"], closed["outcome"], closed["parallel_tasks"]) == (
        "closed",
        "approved",
        [],
    )
