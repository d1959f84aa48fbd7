"""An audit project's findings and samples on its case page, as `casework case show`
prints them (casework.domain.audit.sheet_lines), in the page's language: each finding's
kind, money, state (its deadline, round, overdue mark) and open task; each sample's
draw and the cases its checks found wanting, with the finding each became."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casework.domain.audit import (
    CASE_TYPE,
    FINDING_STATUS_LABELS,
    FINDING_TYPE_LABELS,
    FindingStatus,
    findings,
    samples,
)
from casework.domain.case import CaseState
from casework.web.i18n import Texts


@dataclass(frozen=True)
class FindingRow:
    id: str
    status: str
    """The state's code (`rectifying`)."""
    status_words: str
    kind: str
    amount_fen: int
    due_at: datetime | None
    overdue: bool
    rounds: int
    task_id: str | None
    description: str
    evidence: str
    sample_case: str | None
    closed_by: str | None
    withdrawn: bool


@dataclass(frozen=True)
class SampledCase:
    case_id: str
    problems: list[str]
    finding: str | None
    """The active finding it became, if any."""


@dataclass(frozen=True)
class SampleRow:
    id: str
    district: str
    year: int
    rate: str
    seed: int
    drawn: int
    candidates: int
    drawn_on: str
    drawn_by: str
    wanting: list[SampledCase]
    fine: list[str]


@dataclass(frozen=True)
class AuditSheet:
    findings: list[FindingRow]
    samples: list[SampleRow]
    total_fen: int


def audit_sheet(state: CaseState, words: Texts) -> AuditSheet | None:
    """The findings and samples of an audit project (None for another case type)."""
    if state.case_type != CASE_TYPE:
        return None
    found = findings(state)
    rows = []
    for f in found:
        task = state.find_task(f.task_id) if f.task_id else None
        rows.append(
            FindingRow(
                id=f.id,
                status=f.status.value,
                status_words=words.pick(FINDING_STATUS_LABELS.get(f.status, (f.status,) * 2)),
                kind=words.pick(FINDING_TYPE_LABELS.get(f.finding_type, (f.finding_type,) * 2)),
                amount_fen=f.amount_fen,
                due_at=f.due_at if f.status is FindingStatus.RECTIFYING else None,
                overdue=bool(task is not None and task.overdue),
                rounds=f.rounds,
                task_id=task.task_id if task is not None else None,
                description=f.description,
                evidence=f.evidence,
                sample_case=f.sample_case,
                closed_by=f.closed_by if f.closed else None,
                withdrawn=not f.active,
            )
        )
    became = {f.sample_case: f.id for f in found if f.active and f.sample_case}
    drawn = [
        SampleRow(
            id=s.id,
            district=s.district,
            year=s.year,
            rate=s.rate,
            seed=s.seed,
            drawn=len(s.cases),
            candidates=s.candidates,
            drawn_on=s.drawn_on,
            drawn_by=s.drawn_by,
            wanting=[
                SampledCase(c, [p.detail for p in s.problems[c]], became.get(c))
                for c in s.cases
                if s.problems.get(c)
            ],
            fine=[c for c in s.cases if not s.problems.get(c)],
        )
        for s in samples(state)
    ]
    total = sum(f.amount_fen for f in found if f.active)
    return AuditSheet(rows, drawn, total)
