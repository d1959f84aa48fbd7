"""Award nominations after the district forwards them: 联审 joint vetting, the 评审委员会
committee vote, objections during the 社会公示 social public notice, and the honour list
the campaign produces when it closes. processes.md section 3, issue #13.

Pure and deterministic, like `casework.domain.award`: the workflows ask these functions
and record what they answer.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casework.domain.applicant import NAME_PATTERN, STRICT
from casework.domain.award import AwardKind, Nominee, VettingDepartment
from casework.domain.org import DISTRICTS
from casework.domain.refusal import Refused
from casework.domain.text import check_text

MAX_COMMENT = 2000


class Verdict(StrEnum):
    CLEAR = "clear"  # 无异议
    ADVERSE = "adverse"  # 有问题, vetoes the nominee


class VettingOpinion(BaseModel):
    """One department's opinion on one nominee; an adverse one must say why."""

    model_config = STRICT

    department: VettingDepartment
    verdict: Verdict
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)

    @field_validator("comment")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=True)

    @model_validator(mode="after")
    def _reason(self) -> VettingOpinion:
        if self.verdict is Verdict.ADVERSE and not (self.comment or "").strip():
            raise ValueError("comment: 否决意见必须说明原因 (an adverse opinion needs a reason)")
        return self


class VettingStatus(StrEnum):
    PENDING = "pending"  # 联审中
    CLEARED = "cleared"  # 联审通过
    VETOED = "vetoed"  # 联审否决


class VettingOutcome(BaseModel):
    """Where a nominee's joint vetting stands."""

    model_config = ConfigDict(frozen=True)

    status: VettingStatus
    vetoed_by: tuple[VettingDepartment, ...] = ()
    """Departments with an adverse opinion, in the configured order."""
    waiting_for: tuple[VettingDepartment, ...] = ()
    """Configured departments with no opinion yet, in the configured order."""

    @property
    def message(self) -> str:
        if self.status is VettingStatus.VETOED:
            zh = "、".join(d.title_zh for d in self.vetoed_by)
            en = ", ".join(d.title_en for d in self.vetoed_by)
            return f"联审否决：{zh} (vetoed in joint vetting by {en})"
        if self.status is VettingStatus.PENDING:
            zh = "、".join(d.title_zh for d in self.waiting_for)
            en = ", ".join(d.title_en for d in self.waiting_for)
            return f"联审中，待{zh}回复 (waiting for {en})"
        return "联审通过 (cleared in joint vetting)"


def vetting_outcome(
    departments: Sequence[VettingDepartment], opinions: Iterable[VettingOpinion]
) -> VettingOutcome:
    """Vetoed as soon as one configured department gives an adverse opinion; cleared only
    when every configured department said clear; pending otherwise. Raises Refused
    (field `department`) for an opinion from a department not configured, or a second
    opinion from one department."""
    given: dict[VettingDepartment, Verdict] = {}
    for o in opinions:
        if o.department not in departments:
            raise Refused(
                "not_a_vetting_department",
                f"{o.department.title_zh}不是本次联审部门 "
                f"({o.department.title_en} is not a vetting department of this campaign)",
                "department",
            )
        if o.department in given:
            raise Refused(
                "already_vetted",
                f"{o.department.title_zh}已出具意见 ({o.department.title_en} has already given "
                "its opinion)",
                "department",
            )
        given[o.department] = o.verdict
    vetoed = tuple(d for d in departments if given.get(d) is Verdict.ADVERSE)
    if vetoed:
        return VettingOutcome(status=VettingStatus.VETOED, vetoed_by=vetoed)
    waiting = tuple(d for d in departments if d not in given)
    if waiting:
        return VettingOutcome(status=VettingStatus.PENDING, waiting_for=waiting)
    return VettingOutcome(status=VettingStatus.CLEARED)


class VoteResult(BaseModel):
    """The committee's vote on one nomination."""

    model_config = ConfigDict(frozen=True)

    passes: bool
    quorate: bool
    votes_needed: int
    """Votes for that two thirds of those present make."""
    message: str


def vote_result(members: int, present: int, votes_for: int, quorum: int) -> VoteResult:
    """Passes only when at least `quorum` members are present and at least two thirds
    of those present vote for. Raises Refused naming the field for counts that cannot
    be (more present than members, more votes than present, a quorum beyond members)."""
    _check_counts(members, present, votes_for, quorum)
    needed = -(-2 * present // 3)
    if present < quorum:
        return VoteResult(
            passes=False,
            quorate=False,
            votes_needed=needed,
            message=f"到会 {present} 人，不足法定人数 {quorum} 人，表决无效 "
            f"({present} present, fewer than the quorum of {quorum}: no valid vote)",
        )
    passes = 3 * votes_for >= 2 * present
    zh = "通过" if passes else "未通过"
    en = "passes" if passes else "fails"
    return VoteResult(
        passes=passes,
        quorate=True,
        votes_needed=needed,
        message=f"到会 {present} 人，赞成 {votes_for} 票，需 {needed} 票，{zh} "
        f"({votes_for} of {present} present for, {needed} needed: {en})",
    )


def _check_counts(members: int, present: int, votes_for: int, quorum: int) -> None:
    def refuse(field: str, zh: str, en: str) -> Refused:
        return Refused("impossible_vote_count", f"{zh} ({en})", field)

    if members < 1:
        raise refuse("members", "委员人数至少 1 人", "a committee has at least one member")
    if not 1 <= quorum <= members:
        raise refuse(
            "quorum",
            f"法定人数须在 1 到 {members} 之间",
            f"the quorum is between 1 and the {members} members",
        )
    if not 0 <= present <= members:
        raise refuse(
            "present",
            f"到会人数 {present} 须在 0 到委员人数 {members} 之间",
            f"{present} present: between 0 and the {members} members",
        )
    if not 0 <= votes_for <= present:
        raise refuse(
            "votes_for",
            f"赞成票 {votes_for} 须在 0 到到会人数 {present} 之间",
            f"{votes_for} votes for: between 0 and the {present} present",
        )


class Objection(BaseModel):
    """An objection made during the social public notice. `objector` is the real name
    it is written under; None (or blank) for an anonymous one."""

    model_config = STRICT

    comment: str = Field(min_length=1, max_length=MAX_COMMENT)
    objector: str | None = Field(
        default=None, max_length=50, json_schema_extra={"pattern": NAME_PATTERN}
    )

    @field_validator("comment")
    @classmethod
    def _comment(cls, v: str) -> str:
        return check_text(v, line_breaks=True)

    @field_validator("objector")
    @classmethod
    def _objector(cls, v: str | None) -> str | None:
        if v is None or not v:
            return None
        return check_text(v, line_breaks=False)

    @property
    def anonymous(self) -> bool:
        return self.objector is None


def objection_needs_investigation(objection: Objection) -> bool:
    """A written objection under a real name opens an investigation; an anonymous one
    is recorded and needs none."""
    return not objection.anonymous


class Finding(StrEnum):
    """What the investigation of an objection found."""

    UPHELD = "upheld"  # 属实: the nomination is withdrawn
    DISMISSED = "dismissed"  # 不属实: the nomination continues


class Outcome(StrEnum):
    """How a nomination ended; only HONOURED is on the honour list."""

    HONOURED = "honoured"  # 表彰
    WITHDRAWN = "withdrawn"  # 撤回 (objection upheld, or the unit withdrew it)
    VETOED = "vetoed"  # 联审否决
    FAILED = "failed"  # 评审未通过
    REVOKED = "revoked"  # 撤销称号, later, with its reason kept elsewhere


def after_investigation(finding: Finding) -> Outcome | None:
    """The outcome an investigation sets: WITHDRAWN when upheld; None (the nomination
    continues) when dismissed."""
    return Outcome.WITHDRAWN if finding is Finding.UPHELD else None


def close_refusal(outcomes: Mapping[str, Outcome | None]) -> Refused | None:
    """A Refused naming the nominations still without an outcome, or None: the
    campaign closes only when every nomination has one."""
    open_ids = sorted(nid for nid, o in outcomes.items() if o is None)
    if not open_ids:
        return None
    shown = ", ".join(open_ids[:10]) + (" …" if len(open_ids) > 10 else "")
    return Refused(
        "nominations_open",
        f"尚有 {len(open_ids)} 个推荐未办结 ({len(open_ids)} nominations have no outcome "
        f"yet): {shown}",
        "nominations",
    )


class Decided(BaseModel):
    """A nomination with its outcome, as the honour list takes it."""

    model_config = ConfigDict(frozen=True)

    nomination_id: str
    nominee: Nominee
    outcome: Outcome


class HonourRow(BaseModel):
    """One line of the honour list (表彰名单)."""

    model_config = ConfigDict(frozen=True)

    district: str
    name: str
    unit: str
    award: AwardKind
    nomination_id: str


HONOUR_COLUMNS = ("district", "name", "unit", "award", "award_zh", "nomination_id")


def honour_list(award: AwardKind, decided: Iterable[Decided]) -> list[HonourRow]:
    """The honoured nominations, by district (in DISTRICTS' order) then name (by code
    point: deterministic, not the surname-stroke order of a printed list) then id.
    Withdrawn, vetoed, failed and revoked nominations are not on it."""
    rows = [
        HonourRow(
            district=d.nominee.district,
            name=d.nominee.name,
            unit=d.nominee.unit,
            award=award,
            nomination_id=d.nomination_id,
        )
        for d in decided
        if d.outcome is Outcome.HONOURED
    ]
    order = {name: i for i, name in enumerate(DISTRICTS)}
    return sorted(rows, key=lambda r: (order.get(r.district, len(order)), r.name, r.nomination_id))


def to_csv(rows: Sequence[HonourRow]) -> bytes:
    """The honour list as CSV in UTF-8, with a header row (HONOUR_COLUMNS)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HONOUR_COLUMNS)
    for r in rows:
        writer.writerow(
            [r.district, r.name, r.unit, r.award.value, r.award.title_zh, r.nomination_id]
        )
    return out.getvalue().encode("utf-8")


def to_json(rows: Sequence[HonourRow]) -> str:
    """The honour list as a JSON array, Chinese kept as it is."""
    return json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2)


def to_text(rows: Sequence[HonourRow]) -> str:
    """The honour list in Chinese, grouped by district (in the list's order), as a notice
    prints it: within each district in 姓氏笔画 order, by the surname's stroke count
    (casework.strokes). The JSON and CSV keep the list's own order, which the closing's
    digest was made from."""
    from casework.strokes import stroke_order

    if not rows:
        return "（无 none）\n"
    lines = [f"{rows[0].award.title_zh}名单"]
    place = {d: i for i, d in enumerate(dict.fromkeys(r.district for r in rows))}
    printed = sorted(rows, key=lambda r: (place[r.district], stroke_order(r.name), r.nomination_id))
    district = None
    for r in printed:
        if r.district != district:
            district = r.district
            lines.append(f"{district}：")
        lines.append(f"  {r.name}　{r.unit}")
    return "\n".join(lines) + "\n"


INPUT_REFUSALS: frozenset[str] = frozenset(
    {
        "invalid_campaign",
        "invalid_nominee",
        "wrong_nominee_kind",
        "impossible_vote_count",
        "not_a_vetting_department",
    }
)
"""The award rules' refusals of what was typed (the action stays on offer), as a process's
`input_refusals` says them; the nomination process takes these over (tests/domain/test_offer.py)."""
STANDING_REFUSALS: frozenset[str] = frozenset(
    {"quota_exceeded", "already_vetted", "nominations_open"}
)
"""The award rules' refusals of an action that cannot be taken now (off the page)."""
