"""Award campaigns (劳动模范, 五一劳动奖章, 工人先锋号, 先进集体): the campaign a city officer
opens, the nominee profile the rules need, the ratio rules across a set of nominations
and the district quotas. processes.md section 3, issue #13.

A campaign is one award in one year with a quota per district. The ratio rules look
across a district's (or the whole campaign's) individual nominees: 一线职工 front-line
workers and technical staff at least 60%, 企业负责人 enterprise heads at most 20%, and,
where the campaign's config turns them on, 产业工人 industrial workers at least 35%,
农民工 migrant workers at least 10% and 非公企业 non-public enterprises at least 35%.
Collectives (工人先锋号, 先进集体) never count in them.

Pure and deterministic: shares are compared as exact fractions (59.99% is not 60%), and
nothing reads a clock. The steps after forwarding (joint vetting, the committee vote,
objections, the honour list) are in `casework.domain.award_steps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casework.domain.applicant import NAME_PATTERN, STRICT, known_district
from casework.domain.org import DISTRICTS
from casework.domain.refusal import Refused, validated
from casework.domain.text import check_text


class AwardKind(StrEnum):
    """The award a campaign confers; `collective` says whether it goes to a team."""

    MODEL_WORKER_CITY = "model_worker_city"  # 市劳动模范
    MODEL_WORKER_PROVINCIAL = "model_worker_provincial"  # 省劳动模范
    MODEL_WORKER_NATIONAL = "model_worker_national"  # 全国劳动模范
    MAY_DAY_MEDAL = "may_day_medal"  # 五一劳动奖章
    WORKER_PIONEER = "worker_pioneer"  # 工人先锋号
    ADVANCED_COLLECTIVE = "advanced_collective"  # 先进集体

    @property
    def collective(self) -> bool:
        return self in (AwardKind.WORKER_PIONEER, AwardKind.ADVANCED_COLLECTIVE)

    @property
    def title_zh(self) -> str:
        return AWARD_TITLES[self][0]

    @property
    def title_en(self) -> str:
        return AWARD_TITLES[self][1]


AWARD_TITLES: dict[AwardKind, tuple[str, str]] = {
    AwardKind.MODEL_WORKER_CITY: ("市劳动模范", "city model worker"),
    AwardKind.MODEL_WORKER_PROVINCIAL: ("省劳动模范", "provincial model worker"),
    AwardKind.MODEL_WORKER_NATIONAL: ("全国劳动模范", "national model worker"),
    AwardKind.MAY_DAY_MEDAL: ("五一劳动奖章", "May Day labour medal"),
    AwardKind.WORKER_PIONEER: ("工人先锋号", "worker-pioneer team"),
    AwardKind.ADVANCED_COLLECTIVE: ("先进集体", "advanced collective"),
}


class VettingDepartment(StrEnum):
    """The departments of 联审 joint vetting; each gives its opinion in parallel."""

    DISCIPLINE = "discipline"  # 纪检监察
    POLICE = "police"  # 公安
    ENVIRONMENT = "environment"  # 生态环境
    TAX = "tax"  # 税务
    SOCIAL_INSURANCE = "social_insurance"  # 人社
    WORK_SAFETY = "work_safety"  # 应急管理

    @property
    def title_zh(self) -> str:
        return DEPARTMENT_TITLES[self][0]

    @property
    def title_en(self) -> str:
        return DEPARTMENT_TITLES[self][1]


DEPARTMENT_TITLES: dict[VettingDepartment, tuple[str, str]] = {
    VettingDepartment.DISCIPLINE: ("纪检监察", "discipline inspection"),
    VettingDepartment.POLICE: ("公安", "police record"),
    VettingDepartment.ENVIRONMENT: ("生态环境", "environment"),
    VettingDepartment.TAX: ("税务", "tax"),
    VettingDepartment.SOCIAL_INSURANCE: ("人社", "social insurance"),
    VettingDepartment.WORK_SAFETY: ("应急管理", "work safety"),
}


class Bound(StrEnum):
    AT_LEAST = "at_least"  # ≥
    AT_MOST = "at_most"  # ≤


class Criterion(StrEnum):
    """What an individual nominee is counted for by a ratio rule (a `Nominee` field)."""

    FRONTLINE_OR_TECHNICAL = "frontline_or_technical"  # 一线职工和专业技术人员
    ENTERPRISE_HEAD = "enterprise_head"  # 企业负责人
    INDUSTRIAL_WORKER = "industrial_worker"  # 产业工人
    MIGRANT_WORKER = "migrant_worker"  # 农民工
    NON_PUBLIC_ENTERPRISE = "non_public_enterprise"  # 非公企业

    @property
    def bound(self) -> Bound:
        """Enterprise heads are capped; every other group has a floor. Fixed, not config:
        a campaign may change a percentage, never turn a cap into a floor."""
        return Bound.AT_MOST if self is Criterion.ENTERPRISE_HEAD else Bound.AT_LEAST

    @property
    def title_zh(self) -> str:
        return CRITERION_TITLES[self][0]

    @property
    def title_en(self) -> str:
        return CRITERION_TITLES[self][1]


CRITERION_TITLES: dict[Criterion, tuple[str, str]] = {
    Criterion.FRONTLINE_OR_TECHNICAL: (
        "一线职工和专业技术人员",
        "front-line workers and technical staff",
    ),
    Criterion.ENTERPRISE_HEAD: ("企业负责人", "enterprise heads"),
    Criterion.INDUSTRIAL_WORKER: ("产业工人", "industrial workers"),
    Criterion.MIGRANT_WORKER: ("农民工", "migrant workers"),
    Criterion.NON_PUBLIC_ENTERPRISE: ("非公企业", "non-public enterprises"),
}


class RatioRule(BaseModel):
    """One ratio rule's config: the bound's percentage and whether the campaign applies it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    percent: int = Field(ge=0, le=100, strict=True)
    """The share of individual nominees, in whole percent (≥ or ≤ as the criterion says)."""
    applies: bool = Field(strict=True)


class RatioRules(BaseModel):
    """The campaign's ratio rules, one per criterion; the defaults are processes.md's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frontline_or_technical: RatioRule = RatioRule(percent=60, applies=True)
    enterprise_head: RatioRule = RatioRule(percent=20, applies=True)
    industrial_worker: RatioRule = RatioRule(percent=35, applies=False)
    migrant_worker: RatioRule = RatioRule(percent=10, applies=False)
    non_public_enterprise: RatioRule = RatioRule(percent=35, applies=False)

    def applying(self) -> list[tuple[Criterion, int]]:
        """The rules that apply, as (criterion, percent), in the criteria's order."""
        rules = [(c, getattr(self, c.value)) for c in Criterion]
        return [(c, r.percent) for c, r in rules if r.applies]


MIN_UNIT_NOTICE_DAYS = 5
"""The unit's public notice (单位公示) lasts at least this many working days."""


class CampaignSpec(BaseModel):
    """What the city officer opens (`casework campaign open --file campaign.json`)."""

    model_config = STRICT

    name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": NAME_PATTERN})
    award: AwardKind
    year: int = Field(ge=2000, le=2100, strict=True)
    quotas: dict[str, Annotated[int, Field(strict=True)]] = Field(min_length=1)
    """Nominations each district may forward (名额): known districts, 0 or more."""
    ratio_rules: RatioRules = RatioRules()
    vetting_departments: tuple[VettingDepartment, ...] = tuple(VettingDepartment)
    """Who vets every nomination in parallel (联审); all six by default."""
    vetting_days: int = Field(default=10, ge=1, le=60, strict=True)
    """Working days each vetting department has for its opinion."""
    unit_notice_days: int = Field(
        default=MIN_UNIT_NOTICE_DAYS, ge=MIN_UNIT_NOTICE_DAYS, le=30, strict=True
    )
    """Working days of the unit's public notice before a nomination goes up."""
    social_notice_days: int = Field(default=7, ge=1, le=30, strict=True)
    """Working days of the social public notice (社会公示) after the committee vote."""
    committee_members: int = Field(ge=1, le=200, strict=True)
    """Members of the 评审委员会."""
    quorum: int | None = Field(default=None, ge=1, strict=True)
    """Members who must be present for a vote; two thirds of the members when unset."""
    places: int | None = Field(default=None, ge=0, strict=True)
    """The award's places that all districts share (at most the sum of the quotas);
    the sum of the quotas when unset. A district forwards within its own quota and
    within what is left of these."""

    @field_validator("name")
    @classmethod
    def _printable(cls, v: str) -> str:
        return check_text(v, line_breaks=False)

    @field_validator("quotas")
    @classmethod
    def _quotas(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(DISTRICTS))
        if unknown:
            raise ValueError(
                f"未知区县 (unknown districts): {', '.join(unknown)}; one of: {', '.join(DISTRICTS)}"
            )
        if any(n < 0 for n in v.values()):
            raise ValueError("名额须为 0 或正整数 (each quota is a whole number, 0 or more)")
        return v

    @field_validator("vetting_departments")
    @classmethod
    def _departments(cls, v: tuple[VettingDepartment, ...]) -> tuple[VettingDepartment, ...]:
        if not v:
            raise ValueError("至少一个联审部门 (at least one vetting department)")
        if len(set(v)) != len(v):
            raise ValueError("联审部门重复 (a vetting department is listed twice)")
        return v

    @model_validator(mode="after")
    def _quorum(self) -> CampaignSpec:
        if self.quorum is not None and self.quorum > self.committee_members:
            raise ValueError(
                f"quorum: 法定人数不能多于委员人数 {self.committee_members} "
                f"(the quorum cannot exceed the {self.committee_members} members)"
            )
        if self.places is not None and self.places > self.total_quota:
            raise ValueError(
                f"places: 总名额 {self.places} 不能多于各区县名额之和 {self.total_quota} "
                f"(the award's {self.places} places cannot exceed the quotas' sum "
                f"{self.total_quota})"
            )
        return self

    @property
    def total_places(self) -> int:
        """The places all districts share: `places`, else the quotas' sum."""
        return self.total_quota if self.places is None else self.places

    @property
    def quorum_needed(self) -> int:
        """Members present for a valid vote: the configured quorum, else two thirds."""
        if self.quorum is not None:
            return self.quorum
        return -(-2 * self.committee_members // 3)

    @property
    def total_quota(self) -> int:
        return sum(self.quotas.values())


def campaign_spec(data: dict[str, Any]) -> CampaignSpec:
    """`data` as a CampaignSpec, or Refused("invalid_campaign") naming the fields."""
    return validated(
        CampaignSpec, data, "invalid_campaign", "评选活动不符合要求 (invalid campaign)"
    )


class NomineeKind(StrEnum):
    INDIVIDUAL = "individual"  # 个人
    COLLECTIVE = "collective"  # 集体 (a team, a workshop, a unit)


PERSONAL_FLAGS = (
    "frontline_or_technical",
    "enterprise_head",
    "industrial_worker",
    "migrant_worker",
)
"""What only a person can be: a collective with one of them set is a mistake."""


class Nominee(BaseModel):
    """What a nomination (`nominee.json`) carries that the rules need. No ID number: the
    rules never read it, and the nomination's own record keeps it where needed."""

    model_config = ConfigDict(
        **STRICT,
        # The HTTP API's schema says it too: a collective has no personal category.
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "collective"}}, "required": ["kind"]},
            "then": {"properties": {flag: {"const": False} for flag in PERSONAL_FLAGS}},
        },
    )

    kind: NomineeKind
    name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": NAME_PATTERN})
    """The person's name, or the collective's (e.g. 某公司某车间)."""
    district: str = Field(json_schema_extra={"enum": list(DISTRICTS)})
    unit: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": NAME_PATTERN})
    """The work unit (工作单位) that nominates."""
    frontline_or_technical: bool = Field(default=False, strict=True)
    enterprise_head: bool = Field(default=False, strict=True)
    industrial_worker: bool = Field(default=False, strict=True)
    migrant_worker: bool = Field(default=False, strict=True)
    non_public_enterprise: bool = Field(default=False, strict=True)
    """The unit is a 非公企业; a collective may be one too."""

    @field_validator("name", "unit")
    @classmethod
    def _printable(cls, v: str) -> str:
        return check_text(v, line_breaks=False)

    @field_validator("district")
    @classmethod
    def _district(cls, v: str) -> str:
        return known_district(v)

    @model_validator(mode="after")
    def _collective(self) -> Nominee:
        if self.kind is NomineeKind.COLLECTIVE:
            set_flags = [f for f in PERSONAL_FLAGS if getattr(self, f)]
            if set_flags:
                raise ValueError(
                    f"{', '.join(set_flags)}: 集体不能标注个人身份 "
                    "(a collective has no personal category)"
                )
        return self

    def counts_for(self, criterion: Criterion) -> bool:
        return bool(getattr(self, criterion.value))


def nominee(data: dict[str, Any]) -> Nominee:
    """`data` as a Nominee, or Refused("invalid_nominee") naming the fields."""
    return validated(Nominee, data, "invalid_nominee", "被推荐对象不符合要求 (invalid nominee)")


def award_refusal(award: AwardKind, candidate: Nominee) -> Refused | None:
    """A Refused when `candidate` is the wrong kind for `award` (a person for 工人先锋号)."""
    wanted = NomineeKind.COLLECTIVE if award.collective else NomineeKind.INDIVIDUAL
    if candidate.kind is wanted:
        return None
    zh = "集体" if award.collective else "个人"
    return Refused(
        "wrong_nominee_kind",
        f"{award.title_zh}只能推荐{zh} ({award.title_en} is for {wanted.value} nominees only)",
        "kind",
    )


class Breach(BaseModel):
    """A ratio rule a set of nominations breaks, and what would mend it.

    For a ≥ rule `causes` are the non-qualifying nominations (those that could be
    replaced), `more_needed` how many qualifying nominations would have to be added
    (None when adding cannot mend it: a 100% rule) and `replacements` how many of the
    causes would have to be replaced by qualifying ones. For a ≤ rule `causes` are the
    nominations counting towards it, `more_needed` how many of them would have to be
    withdrawn and `replacements` how many replaced by non-counting ones."""

    model_config = ConfigDict(frozen=True)

    criterion: Criterion
    bound: Bound
    required_percent: int
    counted: int
    """Individual nominations counted for the criterion."""
    total: int
    """Individual nominations in the set (collectives do not count)."""
    causes: tuple[str, ...]
    more_needed: int | None
    replacements: int

    @property
    def actual_percent(self) -> str:
        """The share as people read it, one decimal (the comparison itself is exact)."""
        return f"{100 * self.counted / self.total:.1f}%"

    @property
    def message(self) -> str:
        sign = "≥" if self.bound is Bound.AT_LEAST else "≤"
        zh_need = (
            f"需再增加 {self.more_needed} 名符合条件的人选，或替换 {self.replacements} 名"
            if self.bound is Bound.AT_LEAST and self.more_needed is not None
            else f"需替换 {self.replacements} 名"
            if self.bound is Bound.AT_LEAST
            else f"需减少 {self.more_needed} 名或替换 {self.replacements} 名"
        )
        en_need = (
            f"add {self.more_needed} qualifying or replace {self.replacements}"
            if self.bound is Bound.AT_LEAST and self.more_needed is not None
            else f"replace {self.replacements}"
            if self.bound is Bound.AT_LEAST
            else f"withdraw {self.more_needed} or replace {self.replacements}"
        )
        return (
            f"{self.criterion.title_zh}占比 {self.actual_percent}"
            f"（{self.counted}/{self.total}），要求 {sign}{self.required_percent}%，{zh_need} "
            f"({self.criterion.title_en}: {self.actual_percent} of {self.total}, required "
            f"{sign}{self.required_percent}%: {en_need})"
        )


def ratio_breaches(rules: RatioRules, nominees: Sequence[tuple[str, Nominee]]) -> list[Breach]:
    """Each applying rule the individual nominees in `nominees` (nomination id, nominee)
    break, in the criteria's order. No individual nominees, no breach."""
    people = [(nid, n) for nid, n in nominees if n.kind is NomineeKind.INDIVIDUAL]
    total = len(people)
    if total == 0:
        return []
    breaches = []
    for criterion, percent in rules.applying():
        counting = tuple(nid for nid, n in people if n.counts_for(criterion))
        others = tuple(nid for nid, n in people if not n.counts_for(criterion))
        c = len(counting)
        if criterion.bound is Bound.AT_LEAST and 100 * c < percent * total:
            more = None if percent == 100 else _ceil_div(percent * total - 100 * c, 100 - percent)
            breaches.append(
                Breach(
                    criterion=criterion,
                    bound=Bound.AT_LEAST,
                    required_percent=percent,
                    counted=c,
                    total=total,
                    causes=others,
                    more_needed=more,
                    replacements=_ceil_div(percent * total, 100) - c,
                )
            )
        elif criterion.bound is Bound.AT_MOST and 100 * c > percent * total:
            # percent < 100 here: a 100% cap cannot be exceeded.
            breaches.append(
                Breach(
                    criterion=criterion,
                    bound=Bound.AT_MOST,
                    required_percent=percent,
                    counted=c,
                    total=total,
                    causes=counting,
                    more_needed=_ceil_div(100 * c - percent * total, 100 - percent),
                    replacements=c - percent * total // 100,
                )
            )
    return breaches


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def forward_refusal(
    quota: int, forwarded: int, *, adding: int = 1, district: str = ""
) -> Refused | None:
    """A Refused when forwarding `adding` more nominations would take a district that
    has `forwarded` of its `quota` past it; the message says how many are left."""
    if quota < 0 or forwarded < 0 or adding < 1:
        raise ValueError("quota and forwarded are 0 or more, adding at least 1")
    left = max(quota - forwarded, 0)
    if adding <= left:
        return None
    who = district or "本区县"
    who_en = district or "the district"
    return Refused(
        "quota_exceeded",
        f"{who}名额 {quota} 个，已报送 {forwarded} 个，剩余 {left} 个，不能再报送 {adding} 个 "
        f"({who_en} has {left} of its {quota} places left; cannot forward {adding})",
        "district",
    )
