"""Audit demo projects (工会经费审计): `make run` seeds two, worked the way the city's
audit committee and the audited districts would, through the same service the CLI uses.

- 崇川区's hardship relief money (a special audit, the README's project): notice,
  fieldwork and four findings, the draft, 崇川区's reply, the lead's report; then one
  finding rectified and accepted, one rejected and being reworked, one reported and
  waiting for the auditor's check, and one nobody reported, overdue once the demo's
  rectification period ends (`casework stuck`).
- 通州区's income and expenditure: two findings, the draft sent, the unit's reply
  awaited (in tongzhou.officer1's inbox).

Who: `city.auditlead` opens each project and signs the report, `city.auditor` and
`city.auditor2` are its team, the audited district's `officer1` replies and rectifies.
The demo configuration (casework/demo/config.toml) lets fieldwork start on the day of
the notice and makes a rectification due within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casework.domain.audit import CASE_TYPE, AuditAction, AuditApplication, Finding, findings
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action, CaseView
from casework.service import CaseService
from casework.store.directory import Directory
from casework.store.queries import Queries

LEAD, AUDITOR, AUDITOR2 = "city.auditlead", "city.auditor", "city.auditor2"
UNIT = {"崇川区": "chongchuan.officer1", "通州区": "tongzhou.officer1"}

RELIEF_FINDINGS: list[dict[str, Any]] = [
    {
        "finding_type": "irregular_spending",
        "amount_fen": 1_250_000,
        "description": "帮扶资金列支职工疗休养费用 12,500 元",
        "evidence": "底稿 W-03，凭证 2025-07-112",
    },
    {
        "finding_type": "over_standard",
        "amount_fen": 860_000,
        "description": "送温暖慰问品采购单价超过标准，涉及 43 户",
        "evidence": "底稿 W-07，采购合同 CG-2025-018",
    },
    {
        "finding_type": "invalid_receipts",
        "amount_fen": 0,
        "description": "12 笔医疗救助发放缺少受助人签收凭证",
        "evidence": "底稿 W-09，发放清册第 3-5 页",
    },
    {
        "finding_type": "internal_control",
        "amount_fen": 0,
        "description": "帮扶资金审批与发放由同一人经办，未分设岗位",
        "evidence": "底稿 W-11，访谈记录",
    },
]

INCOME_FINDINGS: list[dict[str, Any]] = [
    {
        "finding_type": "unrecorded_income",
        "amount_fen": 4_200_000,
        "description": "上级补助收入 42,000 元未及时入账",
        "evidence": "底稿 T-02，银行对账单 2025-09",
    },
    {
        "finding_type": "invalid_receipts",
        "amount_fen": 318_000,
        "description": "职工活动支出以收据代替发票入账",
        "evidence": "底稿 T-05，凭证 2025-11-034",
    },
]


def today() -> str:
    return datetime.now(CHINA_TZ).date().isoformat()


def project(district: str, **fields: Any) -> AuditApplication:
    slug = {"崇川区": "崇川区总工会", "通州区": "通州区总工会"}[district]
    return AuditApplication.model_validate(
        {
            "title": f"{slug}2025年度困难职工帮扶资金专项审计",
            "audit_type": "special",
            "subject": "困难职工帮扶资金",
            "audited_unit": slug,
            "district": district,
            "lead": LEAD,
            "team": f"{AUDITOR}, {AUDITOR2}",
            "fieldwork_starts_on": today(),
            **fields,
        }
    )


@dataclass
class AuditDriver:
    """Opens audit projects and acts on them as the audit team and the unit would."""

    service: CaseService
    directory: Directory
    queries: Queries
    log: list[str] = field(default_factory=list)

    async def open(self, app: AuditApplication) -> CaseView:
        view = await self.service.open_case(CASE_TYPE, app, self.directory.get(LEAD).actor())
        self.log.append(f"{view.case_id} opened by {LEAD}: {app.title}")
        return view

    async def act(
        self,
        view: CaseView,
        who: str,
        action: Action | str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
        task_id: str | None = None,
    ) -> CaseView:
        actor = self.directory.get(who).actor()
        new = await self.service.act(view.case_id, actor, action, comment, data, task_id=task_id)
        self.log.append(f"{view.case_id} {who} {action} -> {new.stage}")
        return new

    def findings(self, view: CaseView) -> dict[str, Finding]:
        return {f.id: f for f in findings(self.queries.case_state(view.case_id))}

    async def through_fieldwork(self, view: CaseView, found: list[dict[str, Any]]) -> CaseView:
        """The notice (fieldwork today), fieldwork and its findings, the draft sent."""
        view = await self.act(view, AUDITOR, Action.APPROVE, "审计通知书已送达被审计单位")
        view = await self.act(view, AUDITOR, AuditAction.START_FIELDWORK, "审计组进点")
        for n, finding in enumerate(found):
            who = AUDITOR if n % 2 == 0 else AUDITOR2
            view = await self.act(view, who, AuditAction.RECORD_FINDING, None, finding)
        return await self.act(
            view, AUDITOR, Action.APPROVE, "征求意见稿：审计发现问题如附件，请于十日内书面反馈"
        )

    async def report(self, view: CaseView) -> CaseView:
        view = await self.act(
            view, UNIT[view.district], Action.APPROVE, "对征求意见稿无异议", {"objection": False}
        )
        return await self.act(
            view, LEAD, Action.APPROVE, "审计报告和审计决定：各项问题限期六十日内整改到位"
        )

    async def rectify(self, view: CaseView, finding_id: str, report: str) -> CaseView:
        task = self.findings(view)[finding_id].task_id
        return await self.act(view, UNIT[view.district], Action.APPROVE, report, task_id=task)

    async def check(
        self, view: CaseView, finding_id: str, accept: bool, conclusion: str
    ) -> CaseView:
        task = self.findings(view)[finding_id].task_id
        if accept:
            return await self.act(
                view,
                AUDITOR,
                AuditAction.ACCEPT_RECTIFICATION,
                conclusion,
                {"closure": "rectified"},
                task,
            )
        return await self.act(
            view, AUDITOR, AuditAction.REJECT_RECTIFICATION, conclusion, None, task
        )


async def seed_audits(driver: AuditDriver) -> list[CaseView]:
    """The two demo projects (module docstring), one after the other."""
    relief = await driver.open(project("崇川区"))
    relief = await driver.through_fieldwork(relief, RELIEF_FINDINGS)
    relief = await driver.report(relief)
    # F1 rectified and accepted; F2 rejected, back with the unit; F3 waits for the
    # auditor's check; F4 nobody reports: overdue when the demo's period ends.
    relief = await driver.rectify(relief, "F1", "已将疗休养费用 12,500 元调回工会经费账户")
    relief = await driver.rectify(relief, "F2", "已制定慰问品采购标准")
    relief = await driver.rectify(relief, "F3", "已补齐 12 笔医疗救助的签收凭证")
    relief = await driver.check(relief, "F1", True, "款项已调回，账务处理正确")
    relief = await driver.check(
        relief, "F2", False, "仅制定标准，超标准部分 8,600 元未追回，请追回后重新报送"
    )
    income = await driver.open(
        project(
            "通州区",
            title="通州区总工会2025年度经费收支审计",
            audit_type="income_expenditure",
            subject=None,
        )
    )
    income = await driver.through_fieldwork(income, INCOME_FINDINGS)
    return [relief, income]
