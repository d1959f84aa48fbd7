"""What `casework case show` prints of a legal-aid case (`LEGAL_AID.sheet_lines`): the
stage in words, the station, the dispute and its acceptance conditions, the lawyer and
each recorded step, the closing report and the follow-up; decided by the pure process,
as the workflow would, from the examples' files."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casework.demo.people import demo_users
from casework.domain.case import (
    Action,
    ActRequest,
    CaseState,
    Context,
    NewEvent,
    Refused,
    decide,
    evolve_all,
)
from casework.domain.legal_aid import (
    APPLICATION_EXAMPLE,
    LEGAL_AID,
    RECORD_STEP,
    LegalAidApplication,
    StartLegalAidCase,
)

EXAMPLES = Path(__file__).parent.parent.parent / "examples"
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
PEOPLE = {u.id: u.actor() for u in demo_users()}


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


class Case:
    """A legal-aid case decided by the pure process: its state and every event."""

    def __init__(self, application: dict[str, Any]) -> None:
        ids = itertools.count(1)
        self.process = LEGAL_AID.new_process()
        self.ctx = Context(now=NOW, new_id=lambda: f"e{next(ids)}")
        app = LegalAidApplication.model_validate(application)
        start = StartLegalAidCase(
            case_id="LA-2026-000001",
            opened_by=PEOPLE["chongchuan.legalaid"],
            application=app.masked(),
        )
        blank = CaseState(case_id=start.case_id)
        self.events: list[NewEvent] = self.process.open(start, blank, self.ctx)  # type: ignore[attr-defined]
        self.state = evolve_all(blank, self.events)

    def act(self, who: str, action: Action | str, comment: str, data: Any = None) -> None:
        req = ActRequest(actor=PEOPLE[who], action=action, comment=comment, data=data or {})
        events = decide(self.process, self.state, req, self.ctx)
        self.events += events
        self.state = evolve_all(self.state, events)

    def sheet(self) -> dict[str, list[str]]:
        assert LEGAL_AID.sheet_lines is not None
        rows: dict[str, list[str]] = {}
        label = ""
        for name, text in LEGAL_AID.sheet_lines(self.state, self.events):
            label = name or label  # a row without a label continues the one above
            rows.setdefault(label, []).append(text)
        return rows


def test_a_case_from_application_to_follow_up_in_words() -> None:
    case = Case(APPLICATION_EXAMPLE)
    sheet = case.sheet()
    assert sheet["阶段 stage"] == [
        "受理审查 acceptance review · 【受理审查】 → 指派承办 → 承办 → 结案报告 → 结案审查 "
        "→ 回访 → 已结案"
    ]
    assert sheet["法律援助站 station"] == ["崇川区劳动人事争议仲裁院工会法律援助工作站 (崇川区)"]
    assert sheet["争议类型 dispute"] == ["拖欠工资 wage arrears · 农民工 migrant worker"]
    assert sheet["用人单位 employer"] == ["南通某建筑劳务有限公司 · 崇川区工农路 1 号"]
    assert sheet["争议金额 claim"] == ["23,600.00 元"]
    assert [t.split(" · ")[0] for t in sheet["受理条件 eligibility"]] == ["符合 met", "符合 met"]
    assert "承办律师 lawyer" not in sheet and "承办进展 step" not in sheet

    officer, lawyer = "chongchuan.legalaid2", "chongchuan.lawyer"
    case.act(officer, Action.APPROVE, "予以受理")
    case.act(officer, Action.APPROVE, "指派", example("legal-aid-assignment.json"))
    case.act(lawyer, RECORD_STEP, "申请仲裁", example("legal-aid-step-arbitration.json"))
    case.act(lawyer, RECORD_STEP, "仲裁裁决", example("legal-aid-step-award.json"))
    sheet = case.sheet()
    assert "【承办】" in sheet["阶段 stage"][0]
    assert sheet["承办律师 lawyer"] == [f"{lawyer} (指派 by {officer})"]
    assert sheet["承办进展 step"] == [
        "2026-07-20 申请劳动仲裁 arbitration filed · 请求 claimed 23,600.00 元 · 申请仲裁",
        "2026-09-01 仲裁裁决 arbitration award · 仲裁裁决",
    ]
    assert sheet["已追回 recovered so far"] == ["0.00 元"]

    case.act(lawyer, Action.APPROVE, "承办完毕")
    case.act(lawyer, Action.APPROVE, "欠薪全部追回", example("legal-aid-closing-report.json"))
    case.act(officer, Action.RETURN, "请附裁决书")
    case.act(lawyer, Action.APPROVE, "已附裁决书", example("legal-aid-closing-report.json"))
    case.act(officer, Action.APPROVE, "同意结案")
    case.act(officer, Action.APPROVE, "电话回访：已到账", example("legal-aid-follow-up.json"))
    sheet = case.sheet()
    assert case.state.status == "closed" and case.state.outcome == "approved"
    assert (
        sheet["阶段 stage"][0].startswith("已结案 closed")
        and "【已结案】" in sheet["阶段 stage"][0]
    )
    assert sheet["结案报告 closing report"] == [
        "胜诉/裁决支持 won · 追回 recovered 23,600.00 元 · 欠薪全部追回",
        "胜诉/裁决支持 won · 追回 recovered 23,600.00 元 · 已附裁决书",
    ]
    assert sheet["结案报告退回 report returned"] == ["请附裁决书"]
    assert sheet["回访 follow-up"] == ["满意度 satisfaction 5/5 · 电话回访：已到账"]
    assert "已追回 recovered so far" not in sheet  # the report says it
    # Nothing personal: the sheet reads the masked application only.
    text = json.dumps(sheet, ensure_ascii=False)
    for personal in (APPLICATION_EXAMPLE["applicant"]["id_number"], "13900000000"):
        assert personal not in text


def test_a_refused_application_shows_the_condition_and_the_reason() -> None:
    case = Case({**APPLICATION_EXAMPLE, "claim_amount_fen": 60_000})
    with pytest.raises(Refused) as refused:
        case.act("chongchuan.legalaid2", Action.APPROVE, "受理")
    assert refused.value.code == "dispute_too_small"
    case.act("chongchuan.legalaid2", Action.REJECT, "争议金额低于 1,000 元，不予受理")
    sheet = case.sheet()
    assert sheet["阶段 stage"] == [
        "受理审查 acceptance review · 于此阶段结案 (closed at this stage)"
    ]
    assert sheet["受理条件 eligibility"][0].startswith("不符合 not met · 争议金额 600.00 元低于")
    assert sheet["不予受理 refused"] == ["争议金额低于 1,000 元，不予受理"]


def test_hardship_keeps_the_review_sheet() -> None:
    from casework.domain.registry import CASE_TYPES

    hardship, legal_aid = CASE_TYPES["hardship"], CASE_TYPES["legal-aid"]
    assert hardship.has_review_sheet and hardship.sheet_lines is None
    assert not legal_aid.has_review_sheet and legal_aid.sheet_lines is not None
