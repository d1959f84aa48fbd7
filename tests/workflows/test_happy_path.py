"""A hardship case from opening to filed: the stages it takes, what the officers see,
what the event store, the read models and the relief fund hold afterwards."""

from __future__ import annotations

import pytest
from temporalio.api.history.v1 import History

from casework.demo.people import DEMO_BUDGET_FEN
from casework.domain.hardship import HardshipConfig
from casework.domain.org import CITY
from tests.factories import id_number
from tests.workflows.conftest import Harness
from tests.workflows.steps import (
    CITY_LEADER,
    CITY_OFFICER,
    DISTRICT,
    GR2,
    LEADER,
    OFFICER,
    OFFICER2,
    OPENER,
    OVER_THRESHOLD,
    QUICK,
    REGISTERED,
    advance,
    case_row,
    event_types,
    events_of,
    history,
    ledger,
    state,
    tasks,
    visit,
)


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


def inbox_of(h: Harness, who: str) -> list[str]:
    return [item.case_id for item in h.queries.inbox(h.directory.get(who))]


ID_NUMBER = id_number(123)
PHONE = "13912345678"
ACCOUNT = "6222020000000005678"

CITY_ROUTE = [
    "grassroots_review",
    "home_visit",
    "public_notice",
    "district_review",
    "district_approval",
    "city_review",
    "city_approval",
    "disbursement",
    "receipt_confirmation",
    "registration",
    "filed",
]
DISTRICT_ROUTE = [s for s in CITY_ROUTE if not s.startswith("city_")]


async def test_over_threshold_case_goes_through_the_city_and_is_filed(harness: Harness) -> None:
    h = harness
    opened = await h.open(
        applicant={"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT},
        requested_amount_fen=OVER_THRESHOLD,
    )
    cid = opened.case_id
    assert cid.startswith("HR-") and opened.status == "open" and opened.opened_by == OPENER
    assert opened.stage == "grassroots_review"
    assert opened.open_task is not None and opened.open_task.role == "grassroots_officer"
    assert opened.open_task.due_at is not None  # 5 working days, the default limit

    v = await h.act(cid, GR2, "approve", "材料齐全")
    assert v.stage == "home_visit" and v.open_task is not None
    v = await visit(h, cid)
    assert v.stage == "public_notice" and v.open_task is None

    v = await advance(h, cid, "district_review")
    assert inbox_of(h, OFFICER) == [cid] and inbox_of(h, OFFICER2) == [cid]
    assert inbox_of(h, OPENER) == [] and inbox_of(h, "tongzhou.officer1") == []
    v = await h.act(cid, OFFICER, "approve", "审核通过")
    assert v.stage == "district_approval" and v.open_task.role == "district_leader"  # type: ignore[union-attr]
    v = await h.act(cid, LEADER, "approve", "同意")
    assert v.stage == "city_review"
    assert v.open_task is not None
    assert (v.open_task.role, v.open_task.district) == ("city_officer", CITY)
    assert inbox_of(h, CITY_OFFICER) == [cid] and inbox_of(h, LEADER) == []
    v = await h.act(cid, CITY_OFFICER, "approve", "市总审核通过")
    assert v.stage == "city_approval" and v.open_task.role == "city_leader"  # type: ignore[union-attr]
    v = await h.act(cid, CITY_LEADER, "approve", "同意")
    assert v.stage == "disbursement" and v.open_task is None

    # Before the receipt is confirmed the money is reserved and paid out.
    v = await advance(h, cid, "receipt_confirmation")
    reserved = events_of(h, cid, "funds.reserved")[0].payload
    year = reserved["year"]
    assert reserved["amount_fen"] == OVER_THRESHOLD
    assert h.store.fund_balance(DISTRICT, year) == {
        "budget_fen": DEMO_BUDGET_FEN,
        "committed_fen": OVER_THRESHOLD,
        "disbursed_fen": OVER_THRESHOLD,
        "remaining_fen": DEMO_BUDGET_FEN - OVER_THRESHOLD,
    }
    assert ledger(h, cid) == [("reserved", OVER_THRESHOLD), ("disbursed", OVER_THRESHOLD)]
    [order] = h.bank.transfers.values()
    assert (order.account, order.amount_fen, order.reference) == (ACCOUNT, OVER_THRESHOLD, cid)
    completed = events_of(h, cid, "disbursement.completed")[0].payload
    assert completed["transfer_ref"].startswith("FAKE-")

    v = await h.act(cid, GR2, "approve", "电话回访，申请人确认已到账")
    assert v.stage == "registration" and v.open_task.role == "district_officer"  # type: ignore[union-attr]
    final = await h.act(cid, OFFICER, "approve", "已录入全国系统", REGISTERED)
    assert (final.status, final.outcome, final.stage, final.open_task) == (
        "closed",
        "approved",
        "filed",
        None,
    )
    assert await h.result(cid) == final
    assert h.queries.case_view(cid) == final
    for who in (GR2, OFFICER, LEADER, CITY_OFFICER, CITY_LEADER):
        assert inbox_of(h, who) == [], who

    # The event log: every stage in order, each human step claimed then approved.
    types = event_types(h, cid)
    assert types == [
        *["case.opened", "eligibility.assessed"],  # the category the figures give
        *["case.stage_entered", "task.opened", "task.claimed", "task.approved"],
        *["case.stage_entered", "task.opened", "civil_affairs.checked"],
        *["task.claimed", "task.approved", "eligibility.assessed"],  # as the visit found
        *["case.stage_entered", "notice.ended"],
        *["case.stage_entered", "task.opened", "task.claimed", "task.approved"],
        *["case.stage_entered", "task.opened", "task.claimed", "task.approved"],
        *["case.stage_entered", "task.opened", "task.claimed", "task.approved"],
        *["case.stage_entered", "task.opened", "task.claimed", "task.approved"],
        *["case.stage_entered", "funds.reserved", "disbursement.completed"],
        *["case.stage_entered", "task.opened", "task.claimed", "task.approved"],
        *["case.stage_entered", "task.opened", "task.claimed", "task.approved"],
        # Filing (建档) is the household's; closing is the case's.
        *["case.stage_entered", "household.filed", "case.closed"],
    ]
    assert [e.payload["stage"] for e in events_of(h, cid, "case.stage_entered")] == CITY_ROUTE
    [filed] = events_of(h, cid, "household.filed")
    assert filed.actor_id == OFFICER
    assert filed.payload == {
        "district": DISTRICT,
        "applicant_name": "张三",
        "category": "relative",
        **REGISTERED,  # the national system's reference, as the registration recorded it
    }
    [closed] = events_of(h, cid, "case.closed")
    assert closed.payload == {"outcome": "approved", "reason": None}
    approvals = [(e.payload["stage"], e.actor_id) for e in events_of(h, cid, "task.approved")]
    assert approvals == [
        ("grassroots_review", GR2),
        ("home_visit", GR2),
        ("district_review", OFFICER),
        ("district_approval", LEADER),
        ("city_review", CITY_OFFICER),
        ("city_approval", CITY_LEADER),
        ("receipt_confirmation", GR2),
        ("registration", OFFICER),
    ]
    assert h.store.verify().broken == []
    assert [(i.seq, i.type) for i in h.queries.history(cid)] == list(enumerate(types, start=1))

    # The read models people look at.
    row = case_row(h, cid)
    assert (row["status"], row["outcome"], row["stage"]) == ("closed", "approved", "filed")
    assert (row["amount_fen"], row["applicant_name"], row["district"]) == (
        OVER_THRESHOLD,
        "张三",
        DISTRICT,
    )
    assert (row["task_role"], row["assignee"], row["due_at"]) == (None, None, None)
    assert row["last_seq"] == len(types)
    assert [(t["stage"], t["role"], t["district"]) for t in tasks(h, cid)] == [
        ("grassroots_review", "grassroots_officer", DISTRICT),
        ("home_visit", "grassroots_officer", DISTRICT),
        ("district_review", "district_officer", DISTRICT),
        ("district_approval", "district_leader", DISTRICT),
        ("city_review", "city_officer", CITY),
        ("city_approval", "city_leader", CITY),
        ("receipt_confirmation", "grassroots_officer", DISTRICT),
        ("registration", "district_officer", DISTRICT),
    ]
    assert [(t["status"], t["outcome"], t["closed_by"]) for t in tasks(h, cid)] == [
        ("done", "approved", who) for _, who in approvals
    ]
    assert all(t["due_at"] is not None and t["closed_at"] is not None for t in tasks(h, cid))

    # Nothing personal in clear went into Temporal's history. Searched in the payloads'
    # bytes: a JSON dump shows them base64-encoded, where no search finds anything.
    raw = History(events=(await history(h, cid)).events).SerializeToString()
    for secret in (ID_NUMBER, PHONE, ACCOUNT):
        assert secret.encode() not in raw


@pytest.mark.parametrize(
    ("amount", "category", "route"),
    [
        pytest.param(300_000, "relative", DISTRICT_ROUTE, id="under-threshold"),
        pytest.param(500_000, "relative", DISTRICT_ROUTE, id="exactly-5000-yuan"),
        pytest.param(500_001, "accident", CITY_ROUTE, id="one-fen-over"),
        pytest.param(300_000, "deep", CITY_ROUTE, id="deep-hardship-small-amount"),
    ],
)
async def test_city_stages_only_above_threshold_or_for_deep_hardship(
    harness: Harness, amount: int, category: str, route: list[str]
) -> None:
    h = harness
    cid = (await h.open(requested_amount_fen=amount, category=category)).case_id
    await advance(h, cid, "district_approval")
    v = await h.act(cid, LEADER, "approve", "同意")
    assert v.stage == route[route.index("district_approval") + 1]
    final = await advance(h, cid, "filed")
    assert (final.status, final.outcome) == ("closed", "approved")
    assert [e.payload["stage"] for e in events_of(h, cid, "case.stage_entered")] == route
    year = events_of(h, cid, "funds.reserved")[0].payload["year"]
    balance = h.store.fund_balance(DISTRICT, year)
    assert (balance["committed_fen"], balance["disbursed_fen"]) == (amount, amount)
    assert ledger(h, cid) == [("reserved", amount), ("disbursed", amount)]
    assert [t["stage"] for t in tasks(h, cid)] == [
        s for s in route if s not in ("public_notice", "disbursement", "filed")
    ]
    assert (await state(h, cid)).signers["district_approval"] == LEADER
