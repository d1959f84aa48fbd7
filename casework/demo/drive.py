"""Drive demo cases the way officers would: through the same service the CLI uses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from casework.demo.legal_aid import LegalAidDriver, legal_aid_demo
from casework.demo.seed import DEMO_APPLICANTS, DISTRICT_SLUG, demo_application, hardship_staff
from casework.domain.case import Action, CaseView
from casework.domain.legal_aid import LEGAL_AID
from casework.service import ActionRefused, CaseService
from casework.store.directory import Directory
from casework.store.queries import Queries


@dataclass
class Driver:
    service: CaseService
    directory: Directory
    queries: Queries
    log: list[str] = field(default_factory=list)
    first_index: int | None = None
    """Where this run's demo people start (`open`)."""

    def who(self, view: CaseView, role: str) -> str:
        return hardship_staff(view.district, role)

    async def act(
        self,
        view: CaseView,
        role: str,
        action: Action | str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
        retry_codes: tuple[str, ...] = ("check_pending",),
        timeout: float = 30.0,
    ) -> CaseView:
        actor = self.directory.get(self.who(view, role)).actor()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                new = await self.service.act(view.case_id, actor, action, comment, data)
                self.log.append(f"{view.case_id} {actor.id} {action} -> {new.stage}")
                return new
            except ActionRefused as refused:
                if refused.code not in retry_codes or loop.time() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def legal_aid(self) -> LegalAidDriver:
        """A driver of legal-aid cases through the same service, writing the same log."""
        return LegalAidDriver(self.service, self.directory, self.log)

    async def wait_stage(self, case_id: str, stages: set[str], timeout: float = 60.0) -> CaseView:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            view = self.queries.case_view(case_id)
            if view.stage in stages or view.status == "closed":
                return view
            if loop.time() > deadline:
                raise TimeoutError(f"{case_id} still at {view.stage} after {timeout:.0f}s")
            await asyncio.sleep(0.2)

    async def open(self, index: int, **overrides: Any) -> CaseView:
        if self.first_index is None:
            # One person may have one application or file at a time: the demo people of
            # earlier runs (and the seeded cases) may still have theirs, so this run
            # takes new people of the same kinds.
            seen = len(self.queries.case_ids())
            self.first_index = -(-seen // DEMO_APPLICANTS) * DEMO_APPLICANTS
        app = demo_application(self.first_index + index, **overrides)
        slug = DISTRICT_SLUG[app.applicant.district]
        actor = self.directory.get(f"{slug}.grassroots1").actor()
        view = await self.service.open_hardship(app, actor)
        self.log.append(f"{view.case_id} opened by {actor.id}")
        return view

    def declared_figures(self, case_id: str) -> dict[str, int]:
        """The household figures the application declared, as home-visit findings."""
        assessed = next(
            e for e in self.queries.history(case_id) if e.type == "eligibility.assessed"
        )
        figures = dict(assessed.payload["figures"])
        return {"household_size": figures.pop("size"), **figures}

    async def through_notice(self, view: CaseView) -> CaseView:
        """Grassroots review, home visit, then wait out the public notice."""
        view = await self.act(view, "grassroots", Action.APPROVE, "材料齐全，同意受理")
        visitors = [self.who(view, "grassroots"), self.who(view, "visitor")]
        view = await self.act(
            view,
            "grassroots",
            Action.APPROVE,
            "入户调查属实",
            {
                "visitors": visitors,
                **self.declared_figures(view.case_id),  # the visitors find it as declared
                "assets": "无房产、无车辆",
                "cause": "家庭成员重病",
            },
        )
        return await self.wait_stage(view.case_id, {"district_review"})

    async def to_filed(self, view: CaseView) -> CaseView:
        """From district review to filed, through city approval where the rules need it."""
        view = await self.act(view, "officer", Action.APPROVE, "审核通过")
        view = await self.act(view, "leader", Action.APPROVE, "同意")
        if view.stage == "city_review":
            view = await self.act(view, "city_officer", Action.APPROVE, "市总审核通过")
            view = await self.act(view, "city_leader", Action.APPROVE, "同意拨付")
        view = await self.wait_stage(view.case_id, {"receipt_confirmation", "registration"})
        if view.stage == "receipt_confirmation":
            view = await self.act(view, "grassroots", Action.APPROVE, "电话回访，申请人确认已到账")
        if view.stage == "registration":
            view = await self.act(
                view,
                "officer",
                Action.APPROVE,
                "已录入全国帮扶系统",
                {"national_ref": f"GH-{view.case_id}"},
            )
        return view


async def run_demo(driver: Driver) -> list[CaseView]:
    """Three hardship cases: approved to filing, rejected at district review, returned
    then approved; and three legal-aid cases (casework.demo.legal_aid): settled and
    closed after the follow-up, refused at acceptance, the closing report returned once."""
    # Each run's legal-aid cases go to the next stations.
    legal_aid_run = sum(
        1 for c in driver.queries.case_ids() if c.startswith(f"{LEGAL_AID.prefix}-")
    )

    async def approved() -> CaseView:
        view = await driver.through_notice(await driver.open(0))
        return await driver.to_filed(view)

    async def rejected() -> CaseView:
        view = await driver.through_notice(await driver.open(1))
        return await driver.act(view, "officer", Action.REJECT, "家庭收入超过相对困难标准")

    async def returned() -> CaseView:
        view = await driver.through_notice(await driver.open(2))
        view = await driver.act(view, "officer", Action.APPROVE, "审核通过")
        view = await driver.act(view, "leader", Action.RETURN, "请补充医疗费用票据后重新审核")
        return await driver.to_filed(view)  # district review again, then onwards

    async def hardship() -> list[CaseView]:
        return list(await asyncio.gather(approved(), rejected(), returned()))

    hardship_views, legal_aid_views = await asyncio.gather(
        hardship(), legal_aid_demo(driver.legal_aid(), legal_aid_run)
    )
    return [*hardship_views, *legal_aid_views]
