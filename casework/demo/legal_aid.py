"""Legal-aid demo cases (工会法律援助): applications at the federation's 14 legal-aid
stations, worked the way officers and lawyers would, through the same service the CLI
uses. `make run` seeds one case per station at different stages (`seed_legal_aid`);
`casework demo` drives three to their end (`legal_aid_demo`).

Who works a case: the station's district decides. In the demo districts (崇川区, 通州区,
海门区) `{slug}.legalaid` records the application and `{slug}.legalaid2` reviews,
assigns, checks the report and calls the worker back (the opener never works their own
case); `{slug}.lawyer` or `{slug}.lawyer2` handles it. Elsewhere the city's legal-aid
centre does: `city.legalaid`, `city.legalaid2`, `city.lawyer`, `city.lawyer2`.

Dates are relative to today (Beijing): the worker knew of the infringement months ago,
the steps of a case under way happened in the weeks before it was entered, an award
days ago (so its 15 days to sue are running), and one case is about 11 months into its
one-year limitation without arbitration filed (warned, listed by `casework stuck`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from casework.demo.seed import DISTRICT_SLUG, demo_id_number
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action, CaseView
from casework.domain.legal_aid import (
    CASE_TYPE,
    RECORD_STEP,
    STATIONS,
    DisputeType,
    LegalAidApplication,
    StepKind,
)
from casework.service import CaseService
from casework.store.directory import Directory

OPENER, REVIEWER, LAWYER, LAWYER2 = "legalaid", "legalaid2", "lawyer", "lawyer2"
"""Who does what on a legal-aid case (`staff`)."""


def staff(district: str, who: str) -> str:
    """The demo user who does `who` for a station in `district`: the district's own
    legal-aid staff in the demo districts, the city's legal-aid centre elsewhere."""
    slug = DISTRICT_SLUG.get(district)
    return f"{slug}.{who}" if slug else f"city.{who}"


def today() -> date:
    return datetime.now(CHINA_TZ).date()


@dataclass(frozen=True)
class Worker:
    """A demo worker who asks for legal aid, and their dispute."""

    name: str
    employer: str
    dispute_type: DisputeType
    claim_yuan: int
    monthly_income_yuan: int
    summary: str
    migrant_worker: bool = False
    employer_address: str | None = None


WORKERS: dict[str, Worker] = {
    "arrears": Worker(
        "孙建国",
        "南通某建筑劳务有限公司",
        DisputeType.WAGE_ARREARS,
        23_600,
        3_800,
        "工地完工后拖欠三个月工资共 23,600 元，多次讨要未果。",
        migrant_worker=True,
        employer_address="崇川区工农路 1 号",
    ),
    "injury": Worker(
        "周德明",
        "通州某钢结构工程有限公司",
        DisputeType.WORK_INJURY,
        86_000,
        4_200,
        "高处作业坠落致右腿骨折，已认定工伤（九级），单位拒付一次性伤残补助金。",
        migrant_worker=True,
    ),
    "dismissal": Worker(
        "吴丽华",
        "南通某家纺制品有限公司",
        DisputeType.DISMISSAL,
        48_000,
        1_900,
        "怀孕期间被单位以“严重违纪”为由解除劳动合同，要求支付违法解除赔偿金。",
    ),
    "insurance": Worker(
        "郑海峰",
        "海门某机械配件厂",
        DisputeType.SOCIAL_INSURANCE,
        31_500,
        2_100,
        "入职三年单位未缴纳社会保险，离职后要求补缴并赔偿失业保险待遇损失。",
    ),
    "overtime": Worker(
        "冯晓燕",
        "南通开发区某电子有限公司",
        DisputeType.OTHER,
        12_400,
        2_000,
        "长期安排休息日加班未支付加班费，计 12,400 元。",
    ),
    "small": Worker(
        "陈小兵",
        "通州某餐饮店",
        DisputeType.WAGE_ARREARS,
        600,
        2_000,
        "离职时被扣押最后半个月工资 600 元。",
    ),
}


def application(
    index: int,
    station: str,
    worker: Worker,
    *,
    knew_days_ago: int = 60,
    ended_days_ago: int | None = None,
) -> LegalAidApplication:
    """The application of demo worker `worker` at `station`, who knew of the
    infringement `knew_days_ago` days ago (and left the employer `ended_days_ago` days
    ago; for wage arrears, the day the limitation runs from: `knew_days_ago` if None)."""
    district = STATIONS[station].district
    knew_at = today() - timedelta(days=knew_days_ago)
    if ended_days_ago is None and worker.dispute_type is DisputeType.WAGE_ARREARS:
        ended_days_ago = knew_days_ago
    data: dict[str, Any] = {
        "applicant": {
            "name": worker.name,
            "id_number": demo_id_number(500 + index),
            "phone": f"1390000{index:04d}",
            "employer": worker.employer,
            "district": district,
        },
        "employer": {
            "name": worker.employer,
            **({"address": worker.employer_address} if worker.employer_address else {}),
        },
        "dispute_type": worker.dispute_type.value,
        "migrant_worker": worker.migrant_worker,
        "monthly_income_fen": worker.monthly_income_yuan * 100,
        "knew_at": knew_at.isoformat(),
        "claim_amount_fen": worker.claim_yuan * 100,
        "station": station,
        "summary": worker.summary,
    }
    if ended_days_ago is not None:
        data["employment_ended_at"] = (today() - timedelta(days=ended_days_ago)).isoformat()
    return LegalAidApplication.model_validate(data)


@dataclass
class LegalAidDriver:
    """Opens legal-aid cases and acts on them as the station's staff would."""

    service: CaseService
    directory: Directory
    log: list[str] = field(default_factory=list)

    async def open(self, app: LegalAidApplication) -> CaseView:
        actor = self.directory.get(staff(app.case_district(), OPENER)).actor()
        view = await self.service.open_case(CASE_TYPE, app, actor)
        self.log.append(f"{view.case_id} opened by {actor.id} at {app.station}")
        return view

    async def act(
        self,
        view: CaseView,
        who: str,
        action: Action | str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> CaseView:
        actor = self.directory.get(staff(view.district, who)).actor()
        new = await self.service.act(view.case_id, actor, action, comment, data)
        self.log.append(f"{view.case_id} {actor.id} {action} -> {new.stage}")
        return new

    async def accept(self, view: CaseView, lawyer: str = LAWYER, **data: Any) -> CaseView:
        """受理 then 指派: the second officer accepts and assigns the lawyer."""
        view = await self.act(view, REVIEWER, Action.APPROVE, "符合受理条件，予以受理", data)
        return await self.act(
            view,
            REVIEWER,
            Action.APPROVE,
            "指派承办",
            {"lawyer": staff(view.district, lawyer)},
        )

    async def step(
        self, view: CaseView, kind: StepKind, days_ago: int, note: str, **amounts: int
    ) -> CaseView:
        """The assigned lawyer records a step that happened `days_ago` days ago."""
        lawyer = view.open_task.assignee if view.open_task else None
        assert lawyer is not None, f"{view.case_id}: no lawyer assigned"
        actor = self.directory.get(lawyer).actor()
        on = (today() - timedelta(days=days_ago)).isoformat()
        data: dict[str, Any] = {"kind": kind.value, "on": on, **amounts}
        new = await self.service.act(view.case_id, actor, RECORD_STEP, note, data)
        self.log.append(f"{view.case_id} {actor.id} record-step {kind.value} {on}")
        return new

    async def lawyer_acts(
        self,
        view: CaseView,
        action: Action | str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> CaseView:
        lawyer = view.open_task.assignee if view.open_task else None
        assert lawyer is not None, f"{view.case_id}: no lawyer assigned"
        new = await self.service.act(
            view.case_id, self.directory.get(lawyer).actor(), action, comment, data
        )
        self.log.append(f"{view.case_id} {lawyer} {action} -> {new.stage}")
        return new

    async def report(self, view: CaseView, result: str, recovered_yuan: int, text: str) -> CaseView:
        """The lawyer ends the handling and submits the closing report (结案报告)."""
        view = await self.lawyer_acts(view, Action.APPROVE, "承办完毕")
        return await self.lawyer_acts(
            view,
            Action.APPROVE,
            text,
            {"result": result, "recovered_fen": recovered_yuan * 100},
        )

    async def check(self, view: CaseView) -> CaseView:
        """The officer checks the closing report (结案审查)."""
        return await self.act(view, REVIEWER, Action.APPROVE, "结案材料齐全，同意结案")

    async def follow_up(self, view: CaseView, satisfaction: int, note: str) -> CaseView:
        """The officer calls the worker back (回访): satisfaction 1 to 5; the case closes."""
        return await self.act(view, REVIEWER, Action.APPROVE, note, {"satisfaction": satisfaction})


# -- make run: one case per station, at different stages ----------------------------------


Then = Callable[["LegalAidDriver", CaseView], Coroutine[Any, Any, CaseView]]
"""What happens to a case once opened."""


async def _stays(d: LegalAidDriver, view: CaseView) -> CaseView:
    return view


def _stories() -> list[tuple[LegalAidApplication, Then]]:
    """What happened so far at each of the 14 stations (one case each), in the order
    the cases are numbered. Step dates keep the rules' times: an award within 60 days of
    filing, the closing report within 30 days of the last step."""
    w = WORKERS
    s = StepKind

    async def accepted(d: LegalAidDriver, view: CaseView) -> CaseView:
        return await d.act(view, REVIEWER, Action.APPROVE, "工伤已认定，农民工免予经济困难审查")

    async def settled_and_closed(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view)
        view = await d.step(
            view, s.MEDIATION, 40, "仲裁院调解，单位同意分两期支付", recovered_fen=1_200_000
        )
        view = await d.step(
            view, s.SETTLEMENT, 25, "第二期款项到账，双方签订和解协议", recovered_fen=1_160_000
        )
        view = await d.report(view, "settled", 23_600, "调解结案，欠薪 23,600 元全部追回")
        view = await d.check(view)
        return await d.follow_up(view, 5, "电话回访：工资已全部到账，非常满意")

    async def near_limitation(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view)
        return await d.step(
            view, s.CONSULTATION, 2, "仲裁时效将届满，须尽快收集解除通知、工资流水后申请仲裁"
        )

    async def arbitration_filed(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view, lawyer=LAWYER2)
        view = await d.step(view, s.CONSULTATION, 30, "核对加班记录与工资条")
        return await d.step(
            view,
            s.ARBITRATION_FILED,
            12,
            "向崇川区劳动人事争议仲裁院申请仲裁",
            claimed_fen=1_240_000,
        )

    async def award_time_to_sue(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view)
        view = await d.step(
            view,
            s.ARBITRATION_FILED,
            60,
            "申请劳动仲裁，主张一次性伤残补助金等",
            claimed_fen=8_600_000,
        )
        view = await d.step(view, s.HEARING, 30, "仲裁开庭，单位对伤残等级无异议")
        return await d.step(view, s.AWARD, 4, "裁决单位支付 86,000 元；单位可能起诉，关注起诉期限")

    async def refused(d: LegalAidDriver, view: CaseView) -> CaseView:
        return await d.act(
            view,
            REVIEWER,
            Action.REJECT,
            "争议金额 600 元，低于法律援助受理标准 1,000 元，不予受理；"
            "已告知申请人可向劳动保障监察大队投诉",
        )

    async def report_to_check(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view, lawyer=LAWYER2)
        view = await d.step(view, s.ARBITRATION_FILED, 75, "申请仲裁", claimed_fen=3_150_000)
        view = await d.step(
            view, s.AWARD, 21, "裁决支持失业保险待遇损失 18,000 元", recovered_fen=1_800_000
        )
        return await d.report(
            view, "partly", 18_000, "部分支持：补缴社保不属仲裁受理范围，已告知向社保稽核部门投诉"
        )

    async def won_and_closed(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view)
        view = await d.step(view, s.ARBITRATION_FILED, 250, "申请仲裁", claimed_fen=8_600_000)
        view = await d.step(view, s.AWARD, 200, "裁决支持全部请求")
        view = await d.step(view, s.LAWSUIT_FILED, 190, "单位不服起诉，代理申请人应诉")
        view = await d.step(
            view, s.JUDGMENT, 20, "一审判决驳回单位诉讼请求，款项已执行", recovered_fen=8_600_000
        )
        view = await d.report(view, "won", 86_000, "胜诉，判决已执行完毕")
        view = await d.check(view)
        return await d.follow_up(view, 4, "电话回访：款项已到账，对律师服务满意")

    async def report_due(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view)
        view = await d.step(
            view, s.SETTLEMENT, 20, "调解成功，单位当场支付并签订调解协议", recovered_fen=2_360_000
        )
        return await d.lawyer_acts(view, Action.APPROVE, "承办完毕，准备结案报告")

    async def follow_up_due(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view)
        view = await d.step(view, s.ARBITRATION_FILED, 75, "申请仲裁", claimed_fen=1_240_000)
        view = await d.step(view, s.AWARD, 25, "裁决支持加班费 9,800 元", recovered_fen=980_000)
        view = await d.report(view, "partly", 9_800, "部分支持，单位已履行")
        return await d.check(view)

    async def accepted_late(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(
            view, late_reason="申请人被解除后即住院治疗五个月，属时效中止事由，由仲裁委认定"
        )
        return await d.step(view, s.CONSULTATION, 3, "收集住院病历，准备时效中止的证据")

    async def mediating(d: LegalAidDriver, view: CaseView) -> CaseView:
        view = await d.accept(view, lawyer=LAWYER2)
        return await d.step(
            view,
            s.MEDIATION,
            10,
            "首次调解，单位先行支付 5,000 元，余款再议",
            recovered_fen=500_000,
        )

    # The longest stories at the first stations (the city's): they start first.
    return [
        (application(1, "city-centre", w["injury"], knew_days_ago=300), won_and_closed),
        (application(2, "city-court", w["arrears"], knew_days_ago=120), settled_and_closed),
        (application(3, "city-arbitration", w["overtime"], knew_days_ago=130), follow_up_due),
        # dismissed about 11 months ago, came late: the one-year limitation ends in about
        # 25 days and arbitration is not filed yet (warned 60 and 30 days before)
        (application(4, "chongchuan-court", w["dismissal"], knew_days_ago=340), near_limitation),
        (
            application(5, "chongchuan-arbitration", w["overtime"], knew_days_ago=90),
            arbitration_filed,
        ),
        # an award 4 days ago: 11 of the 15 days to sue left
        (application(6, "tongzhou-court", w["injury"], knew_days_ago=200), award_time_to_sue),
        # a dispute of 600 元: refused at acceptance
        (application(7, "tongzhou-arbitration", w["small"], knew_days_ago=20), refused),
        (application(8, "haimen-court", w["insurance"], knew_days_ago=150), report_to_check),
        # awaiting the acceptance review
        (application(9, "haimen-arbitration", w["insurance"], knew_days_ago=25), _stays),
        # accepted, awaiting the assignment
        (application(10, "haian-court", w["injury"], knew_days_ago=75), accepted),
        (application(11, "rugao-court", w["arrears"], knew_days_ago=80), report_due),
        # awaiting the acceptance review
        (application(12, "rudong-arbitration", w["dismissal"], knew_days_ago=40), _stays),
        # knew 13 months ago: the limitation passed; accepted with the reason
        (application(13, "qidong-court", w["dismissal"], knew_days_ago=395), accepted_late),
        (application(14, "kaifaqu-arbitration", w["overtime"], knew_days_ago=50), mediating),
    ]


async def seed_legal_aid(driver: LegalAidDriver) -> list[CaseView]:
    """One legal-aid case at each of the 14 stations, at different stages (`make run`).
    Opened one after the other (LA-<year>-000001 is the first station's), each worked on
    as soon as it is open."""
    work: list[asyncio.Task[CaseView]] = []
    for app, then in _stories():
        view = await driver.open(app)
        work.append(asyncio.create_task(then(driver, view)))
    return list(await asyncio.gather(*work))


# -- casework demo: three cases to their end ------------------------------------------------


async def legal_aid_demo(driver: LegalAidDriver, run: int) -> list[CaseView]:
    """Three legal-aid cases, opened in this order: settled and closed after the
    follow-up; refused at acceptance (the dispute is too small); the closing report
    returned once, then closed. At stations of different districts that change from run
    to run (`run`: how many legal-aid cases there are already)."""
    stations = list(STATIONS)
    first = 100 + run  # demo workers' ID numbers apart from the seeded cases'

    def at(k: int) -> str:
        return stations[(run + 5 * k) % len(stations)]

    async def settled(view: CaseView) -> CaseView:
        view = await driver.accept(view)
        view = await driver.step(view, StepKind.CONSULTATION, 7, "核对欠条与考勤")
        view = await driver.step(
            view, StepKind.SETTLEMENT, 1, "单位支付全部欠薪，签订和解协议", recovered_fen=2_360_000
        )
        view = await driver.report(view, "settled", 23_600, "和解结案，欠薪全部追回")
        view = await driver.check(view)
        return await driver.follow_up(view, 5, "电话回访：工资已到账，满意")

    async def refused(view: CaseView) -> CaseView:
        return await driver.act(
            view,
            REVIEWER,
            Action.REJECT,
            "争议金额 600 元，低于受理标准 1,000 元，不予受理；已告知可向劳动保障监察投诉",
        )

    async def returned(view: CaseView) -> CaseView:
        view = await driver.accept(view, lawyer=LAWYER2)
        view = await driver.step(
            view, StepKind.ARBITRATION_FILED, 30, "申请仲裁", claimed_fen=4_800_000
        )
        view = await driver.step(
            view, StepKind.AWARD, 0, "裁决支持违法解除赔偿金 48,000 元", recovered_fen=4_800_000
        )
        view = await driver.report(view, "won", 48_000, "裁决支持全部请求")
        view = await driver.act(view, REVIEWER, Action.RETURN, "请附仲裁裁决书及执行情况后重新提交")
        view = await driver.lawyer_acts(
            view,
            Action.APPROVE,
            "已补附裁决书；单位已按裁决履行",
            {"result": "won", "recovered_fen": 4_800_000},
        )
        view = await driver.check(view)
        return await driver.follow_up(view, 4, "电话回访：赔偿金已到账，满意")

    cases = [
        (application(first, at(0), WORKERS["arrears"], knew_days_ago=45), settled),
        (application(first + 1, at(1), WORKERS["small"], knew_days_ago=10), refused),
        (application(first + 2, at(2), WORKERS["dismissal"], knew_days_ago=60), returned),
    ]
    work = []
    for app, then in cases:
        view = await driver.open(app)
        work.append(asyncio.create_task(then(view)))
    return list(await asyncio.gather(*work))
