"""The year-end report from real rows: hardship cases driven through the domain to
their disbursement, programme payments as a payment run inserts them, legal-aid and
audit projections, the annual review's rows; the figures and the report's sentence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, update

from casework.domain.annual_report import render_markdown, wan
from casework.store.annual_report import AnnualReports
from casework.store.event_store import EventStore
from casework.store.tables import (
    case_tasks,
    cases,
    payments,
    programme_recipients,
    programmes,
    register_reviews,
)
from tests.store.builders import DISTRICT, T0, DomainCase

PAID_AT = datetime(2026, 1, 20, 2, 0, tzinfo=UTC)


def _programme(
    engine: Engine, programme_id: str, name: str, rows: list[tuple[str, str, int]]
) -> None:
    """A programme and its paid recipients: (district, category, amount_fen) per person."""
    with engine.begin() as conn:
        conn.execute(
            insert(programmes).values(
                programme_id=programme_id,
                kind="song_wen_nuan",
                name=name,
                year=2026,
                spec=json.dumps({"lists_due_on": "2026-01-15"}),
                status="closed",
                opened_by="city.officer1",
                opened_at=PAID_AT,
            )
        )
        for i, (district, category, fen) in enumerate(rows):
            digest = f"{programme_id}-{i:04d}"
            conn.execute(
                insert(programme_recipients).values(
                    programme_id=programme_id,
                    list_id=f"{programme_id}-L1",
                    district=district,
                    union_name="某厂工会",
                    line=i + 2,
                    key_id="k",
                    person_digest=digest,
                    name="某某",
                    id_masked="3206**********1234",
                    sealed="{}",
                    category=category,
                    amount_fen=fen,
                    status="paid",
                    updated_at=PAID_AT,
                )
            )
            conn.execute(
                insert(payments).values(
                    run_id=programme_id,
                    payee_key=digest,
                    source="programme",
                    district=district,
                    year=2026,
                    amount_fen=fen,
                    idempotency_key=f"{programme_id}:{digest}",
                    transfer_ref=f"TX-{i}",
                    seq=1,
                    paid_at=PAID_AT,
                )
            )


def _closed_case(engine: Engine, case_id: str, case_type: str, facts: dict[str, object]) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(cases).values(
                case_id=case_id,
                case_type=case_type,
                status="closed",
                stage="closed",
                district="海门区",
                opened_by="haimen.legal1",
                opened_at=T0,
                updated_at=T0 + timedelta(days=40),
                last_seq=9,
                state=json.dumps({"case_id": case_id, "facts": facts}),
            )
        )


def test_the_report_counts_what_the_store_holds(engine: Engine) -> None:
    store = EventStore(engine)
    store.set_budget(DISTRICT, 2026, 10**9)
    for n in range(2):  # two hardship cases disbursed 3,000 元 each in 2026
        DomainCase(store, f"HR-2026-00000{n + 1}", start=T0 + timedelta(minutes=n)).to_filed()
    _programme(
        engine,
        "PG-2026-000001",
        "送温暖",
        [("崇川区", "deep", 40_000), ("崇川区", "relative", 38_000), ("海门区", "deep", 40_000)],
    )
    _closed_case(engine, "LA-2026-000001", "legal-aid", {"recovered_fen": 1_250_000})
    _closed_case(
        engine,
        "AU-2026-000001",
        "audit",
        {
            "finding.F1": {"id": "F1", "status": "rectified"},
            "finding.F2": {"id": "F2", "status": "accepted"},
            "finding.F3": {"id": "F3", "status": "withdrawn"},
        },
    )
    with engine.begin() as conn:
        grassroots = case_tasks.c.stage == "grassroots_review"
        for case_id, days in (("HR-2026-000001", 4), ("HR-2026-000002", 10)):
            conn.execute(
                update(case_tasks)
                .where(grassroots, case_tasks.c.case_id == case_id)
                .values(overdue=1, opened_at=T0, closed_at=T0 + timedelta(days=days))
            )
        for i, outcome in enumerate(["renewed", "renewed", "exit_proposed", "reverify"]):
            conn.execute(
                insert(register_reviews).values(
                    year=2026,
                    case_id=f"HR-2025-00000{i}",
                    district=DISTRICT,
                    outcome=outcome,
                    reasons="[]",
                    spot_check=int(i == 0),
                    seq=1,
                    reviewed_at=PAID_AT,
                )
            )

    f = AnnualReports(engine).compute(2026)

    [p] = f.programmes
    assert (p.total.count, p.total.amount_fen) == (3, 118_000)
    assert p.by_district["崇川区"].model_dump() == {"count": 2, "amount_fen": 78_000}
    assert p.by_category["deep"].model_dump() == {"count": 2, "amount_fen": 80_000}
    assert (f.relief.total.count, f.relief.total.amount_fen) == (2, 600_000)
    assert f.relief.by_relief_type["living"].count == 2
    assert f.relief.by_category["relative"].amount_fen == 600_000
    assert (f.legal_aid.closed, f.legal_aid.recovered_fen) == (1, 1_250_000)
    assert f.legal_aid.opened == 1
    assert (f.audit.projects, f.audit.findings, f.audit.findings_rectified) == (1, 2, 1)
    assert f.audit.findings_accepted == 1
    assert f.review.households == 4 and f.review.by_outcome["renewed"] == 2
    assert f.review.spot_checks == 1
    stages = {s.stage: s for s in f.stages}
    assert stages["grassroots_review"].tasks == 2
    assert stages["grassroots_review"].overdue == 2
    assert (stages["grassroots_review"].median_days, stages["grassroots_review"].p90_days) == (
        7.0,
        10.0,
    )
    assert f.overdue == 2
    assert f.by_district()["崇川区"] == 78_000 + 600_000
    # Another year holds none of it.
    empty = AnnualReports(engine).compute(2025)
    assert empty.programmes == [] and empty.relief.total.count == 0

    md = render_markdown(f)
    assert "常态化开展送温暖活动,全年投入资金11.8万元,帮扶3人次" not in md  # 1,180 元 < 1万
    assert "常态化开展送温暖活动,全年投入资金1180元,帮扶3人次。" in md
    assert "困难职工帮扶案件发放救助资金6000元,帮扶2人次" in md
    assert "为职工追回1.3万元" in md
    assert "实施审计项目1个" in md and "已整改1个" in md
    assert "2026年度评选尚无表彰" in md  # no campaign closed with titles that year
    assert "复核在册困难职工家庭4户" in md
    assert "张三" not in md and "HR-2026" not in md  # aggregate figures only


def test_a_stored_report_is_replaced_by_a_recomputed_one(engine: Engine) -> None:
    reports = AnnualReports(engine)
    first = reports.store(reports.compute(2026), "schedule", PAID_AT)
    assert reports.stored(2026) == first
    _programme(engine, "PG-2026-000002", "送温暖", [("通州区", "deep", 50_000)])
    second = reports.fresh(2026, "city.officer1")
    stored = reports.stored(2026)
    assert stored == second and stored.figures.programmes[0].total.count == 1
    assert reports.stored(2025) is None


def test_amounts_read_as_the_seed_writes_them() -> None:
    assert wan(1_334_0000_00) == "1334万元"  # the seed: 全年投入资金1334万元
    assert wan(1_333_5000_00 - 1) == "1333万元"
    assert wan(1_333_5000_00) == "1334万元"
    assert wan(2_6000_00) == "2.6万元"
    assert wan(387_00) == "387元"


def test_the_seed_sentence_comes_out_word_for_word() -> None:
    from casework.domain.annual_report import ProgrammeFigures, Tally, programme_sentence

    p = ProgrammeFigures(
        programme_id="PG-2021-000001",
        name="送温暖",
        kind="song_wen_nuan",
        total=Tally(count=34429, amount_fen=1_334_0000_00),
    )
    assert programme_sentence(p) == "常态化开展送温暖活动,全年投入资金1334万元,帮扶34429人次"


def _honours(engine: Engine, award: str, outcomes: list[str | None]) -> None:
    """A campaign of `award` in 2027 with one row per outcome (the rows the nominations'
    projection writes)."""
    from casework.demo.people import demo_users
    from casework.domain.award import campaign_spec
    from casework.store.campaigns import Campaigns
    from casework.store.directory import Directory
    from casework.store.tables import campaign_nominations

    Directory(engine).upsert(demo_users())
    kind = "collective" if award in ("advanced_collective", "worker_pioneer") else "individual"
    spec = campaign_spec(
        {
            "name": f"2027 {award}",
            "award": award,
            "year": 2027,
            "quotas": {"崇川区": 10},
            "committee_members": 15,
        }
    )
    cid = Campaigns(engine).open(spec, Directory(engine).get("city.officer1").actor())
    with engine.begin() as conn:
        for i, outcome in enumerate(outcomes):
            conn.execute(
                insert(campaign_nominations).values(
                    case_id=f"NM-2027-{award[:3]}{i:03d}",
                    campaign_id=cid,
                    district="崇川区",
                    kind=kind,
                    name=f"候选{i}",
                    unit="南通某单位",
                    stage="closed",
                    outcome=outcome,
                    opened_at=T0,
                    updated_at=T0,
                )
            )


def test_the_years_titles_count_per_award_without_the_revoked(engine: Engine) -> None:
    _honours(engine, "model_worker_city", ["honoured", "honoured", "revoked", "withdrawn", None])
    _honours(engine, "advanced_collective", ["honoured", "failed"])
    f = AnnualReports(engine).compute(2027)
    assert f.honoured == {"model_worker_city": 2, "advanced_collective": 1}
    assert f.awards == 3
    assert "表彰市劳动模范2名、先进集体1个" in render_markdown(f)
    assert AnnualReports(engine).compute(2026).honoured == {}


def test_the_seed_years_awards_in_its_words() -> None:
    from casework.domain.annual_report import awards_sentence

    seed = {
        "model_worker_national": 11,
        "may_day_medal": 28,
        "worker_pioneer": 34,
        "model_worker_city": 200,
        "advanced_collective": 150,
    }
    assert awards_sentence(seed) == (
        "表彰市劳动模范200名、全国劳动模范11名、五一劳动奖章28名、工人先锋号34个、先进集体150个"
    )
