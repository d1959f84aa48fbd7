"""Sampling the relief cases for an audit (抽样审计): issue #11, processes.md sections 1
and 4.

A special audit of relief money (困难职工帮扶资金, 送温暖资金) draws closed hardship cases
of the audited district and year at random, checks each one's hash chain and its
payment against the relief-fund ledger, and keeps the result as working papers on the
project (`sample.drawn`): a list the auditors work through, each problem one step from
a finding (`record-finding` with `data.sample_case`). The same draw serves the ≥30%
spot check of section 1.

What is pure lives here: the request, the draw (seeded, so the same seed draws the same
cases from the same candidates), the sample size (the rate's ceiling, computed exactly),
and the payment check of one case. The store finds the candidates and reads each case
(casework.store.sampling), in the `draw_audit_sample` activity; the audit process
records what it answers (casework.domain.audit).

Which year a case belongs to: the relief fund's year it drew money from (its
`funds.reserved`), or, a case that drew none (refused, withdrawn), the year it was
opened, Beijing time.

Nothing personal enters the sample: case ids, outcomes, amounts, and the problems'
codes and fixed texts with seq numbers and amounts.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, field_validator

from casework.domain.org import DISTRICTS

MAX_SAMPLE_CASES = 500
"""A draw takes at most this many cases (a larger one is refused: a lower rate, or the
cases split by year)."""
MAX_SEED = 999_999_999
RATE_PATTERN = r"^(0(\.[0-9]{1,3})?|1(\.0{1,3})?|\.[0-9]{1,3})$"
"""A rate as typed: a decimal fraction of at most 3 places, up to 1 (all cases)."""
HARDSHIP_CASE_ID = r"^HR-[0-9]{4}-[0-9]{6}$"
RELIEF_SUBJECT_WORDS = ("帮扶", "送温暖", "救助")
"""A special audit samples relief cases when its subject speaks of relief money:
困难职工帮扶资金, 送温暖资金, 医疗救助资金."""


def is_relief_subject(subject: str | None) -> bool:
    return bool(subject) and any(w in str(subject) for w in RELIEF_SUBJECT_WORDS)


def exact_rate(rate: str) -> Fraction:
    """The rate as an exact fraction ("0.3" is 3/10, not 0.2999...)."""
    return Fraction(Decimal(rate))


def sample_size(candidates: int, rate: str) -> int:
    """ceil(rate × candidates), computed exactly: 0.3 of 10 cases is 3, 0.3 of 11 is 4."""
    return math.ceil(exact_rate(rate) * candidates)


def draw(candidates: Sequence[str], rate: str, seed: int) -> list[str]:
    """The cases drawn from `candidates` at `rate` with `seed`: the same candidates and
    seed draw the same cases (Python's Mersenne Twister seeded with the integer, then
    `random.sample` over the candidates in sorted order). Sorted."""
    ordered = sorted(set(candidates))
    k = sample_size(len(ordered), rate)
    return sorted(random.Random(seed).sample(ordered, k))


def candidates_digest(candidates: Sequence[str]) -> str:
    """sha256 of the sorted candidate ids, one a line: whoever draws again can tell that
    the candidates were the same."""
    return hashlib.sha256("\n".join(sorted(set(candidates))).encode()).hexdigest()


class SampleRequest(BaseModel):
    """What the auditor asks for (`draw-sample`): the district and year whose closed
    hardship cases are drawn from, the rate and the seed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    district: str | None = Field(
        default=None,
        description="The audited district, whose closed hardship cases are drawn from "
        "(left out: the project's).",
        json_schema_extra={"examples": ["崇川区"]},
    )
    year: int = Field(ge=2000, le=2100, strict=True, description="The relief fund's year.")
    rate: str = Field(
        default="0.3",
        pattern=RATE_PATTERN,
        description="The share of the cases drawn, a decimal up to 1 (0.3: 30%, rounded up).",
    )
    seed: int = Field(
        ge=0,
        le=MAX_SEED,
        strict=True,
        description="The random seed: the same seed draws the same cases again.",
    )

    @field_validator("district")
    @classmethod
    def _district(cls, v: str | None) -> str | None:
        if v is not None and v not in DISTRICTS:
            raise ValueError(f"未知区县 (unknown district); one of: {', '.join(DISTRICTS)}")
        return v

    @field_validator("rate")
    @classmethod
    def _rate(cls, v: str) -> str:
        try:
            rate = Decimal(v)
        except InvalidOperation:
            raise ValueError("抽样比例 (rate): a decimal such as 0.3") from None
        if not 0 < rate <= 1:
            raise ValueError("抽样比例须大于 0、不超过 1 (a rate above 0, at most 1)")
        return str(rate.normalize()) if rate != 1 else "1"

    def in_district(self, district: str) -> SampleRequest:
        """The request with its district: the one it names, else `district`."""
        return self if self.district else self.model_copy(update={"district": district})


class ProblemCode(StrEnum):
    CHAIN_BROKEN = "chain_broken"  # 哈希链断裂: the record was altered
    LEDGER_MISMATCH = "ledger_mismatch"  # 台账与案卷不符
    PAYMENT_MISMATCH = "payment_mismatch"  # 拨付金额与核定金额不符


class SampleProblem(BaseModel):
    code: ProblemCode
    detail: str
    """A fixed text with seq numbers and amounts: nothing personal."""
    amount_fen: int = 0
    """The money the problem concerns (the difference), 0 for the chain."""


class SampledCase(BaseModel):
    """One drawn case as checked."""

    case_id: str
    outcome: str | None
    approved_fen: int | None
    """The amount in force (the last approved, else the one applied for)."""
    paid_fen: int
    """Disbursed, by the relief-fund ledger."""
    chain: str
    """intact | broken"""
    payment: str
    """ok | mismatch"""
    problems: list[SampleProblem] = Field(default_factory=list)


class SampleQuery(BaseModel):
    """The `draw_audit_sample` activity's input."""

    case_id: str
    """The audit project asking (for the log)."""
    request: SampleRequest


class SampleDraw(BaseModel):
    """What the `draw_audit_sample` activity answers: the candidates counted, the cases
    drawn and each one's checks. `size` above MAX_SAMPLE_CASES: nothing drawn (the
    project refuses it)."""

    request: SampleRequest
    candidates: int
    candidates_sha256: str
    size: int
    cases: list[SampledCase] = Field(default_factory=list)

    def answers(self, request: SampleRequest) -> bool:
        return self.request == request


class LedgerEntry(BaseModel):
    """A relief-fund movement: as the case's events say it (`funds.reserved`,
    `funds.released`, `disbursement.completed`) or as the ledger holds it."""

    model_config = ConfigDict(frozen=True)

    seq: int
    entry: str  # reserved | released | disbursed
    district: str
    year: int
    amount_fen: int


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def _entry_text(e: LedgerEntry) -> str:
    return f"{e.entry} {yuan(e.amount_fen)} ({e.district} {e.year})"


def payment_problems(
    outcome: str | None,
    approved_fen: int | None,
    from_events: Sequence[LedgerEntry],
    in_ledger: Sequence[LedgerEntry],
) -> list[SampleProblem]:
    """A closed hardship case's money checked: the ledger holds exactly the movements its
    events record; an approved case was paid the amount in force, once; a case not
    approved was paid nothing; what was reserved was paid or released."""
    problems: list[SampleProblem] = []
    events = {e.seq: e for e in from_events}
    ledger = {e.seq: e for e in in_ledger}
    for seq in sorted(events.keys() | ledger.keys()):
        want, have = events.get(seq), ledger.get(seq)
        if want == have:
            continue
        if have is None:
            assert want is not None
            text = f"台账缺少 seq {seq} 的 {_entry_text(want)} (missing from the ledger)"
            amount = want.amount_fen
        elif want is None:
            text = f"台账多出 seq {seq} 的 {_entry_text(have)} (in the ledger, not in the case)"
            amount = have.amount_fen
        else:
            text = f"seq {seq}: 台账 ledger {_entry_text(have)} ≠ 案卷 case {_entry_text(want)}"
            amount = abs(have.amount_fen - want.amount_fen)
        problems.append(
            SampleProblem(code=ProblemCode.LEDGER_MISMATCH, detail=text, amount_fen=amount)
        )

    def total(entries: Sequence[LedgerEntry], kind: str) -> int:
        return sum(e.amount_fen for e in entries if e.entry == kind)

    paid = total(from_events, "disbursed")
    reserved, released = total(from_events, "reserved"), total(from_events, "released")
    if outcome == "approved":
        due = approved_fen or 0
        if paid != due:
            problems.append(
                SampleProblem(
                    code=ProblemCode.PAYMENT_MISMATCH,
                    detail=f"核定 approved {yuan(due)}，拨付 paid {yuan(paid)}",
                    amount_fen=abs(paid - due),
                )
            )
    elif paid:
        problems.append(
            SampleProblem(
                code=ProblemCode.PAYMENT_MISMATCH,
                detail=f"案件未获批准 ({outcome})，却拨付 paid {yuan(paid)}",
                amount_fen=paid,
            )
        )
    if reserved - released != paid:
        problems.append(
            SampleProblem(
                code=ProblemCode.PAYMENT_MISMATCH,
                detail=(
                    f"预留 reserved {yuan(reserved)} − 释放 released {yuan(released)} ≠ "
                    f"拨付 paid {yuan(paid)}"
                ),
                amount_fen=abs(reserved - released - paid),
            )
        )
    return problems


CHAIN_PROBLEM_TEXT = {
    "hash does not match the stored event (altered)": "事件已被改动 (altered)",
    "prev_hash does not match the previous event's hash": "链接不符 (link broken)",
}


def chain_problem(seq: int, problem: str) -> SampleProblem:
    """A break `EventStore.verify_cases` reported, as a problem of the sample."""
    words = CHAIN_PROBLEM_TEXT.get(problem, problem)
    if problem.startswith("seq gap"):
        words = f"事件缺失 (missing events: {problem})"
    return SampleProblem(
        code=ProblemCode.CHAIN_BROKEN, detail=f"哈希链断裂于 seq {seq}：{words}", amount_fen=0
    )


SAMPLE_KEY = "sample."
"""Each drawn sample is the fact `sample.<id>` (`sample.S1`)."""
SAMPLE_ID = re.compile(r"^S[1-9][0-9]{0,3}$")
