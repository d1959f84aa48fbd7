"""What a reviewer decides a hardship case on (`case show`, the web case page, the API):
the declared and the computed category and why, income per head against 低保, the
home-visit findings, the civil-affairs (民政) result, the amounts requested and approved,
and the district's relief fund.

Built from the case's recorded events (only named payload fields: `case.opened` also
carries sealed personal fields, which never leave through here). Pure: the edges add the
fund's balance, which lives in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from casework.domain.case import CaseState
from casework.domain.payload import dict_of, int_of, str_of


class EventLike(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def actor_id(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def payload(self) -> dict[str, Any]: ...


class Figures(BaseModel):
    size: int | None = None
    yearly_income_fen: int | None = None
    medical_expenses_fen: int | None = None
    schooling_expenses_fen: int | None = None
    monthly_income_fen: int | None = None
    """Cases opened before eligibility was computed declared this instead."""


class Assessed(BaseModel):
    """One `eligibility.assessed`: from the application, or from the home visit."""

    source: str
    at: datetime
    figures: Figures
    income_per_head_fen: int | None
    di_bao_fen: int | None
    di_bao_year: int | None
    category: str | None
    rule: str | None
    why: list[str]
    """[Chinese, English]."""


class VisitFindings(BaseModel):
    by: str
    at: datetime
    visitors: list[str]
    figures: Figures
    assets: str | None
    cause: str | None
    explanation: str | None


class CivilAffairsResult(BaseModel):
    """match True/False, or None: no answer in time (`civil_affairs.unavailable`)."""

    match: bool | None
    detail: str
    at: datetime


class AmountDecision(BaseModel):
    stage: str
    by: str
    at: datetime
    amount_fen: int
    previous_fen: int | None
    comment: str | None


class Fund(BaseModel):
    """The district's relief fund for the year the case draws on."""

    district: str
    year: int
    budget_fen: int
    committed_fen: int
    disbursed_fen: int
    remaining_fen: int


class ReviewSheet(BaseModel):
    declared_category: str | None = None
    computed_category: str | None = None
    """None: no category (or not computed, when `assessments` is empty)."""
    categories_differ: bool = False
    assessments: list[Assessed] = []
    """Every assessment in order; the last one decides."""
    declared: Figures = Figures()
    visit: VisitFindings | None = None
    civil_affairs: CivilAffairsResult | None = None
    district_explanation: str | None = None
    """Why a household that qualifies for no category passed the district review."""
    relief_type: str | None = None
    requested_amount_fen: int | None = None
    approved_amount_fen: int | None = None
    """The amount in force: the last approved lower amount, else the requested one."""
    amount_decisions: list[AmountDecision] = []
    national_ref: str | None = None
    fund: Fund | None = None

    @property
    def assessment(self) -> Assessed | None:
        return self.assessments[-1] if self.assessments else None


def _figures(d: dict[str, Any], size_key: str) -> Figures:
    return Figures(
        size=int_of(d.get(size_key)),
        yearly_income_fen=int_of(d.get("yearly_income_fen")),
        medical_expenses_fen=int_of(d.get("medical_expenses_fen")),
        schooling_expenses_fen=int_of(d.get("schooling_expenses_fen")),
        monthly_income_fen=int_of(d.get("monthly_income_fen")),
    )


def review_sheet(state: CaseState, events: Sequence[EventLike]) -> ReviewSheet:
    facts = state.facts
    sheet = ReviewSheet(
        declared_category=str_of(facts.get("category")),
        relief_type=str_of(facts.get("relief_type")),
        requested_amount_fen=int_of(facts.get("requested_amount_fen")),
    )
    for e in events:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.type == "case.opened":
            sheet.declared = _figures(dict_of(p.get("application")), "household_size")
        elif e.type == "eligibility.assessed":
            why = p.get("why")
            sheet.assessments.append(
                Assessed(
                    source=str_of(p.get("source")) or "",
                    at=e.occurred_at,
                    figures=_figures(dict_of(p.get("figures")), "size"),
                    income_per_head_fen=int_of(p.get("income_per_head_fen")),
                    di_bao_fen=int_of(p.get("di_bao_fen")),
                    di_bao_year=int_of(p.get("di_bao_year")),
                    category=str_of(p.get("category")),
                    rule=str_of(p.get("rule")),
                    why=[w for w in why if isinstance(w, str)] if isinstance(why, list) else [],
                )
            )
        elif e.type == "task.approved":
            data = dict_of(p.get("data"))
            stage = p.get("stage")
            if stage == "home_visit":
                visitors = data.get("visitors")
                sheet.visit = VisitFindings(
                    by=e.actor_id,
                    at=e.occurred_at,
                    visitors=[v for v in visitors if isinstance(v, str)]
                    if isinstance(visitors, list)
                    else [],
                    figures=_figures(data, "household_size"),
                    assets=str_of(data.get("assets")),
                    cause=str_of(data.get("cause")),
                    explanation=str_of(data.get("explanation")),
                )
            elif stage == "district_review" and str_of(data.get("explanation")):
                sheet.district_explanation = data["explanation"]
            elif stage == "registration" and str_of(data.get("national_ref")):
                sheet.national_ref = data["national_ref"]
        elif e.type == "civil_affairs.checked":
            sheet.civil_affairs = CivilAffairsResult(
                match=bool(p.get("match")), detail=str_of(p.get("detail")) or "", at=e.occurred_at
            )
        elif e.type == "civil_affairs.unavailable":
            sheet.civil_affairs = CivilAffairsResult(
                match=None, detail=str_of(p.get("reason")) or "", at=e.occurred_at
            )
        elif e.type == "amount.approved" and int_of(p.get("amount_fen")) is not None:
            sheet.amount_decisions.append(
                AmountDecision(
                    stage=str_of(p.get("stage")) or "",
                    by=e.actor_id,
                    at=e.occurred_at,
                    amount_fen=p["amount_fen"],
                    previous_fen=int_of(p.get("previous_fen")),
                    comment=str_of(p.get("comment")),
                )
            )
    if sheet.assessments:
        sheet.computed_category = sheet.assessments[-1].category
        sheet.categories_differ = sheet.computed_category != sheet.declared_category
    sheet.approved_amount_fen = (
        sheet.amount_decisions[-1].amount_fen
        if sheet.amount_decisions
        else sheet.requested_amount_fen
    )
    return sheet


CATEGORY_WORDS = {
    "deep": "深度困难 deep hardship",
    "relative": "相对困难 relative hardship",
    "accident": "意外致困 accident-induced hardship",
    None: "不符合任何类别 no category",
}


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else f"{fen / 100:,.2f} 元"


def _figures_line(f: Figures) -> str:
    if f.yearly_income_fen is None:
        monthly = _yuan(f.monthly_income_fen)
        return f"{f.size or '-'} 人 persons · 月收入 monthly income {monthly}"
    return (
        f"{f.size or '-'} 人 persons · 年收入 yearly income {_yuan(f.yearly_income_fen)} · "
        f"医疗 medical {_yuan(f.medical_expenses_fen)} · "
        f"教育 schooling {_yuan(f.schooling_expenses_fen)}"
    )


def sheet_lines(sheet: ReviewSheet) -> list[tuple[str, str]]:
    """The sheet as (label, text) rows, both languages, for terminal output."""
    rows: list[tuple[str, str]] = []
    declared = CATEGORY_WORDS.get(sheet.declared_category, sheet.declared_category or "-")
    rows.append(("申报类别 declared", declared))
    a = sheet.assessment
    if a is None:
        rows.append(("核定类别 computed", "未计算 (opened before eligibility was computed)"))
    else:
        computed = CATEGORY_WORDS.get(a.category, a.category or "-")
        mark = " [不一致 differs]" if sheet.categories_differ else ""
        source = "入户调查 home visit" if a.source == "home_visit" else "申请 application"
        rows.append(("核定类别 computed", f"{computed}{mark} · 依据 from {source}"))
        rows.append(
            (
                "人均月收入 per head",
                f"{_yuan(a.income_per_head_fen)} · 低保 {_yuan(a.di_bao_fen)} ({a.di_bao_year})",
            )
        )
        if a.why:
            rows.append(("规则 rule", " / ".join(a.why)))
    rows.append(("申报家庭 declared household", _figures_line(sheet.declared)))
    if sheet.visit is not None:
        v = sheet.visit
        rows.append(
            ("入户调查 home visit", f"{'、'.join(v.visitors)} · {_figures_line(v.figures)}")
        )
        if v.assets:
            rows.append(("资产 assets", v.assets))
        if v.cause:
            rows.append(("致困原因 cause", v.cause))
        if v.explanation:
            rows.append(("说明 explanation", v.explanation))
    if sheet.civil_affairs is not None:
        c = sheet.civil_affairs
        result = {True: "一致 match", False: "不一致 no match", None: "未获答复 unavailable"}
        rows.append(("民政核对 civil affairs", f"{result[c.match]} · {c.detail}"))
    if sheet.district_explanation:
        rows.append(("区县说明 district's explanation", sheet.district_explanation))
    rows.append(("申请金额 requested", _yuan(sheet.requested_amount_fen)))
    approved = _yuan(sheet.approved_amount_fen)
    for d in sheet.amount_decisions:
        approved += f" · {d.stage} {d.by}: {_yuan(d.previous_fen)} → {_yuan(d.amount_fen)}"
        if d.comment:
            approved += f" ({d.comment})"
    rows.append(("核定金额 approved", approved))
    if sheet.fund is not None:
        f = sheet.fund
        rows.append(
            (
                "帮扶资金 relief fund",
                f"{f.district} {f.year}: 预算 budget {_yuan(f.budget_fen)} · 已占用 committed "
                f"{_yuan(f.committed_fen)} · 已拨付 paid {_yuan(f.disbursed_fen)} · "
                f"余额 left {_yuan(f.remaining_fen)}",
            )
        )
    if sheet.national_ref:
        rows.append(("全国系统编号 national ref", sheet.national_ref))
    return rows
