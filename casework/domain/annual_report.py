"""The year-end report (年度工作报告的数据): the figures the federation's report quotes,
computed from the store (casework.store.annual_report), and the Markdown that says
them in the report's own words ("常态化开展送温暖活动,全年投入资金1334万元,帮扶34429人次").

Aggregate figures only: counts and amounts by programme, district, category, relief
type and stage. No name, ID number or case id of a person ever enters a report.

Amounts in the text follow the seed's rounding: 万元 as a whole number from 10万元 up
("1334万元"), one decimal between 1万 and 10万元 ("2.6万元"), whole 元 below 1万元.
Stage times are calendar days (自然日) from a task's opening to its closing.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field

from casework.domain.award import AwardKind

CATEGORY_WORDS = {
    "deep": "深度困难",
    "relative": "相对困难",
    "accident": "意外致困",
    "frontline": "一线职工",
}
RELIEF_TYPE_WORDS = {
    "living": "生活救助",
    "medical": "医疗救助",
    "education": "助学",
    "seasonal": "送温暖",
}
PROGRAMME_KIND_WORDS = {"song_wen_nuan": "送温暖", "summer": '夏季安康"三送"'}
REVIEW_OUTCOME_WORDS = {
    "renewed": "继续保留",
    "exit_proposed": "拟退出",
    "reverify": "重新核实",
}


class Tally(BaseModel):
    """Person-times (人次) or cases, and the money they stand for, in fen."""

    count: int = 0
    amount_fen: int = 0

    def add(self, amount_fen: int, count: int = 1) -> None:
        self.count += count
        self.amount_fen += amount_fen


class ProgrammeFigures(BaseModel):
    programme_id: str
    name: str
    kind: str
    total: Tally = Field(default_factory=Tally)
    by_district: dict[str, Tally] = Field(default_factory=dict)
    by_category: dict[str, Tally] = Field(default_factory=dict)


class ReliefFigures(BaseModel):
    """Hardship relief paid through cases (the relief fund's `disbursed` entries)."""

    total: Tally = Field(default_factory=Tally)
    by_district: dict[str, Tally] = Field(default_factory=dict)
    by_category: dict[str, Tally] = Field(default_factory=dict)
    by_relief_type: dict[str, Tally] = Field(default_factory=dict)


class LegalAidFigures(BaseModel):
    opened: int = 0
    closed: int = 0
    recovered_fen: int = 0
    by_district: dict[str, Tally] = Field(
        default_factory=dict, description="Cases closed and amounts recovered per district."
    )


class AuditFigures(BaseModel):
    projects: int = 0
    projects_closed: int = 0
    findings: int = 0
    findings_rectified: int = 0
    findings_accepted: int = 0


class StageTimes(BaseModel):
    """Calendar days from a task's opening to its closing, over the tasks closed in the
    year; `overdue`: tasks of the stage that went past their time limit."""

    stage: str
    tasks: int = 0
    median_days: float = 0.0
    p90_days: float = 0.0
    overdue: int = 0


class ReviewFigures(BaseModel):
    """The annual review of the household register (年度复核), from `register_reviews`."""

    households: int = 0
    by_outcome: dict[str, int] = Field(default_factory=dict)
    spot_checks: int = 0


class RefundFigures(BaseModel):
    """Union-dues refunds of the year's dues (工会经费返还), from `dues_refunds`."""

    total: Tally = Field(default_factory=Tally)
    by_district: dict[str, Tally] = Field(default_factory=dict)


def more_than(n: int) -> str:
    """A count as the seed writes it: "17000多" for 17,236, "1200多" for 1,234, exact below
    1,000 or when round."""
    unit = 1000 if n >= 10_000 else 100 if n >= 1000 else 1
    return f"{n // unit * unit}多" if n % unit else str(n)


def refund_sentence(r: RefundFigures) -> str:
    """The seed's words: "市区返还工会经费4400万元,惠及小微企业17000多家"."""
    return f"市区返还工会经费{wan(r.total.amount_fen)},惠及小微企业{more_than(r.total.count)}家"


class AnnualFigures(BaseModel):
    year: int
    programmes: list[ProgrammeFigures] = Field(default_factory=list)
    relief: ReliefFigures = Field(default_factory=ReliefFigures)
    legal_aid: LegalAidFigures = Field(default_factory=LegalAidFigures)
    awards: int = Field(
        default=0,
        description="Titles awarded (评先评优) by the year's campaigns, revoked left out.",
    )
    honoured: dict[str, int] = Field(
        default_factory=dict,
        description="Titles awarded per award kind (casework.domain.award.AwardKind).",
    )
    audit: AuditFigures = Field(default_factory=AuditFigures)
    stages: list[StageTimes] = Field(default_factory=list)
    overdue: int = 0
    review: ReviewFigures = Field(default_factory=ReviewFigures)
    refunds: RefundFigures = Field(default_factory=RefundFigures)

    def by_district(self) -> dict[str, int]:
        """Money paid per district (programmes and case relief), in fen: the chart."""
        out: dict[str, int] = {}
        for p in self.programmes:
            for d, t in p.by_district.items():
                out[d] = out.get(d, 0) + t.amount_fen
        for d, t in self.relief.by_district.items():
            out[d] = out.get(d, 0) + t.amount_fen
        return out


def wan(fen: int) -> str:
    """An amount as the report writes it: "1334万元", "2.6万元", "3870元"."""
    yuan = Decimal(fen) / 100
    if yuan >= 100_000:
        return f"{(yuan / 10_000).quantize(Decimal('1'), ROUND_HALF_UP)}万元"
    if yuan >= 10_000:
        return f"{(yuan / 10_000).quantize(Decimal('0.1'), ROUND_HALF_UP)}万元"
    return f"{yuan.quantize(Decimal('1'), ROUND_HALF_UP)}元"


def nearest_rank(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (0 for no values): a value that occurred."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def _parts(tallies: dict[str, Tally], words: dict[str, str]) -> str:
    parts = [
        f"{words.get(k, k)}{t.count}人次、{wan(t.amount_fen)}"
        for k, t in sorted(tallies.items(), key=lambda kv: -kv[1].amount_fen)
    ]
    return ";".join(parts)


def awards_sentence(honoured: dict[str, int]) -> str:
    """The seed's words: "表彰全国劳动模范11名、……、先进集体150个", in the awards' order."""
    parts = [
        f"{kind.title_zh}{honoured[kind.value]}{'个' if kind.collective else '名'}"
        for kind in AwardKind
        if honoured.get(kind.value)
    ]
    return "表彰" + "、".join(parts)


def programme_sentence(p: ProgrammeFigures) -> str:
    """The seed's sentence: "常态化开展送温暖活动,全年投入资金1334万元,帮扶34429人次"."""
    return f"常态化开展{p.name}活动,全年投入资金{wan(p.total.amount_fen)},帮扶{p.total.count}人次"


def render_markdown(f: AnnualFigures) -> str:
    """The report in the federation's words; every figure from `f`."""
    lines = [f"# {f.year}年度工作数据 (year-end report {f.year})", ""]

    lines += ["## 解困脱困 (relief programmes and hardship relief)", ""]
    if not f.programmes:
        lines.append(f"- {f.year}年未开展帮扶项目发放 (no programme payments).")
    for p in f.programmes:
        lines.append(f"- {programme_sentence(p)}。")
        if p.by_district:
            lines.append(f"  - 分区县 (by district): {_parts(p.by_district, {})}。")
        if p.by_category:
            lines.append(f"  - 分类别 (by category): {_parts(p.by_category, CATEGORY_WORDS)}。")
    r = f.relief
    lines.append(
        f"- 困难职工帮扶案件发放救助资金{wan(r.total.amount_fen)},帮扶{r.total.count}人次"
        " (case relief disbursed)。"
    )
    if r.by_district:
        lines.append(f"  - 分区县 (by district): {_parts(r.by_district, {})}。")
    if r.by_category:
        lines.append(f"  - 分类别 (by category): {_parts(r.by_category, CATEGORY_WORDS)}。")
    if r.by_relief_type:
        lines.append(
            f"  - 分救助类型 (by relief type): {_parts(r.by_relief_type, RELIEF_TYPE_WORDS)}。"
        )

    d = f.refunds
    lines += ["", "## 工会经费返还 (union-dues refunds to small firms)", ""]
    if d.total.count:
        lines.append(f"- {refund_sentence(d)} (dues refunded, firms)。")
        lines.append(f"  - 分区县 (by district): {_parts(d.by_district, {})}。")
    else:
        lines.append(f"- {f.year}年度尚无返还 (no refunds yet)。")

    v = f.review
    lines += ["", "## 年度复核 (annual review of the household register)", ""]
    if v.households:
        outcomes = "、".join(
            f"{REVIEW_OUTCOME_WORDS.get(k, k)}{n}户" for k, n in sorted(v.by_outcome.items())
        )
        lines.append(
            f"- 复核在册困难职工家庭{v.households}户:{outcomes};抽取{v.spot_checks}户入户抽查。"
        )
    else:
        lines.append(f"- {f.year}年度复核尚无结果 (no review results yet)。")

    a = f.legal_aid
    lines += ["", "## 法律服务 (legal aid)", ""]
    lines.append(
        f"- 受理工会法律援助案件{a.opened}件,办结{a.closed}件,"
        f"为职工追回{wan(a.recovered_fen)} (cases opened, closed, recovered)。"
    )

    lines += ["", "## 评先评优 (awards)", ""]
    if f.honoured:
        lines.append(f"- {awards_sentence(f.honoured)} (titles awarded; revoked ones left out)。")
    else:
        lines.append(f"- {f.year}年度评选尚无表彰 (no titles awarded)。")

    u = f.audit
    lines += ["", "## 审计监督 (audit)", ""]
    lines.append(
        f"- 实施审计项目{u.projects}个,已完成{u.projects_closed}个;发现问题{u.findings}个,"
        f"已整改{u.findings_rectified}个,认可{u.findings_accepted}个"
        " (projects, findings, rectified, accepted)。"
    )

    lines += ["", "## 办理时效 (time per stage, calendar days)", ""]
    if f.stages:
        lines += [
            "| 环节 stage | 办结任务 tasks | 中位数 median (天) | P90 (天) | 超期 overdue |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {s.stage} | {s.tasks} | {s.median_days:.1f} | {s.p90_days:.1f} | {s.overdue} |"
            for s in f.stages
        ]
    else:
        lines.append("- 本年度无办结任务 (no tasks closed this year)。")
    lines.append(f"- 超期任务合计{f.overdue}个 (overdue tasks in all)。")
    return "\n".join(lines) + "\n"
