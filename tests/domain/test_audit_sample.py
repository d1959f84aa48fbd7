"""Sampling the relief cases for a special audit (casework/domain/audit_sample.py and the
`draw-sample` action of casework/domain/audit.py): the draw reproducible by its seed,
the size the rate's ceiling, the payment check of one case, who may draw and when, and
a sampled case's problem a finding in one step."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pydantic import ValidationError

from casework.domain.audit import FindingType, Sample, findings, samples, sheet_lines
from casework.domain.audit_sample import (
    MAX_SAMPLE_CASES,
    LedgerEntry,
    ProblemCode,
    SampledCase,
    SampleDraw,
    SampleProblem,
    SampleRequest,
    candidates_digest,
    chain_problem,
    draw,
    is_relief_subject,
    payment_problems,
    sample_size,
)
from casework.domain.offer import offered_actions
from tests.domain.test_audit import (
    AUDITOR,
    AUDITOR2,
    DISTRICT,
    LEAD,
    OUTSIDER,
    UNIT,
    Project,
)

CANDIDATES = [f"HR-2026-{n:06d}" for n in range(1, 41)]
REQUEST: dict[str, Any] = {"district": DISTRICT, "year": 2026, "rate": "0.3", "seed": 7}


# -- the draw -------------------------------------------------------------------------------------


def test_the_same_seed_draws_the_same_cases_and_another_seed_others() -> None:
    first = draw(CANDIDATES, "0.3", 7)
    assert first == draw(CANDIDATES, "0.3", 7)
    shuffled = CANDIDATES[:]
    random.Random(1).shuffle(shuffled)
    assert draw(shuffled, "0.3", 7) == first  # the candidates' order does not matter
    assert draw(CANDIDATES + CANDIDATES[:3], "0.3", 7) == first  # nor repeats
    assert draw(CANDIDATES, "0.3", 8) != first
    assert len(first) == 12 and first == sorted(first) and set(first) <= set(CANDIDATES)
    # Recorded once, drawn again for ever: the draw of seed 7 is this one.
    assert first[:3] == draw(CANDIDATES, "0.3", 7)[:3]
    assert candidates_digest(shuffled) == candidates_digest(CANDIDATES)
    assert candidates_digest(CANDIDATES[1:]) != candidates_digest(CANDIDATES)


@pytest.mark.parametrize(
    "n, rate, size",
    [
        (10, "0.3", 3),  # exactly: 0.3 × 10 in floating point is 3.0000000000000004
        (11, "0.3", 4),  # 3.3 rounded up
        (1, "0.3", 1),
        (0, "0.3", 0),
        (7, "1", 7),
        (100, "0.01", 1),
        (101, "0.01", 2),
        (1000, "0.001", 1),
        (3, "0.333", 1),
    ],
)
def test_the_size_is_the_rate_rounded_up(n: int, rate: str, size: int) -> None:
    assert sample_size(n, rate) == size
    assert len(draw([f"HR-2026-{i:06d}" for i in range(n)], rate, 1)) == size


def test_the_request_takes_a_rate_above_zero_up_to_one_and_the_audited_district() -> None:
    assert SampleRequest.model_validate({**REQUEST, "rate": "0.30"}).rate == "0.3"
    assert SampleRequest.model_validate({**REQUEST, "rate": "1.0"}).rate == "1"
    assert SampleRequest.model_validate({**REQUEST, "rate": ".25"}).rate == "0.25"
    assert SampleRequest.model_validate({k: v for k, v in REQUEST.items() if k != "rate"}).rate == (
        "0.3"
    )
    for bad in ("0", "0.0", "1.5", "2", "abc", "0.1234", "-0.3", "30%"):
        with pytest.raises(ValidationError):
            SampleRequest.model_validate({**REQUEST, "rate": bad})
    with pytest.raises(ValidationError):
        SampleRequest.model_validate({**REQUEST, "district": "上海市"})
    with pytest.raises(ValidationError):
        SampleRequest.model_validate({**REQUEST, "seed": "7"})  # a number, not text
    with pytest.raises(ValidationError):
        SampleRequest.model_validate({**REQUEST, "seed": -1})


def test_relief_money_is_what_the_subject_speaks_of() -> None:
    assert is_relief_subject("困难职工帮扶资金")
    assert is_relief_subject("2025年送温暖资金")
    assert not is_relief_subject("疫情防控专项经费")
    assert not is_relief_subject(None)


# -- the payment check ------------------------------------------------------------------------------


def entry(seq: int, kind: str, amount: int, year: int = 2026) -> LedgerEntry:
    return LedgerEntry(seq=seq, entry=kind, district=DISTRICT, year=year, amount_fen=amount)


PAID = [entry(20, "reserved", 300_000), entry(21, "disbursed", 300_000)]


def codes(problems: list[SampleProblem]) -> list[str]:
    return [p.code.value for p in problems]


def test_a_case_paid_as_approved_with_its_ledger_in_order_has_no_problem() -> None:
    assert payment_problems("approved", 300_000, PAID, PAID) == []
    # Refused before any money moved; failed transfer released.
    assert payment_problems("rejected", 300_000, [], []) == []
    released = [entry(20, "reserved", 300_000), entry(22, "released", 300_000)]
    assert payment_problems("failed", 300_000, released, released) == []


def test_a_ledger_that_differs_from_the_case_is_reported_with_the_difference() -> None:
    altered = [PAID[0], entry(21, "disbursed", 350_000)]
    [p] = payment_problems("approved", 300_000, PAID, altered)
    assert (p.code, p.amount_fen) == (ProblemCode.LEDGER_MISMATCH, 50_000)
    assert "seq 21" in p.detail and "3,500.00 元" in p.detail and "3,000.00 元" in p.detail
    [p] = payment_problems("approved", 300_000, PAID, PAID[:1])
    assert (p.code, p.amount_fen) == (ProblemCode.LEDGER_MISMATCH, 300_000)
    assert "missing from the ledger" in p.detail
    [p] = payment_problems("approved", 300_000, PAID, [*PAID, entry(30, "disbursed", 1)])
    assert "not in the case" in p.detail
    other_year = [PAID[0], entry(21, "disbursed", 300_000, year=2025)]
    assert codes(payment_problems("approved", 300_000, PAID, other_year)) == ["ledger_mismatch"]


def test_paying_other_than_approved_or_on_a_case_not_approved_is_reported() -> None:
    [p] = payment_problems("approved", 250_000, PAID, PAID)
    assert (p.code, p.amount_fen) == (ProblemCode.PAYMENT_MISMATCH, 50_000)
    assert p.detail == "核定 approved 2,500.00 元，拨付 paid 3,000.00 元"
    unpaid = [entry(20, "reserved", 300_000)]
    assert codes(payment_problems("approved", 300_000, unpaid, unpaid)) == [
        "payment_mismatch",  # nothing paid
        "payment_mismatch",  # reserved and never paid nor released
    ]
    [p] = payment_problems("rejected", 300_000, PAID, PAID)
    assert (p.code, p.amount_fen) == (ProblemCode.PAYMENT_MISMATCH, 300_000)
    assert "rejected" in p.detail


def test_a_broken_chain_names_the_seq() -> None:
    p = chain_problem(5, "hash does not match the stored event (altered)")
    assert (p.code, p.amount_fen) == (ProblemCode.CHAIN_BROKEN, 0)
    assert p.detail == "哈希链断裂于 seq 5：事件已被改动 (altered)"
    assert "missing events" in chain_problem(3, "seq gap: expected 3, found 4").detail


# -- the project's draw ----------------------------------------------------------------------------


def answered(request: dict[str, Any] = REQUEST, n: int = 10, **kw: Any) -> SampleDraw:
    """What the store would answer: `n` candidates; the second drawn case tampered with,
    the third paid more than approved."""
    req = SampleRequest.model_validate(request)
    ids = [f"HR-2026-{i:06d}" for i in range(1, n + 1)]
    drawn = draw(ids, req.rate, req.seed)
    cases = []
    for i, case_id in enumerate(drawn):
        problems = []
        if i == 1:
            problems = [chain_problem(4, "hash does not match the stored event (altered)")]
        if i == 2:
            problems = payment_problems("approved", 250_000, PAID, PAID)
        cases.append(
            SampledCase(
                case_id=case_id,
                outcome="approved",
                approved_fen=300_000 if i != 2 else 250_000,
                paid_fen=300_000,
                chain="broken" if i == 1 else "intact",
                payment="mismatch" if i == 2 else "ok",
                problems=problems,
            )
        )
    fields: dict[str, Any] = {
        "request": req,
        "candidates": n,
        "candidates_sha256": candidates_digest(ids),
        "size": len(drawn),
        "cases": cases,
        **kw,
    }
    return SampleDraw(**fields)


def in_fieldwork(**overrides: Any) -> Project:
    p = Project(**overrides)
    p.in_fieldwork()
    return p


def draw_on(p: Project, who: Any = AUDITOR, **data: Any) -> list[Any]:
    request = {**REQUEST, **data}
    p.process.drawn = answered(request)
    return p.act(who, "draw-sample", "按 30% 抽查 2026 年已结案件", **request)


def test_the_team_draws_a_sample_into_the_working_papers() -> None:
    p = in_fieldwork()
    [drawn] = draw_on(p)
    assert drawn.type == "sample.drawn" and drawn.actor_id == AUDITOR.id
    payload = drawn.payload
    assert payload["sample_id"] == "S1"
    assert (payload["district"], payload["year"], payload["rate"], payload["seed"]) == (
        DISTRICT,
        2026,
        "0.3",
        7,
    )
    assert (payload["candidates"], payload["size"], len(payload["cases"])) == (10, 3, 3)
    assert payload["candidates_sha256"] == answered().candidates_sha256
    assert [c["chain"] for c in payload["cases"]] == ["intact", "broken", "intact"]
    assert payload["note"] == "按 30% 抽查 2026 年已结案件"
    [sample] = samples(p.state)
    assert sample.cases == [c["case_id"] for c in payload["cases"]]
    assert set(sample.problems) == {sample.cases[1], sample.cases[2]}
    assert (sample.drawn_by, sample.drawn_on) == (AUDITOR.id, "2026-03-16")
    # Nothing personal: the applicant's name is nowhere in what is recorded.
    assert "applicant" not in str(payload) and "张" not in str(payload)
    # A second draw (the lead, another seed; the district left out: the project's)
    # is S2; the first stays.
    p.process.drawn = answered({**REQUEST, "seed": 8})
    p.act(LEAD, "draw-sample", None, year=2026, rate="0.3", seed=8)
    assert [s.id for s in samples(p.state)] == ["S1", "S2"]
    assert p.state.facts["sample_seq"] == 2


def test_only_the_team_draws_during_fieldwork_a_special_audit_of_relief_money() -> None:
    p = Project()
    p.process.drawn = answered()
    assert p.refused(AUDITOR, "draw-sample", **REQUEST).code == "fieldwork_not_started"
    p = in_fieldwork()
    p.process.drawn = answered()
    assert p.refused(UNIT, "draw-sample", **REQUEST).code == "role_not_held"
    assert p.refused(OUTSIDER, "draw-sample", **REQUEST).code == "not_on_team"
    assert "draw-sample" in offered_actions(p.process, p.state, AUDITOR2, p.now)
    assert "draw-sample" not in offered_actions(p.process, p.state, OUTSIDER, p.now)
    assert "draw-sample" not in offered_actions(p.process, p.state, UNIT, p.now)
    err = p.refused(AUDITOR, "draw-sample", **{**REQUEST, "district": "通州区"})
    assert (err.code, err.field) == ("other_district", "data.district")
    err = p.refused(AUDITOR, "draw-sample", **{**REQUEST, "rate": "1.5"})
    assert (err.code, err.field) == ("invalid_sample", "data.rate")
    for other in (
        {"audit_type": "income_expenditure", "subject": None},
        {"subject": "疫情防控专项经费"},
    ):
        q = in_fieldwork(**other)
        q.process.drawn = answered()
        assert q.refused(AUDITOR, "draw-sample", **REQUEST).code == "not_relief_audit"
        assert "draw-sample" not in offered_actions(q.process, q.state, AUDITOR, q.now)
    # After the draft, the working papers are closed.
    p.act(AUDITOR, "approve", "征求意见稿")
    assert p.refused(AUDITOR, "draw-sample", **REQUEST).code == "draft_sent"


def test_the_draw_waits_for_the_store_and_takes_only_its_answer_to_this_request() -> None:
    p = in_fieldwork()
    assert p.refused(AUDITOR, "draw-sample", **REQUEST).code == "sample_not_drawn"
    p.process.drawn = answered({**REQUEST, "seed": 8})  # answered another request
    assert p.refused(AUDITOR, "draw-sample", **REQUEST).code == "sample_not_drawn"
    p.process.drawn = answered(n=0)
    assert p.refused(AUDITOR, "draw-sample", **REQUEST).code == "no_candidates"
    p.process.drawn = answered(n=10, size=MAX_SAMPLE_CASES + 1, cases=[])
    err = p.refused(AUDITOR, "draw-sample", **REQUEST)
    assert (err.code, err.field) == ("sample_too_large", "data.rate")
    assert not samples(p.state)


def test_a_sampled_cases_problem_becomes_a_finding_in_one_step() -> None:
    p = in_fieldwork()
    draw_on(p)
    [sample] = samples(p.state)
    tampered, overpaid = sample.cases[1], sample.cases[2]
    [recorded] = p.act(AUDITOR, "record-finding", None, sample_case=overpaid)
    assert recorded.payload == {
        "finding_id": "F1",
        "finding_type": "books_mismatch",
        "amount_fen": 50_000,
        "description": f"抽样 S1 案件 {overpaid}：核定 approved 2,500.00 元，拨付 paid 3,000.00 元",
        "evidence": f"抽样 S1 工作底稿 · {overpaid}",
        "sample_case": overpaid,
        "sample_id": "S1",
        "facts": recorded.payload["facts"],
    }
    # What the auditor says stands over what the check suggests.
    p.act(AUDITOR2, "record-finding", None, sample_case=tampered, description="案卷被改动，已取证")
    [f1, f2] = findings(p.state)
    assert (f1.sample_case, f1.sample_id, f1.finding_type) == (
        overpaid,
        "S1",
        FindingType.BOOKS_MISMATCH,
    )
    assert (f2.finding_type, f2.amount_fen, f2.description) == (
        FindingType.INTERNAL_CONTROL,
        0,
        "案卷被改动，已取证",
    )
    assert p.state.facts["findings_amount_fen"] == 50_000
    err = p.refused(AUDITOR, "record-finding", comment=None, sample_case=overpaid)
    assert (err.code, err.field) == ("sample_case_recorded", "data.sample_case")
    assert "F1" in err.message
    err = p.refused(AUDITOR, "record-finding", comment=None, sample_case="HR-2026-999999")
    assert (err.code, err.field) == ("not_sampled", "data.sample_case")
    # A sampled case the check found nothing in: the auditor describes the finding.
    fine = sample.cases[0]
    err = p.refused(AUDITOR, "record-finding", comment=None, sample_case=fine)
    assert err.code == "invalid_finding"
    p.act(
        AUDITOR,
        "record-finding",
        None,
        sample_case=fine,
        finding_type="invalid_receipts",
        amount_fen=0,
        description="入户调查记录缺少签字",
        evidence="抽样 S1 · 案卷第 3 页",
    )
    assert findings(p.state)[-1].sample_case == fine
    # Without a sampled case, every field of the finding is given.
    err = p.refused(AUDITOR, "record-finding", comment=None, amount_fen=1)
    assert err.code == "invalid_finding" and "finding_type" in err.message


def test_an_ordinary_finding_is_recorded_as_before() -> None:
    p = in_fieldwork()
    [recorded] = p.act(
        AUDITOR,
        "record-finding",
        None,
        finding_type="over_standard",
        amount_fen=80_000,
        description="慰问品超标准",
        evidence="凭证 12",
    )
    assert list(recorded.payload) == [
        "finding_id",
        "finding_type",
        "amount_fen",
        "description",
        "evidence",
        "facts",
    ]
    assert "sample_case" not in recorded.payload["facts"]["finding.F1"]


def test_case_show_lists_the_sample_and_which_problems_became_findings() -> None:
    p = in_fieldwork()
    draw_on(p)
    [sample] = samples(p.state)
    p.act(AUDITOR, "record-finding", None, sample_case=sample.cases[2])
    rows = sheet_lines(p.state, p.events)
    shown = dict(rows)
    assert shown["抽样 sample S1"].splitlines() == [
        "崇川区 2026 年已结案件 · 抽 3/10 件 drawn",
        "比例 rate 0.3 · 种子 seed 7 · 2026-03-16 city.auditor",
        "有问题 2 件 with problems",
    ]
    tampered, overpaid = sample.cases[1], sample.cases[2]
    assert shown[f"  {tampered}"] == (
        "哈希链断裂于 seq 4：事件已被改动 (altered) (未记为审计发现 no finding yet)"
    )
    assert shown[f"  {overpaid}"] == "核定 approved 2,500.00 元，拨付 paid 3,000.00 元 → F1"
    assert shown["  无问题 no problem"] == f"1 件: {sample.cases[0]}"
    assert shown["F1"].splitlines()[-1] == f"证据 evidence: 抽样 S1 工作底稿 · {overpaid}"
    labels = [label for label, _ in rows]
    assert labels.index("F1") < labels.index("抽样 sample S1") < labels.index(f"  {tampered}")


def test_the_sample_fact_is_small() -> None:
    """500 drawn cases keep their ids in the case; the checks of each are in the event."""
    cases = [f"HR-2026-{i:06d}" for i in range(MAX_SAMPLE_CASES)]
    sample = Sample(
        id="S1",
        district=DISTRICT,
        year=2026,
        rate="1",
        seed=1,
        candidates=MAX_SAMPLE_CASES,
        drawn_on="2026-03-16",
        drawn_by=AUDITOR.id,
        cases=cases,
    )
    assert len(str(sample.fact())) < 20 * MAX_SAMPLE_CASES
