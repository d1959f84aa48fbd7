"""The funds ledger (issue #14): allocations and top-ups are events on the year's ledger
stream, checked against the directory in their transaction; the budgets are their
projection; the report's figures come from the cases' fund events and the programmes.
Every test here runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from casework.demo.people import demo_users
from casework.domain.org import Actor
from casework.domain.refusal import Refused
from casework.store import projections
from casework.store.db import migrate
from casework.store.directory import Directory
from casework.store.event_store import ActorRefused, EventStore
from casework.store.funds import ALLOCATED, MIGRATION_ACTOR, TOPPED_UP, FundsLedger
from casework.store.tables import case_events, relief_fund_budgets
from tests.store.builders import DISTRICT, run_concurrently
from tests.store.test_funds import YEAR, funds, open_cases, reserve

OTHER = "通州区"


@pytest.fixture
def who(engine: Engine) -> dict[str, Actor]:
    directory = Directory(engine)
    directory.upsert(demo_users())
    return {
        u: directory.get(u).actor()
        for u in (
            "city.officer1",
            "city.officer2",
            "chongchuan.officer1",
            "chongchuan.grassroots1",
            "tongzhou.officer1",
        )
    }


@pytest.fixture
def ledger(engine: Engine) -> FundsLedger:
    return FundsLedger(engine)


def ledger_events(engine: Engine, year: int = YEAR) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            (r.type, r.actor_id)
            for r in conn.execute(
                select(case_events.c.type, case_events.c.actor_id)
                .where(case_events.c.case_id == f"FD-{year}")
                .order_by(case_events.c.seq)
            )
        ]


def relief(ledger: FundsLedger, actor: Actor, district: str = DISTRICT) -> dict[str, int]:
    report = ledger.report(actor, YEAR)
    (row,) = [d for d in report.districts if d.district == district]
    figures = row.sources[0]
    assert figures.source == "relief"
    return figures.model_dump(exclude={"source", "label"})


def test_a_city_officer_allocates_and_tops_up_and_watches_reserved_paid_released(
    engine: Engine, store: EventStore, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    city = who["city.officer1"]
    moved = ledger.allocate(city, DISTRICT, YEAR, 1_000_000)
    assert (moved.type, moved.budget_fen) == (ALLOCATED, 1_000_000)
    assert ledger.top_up(city, DISTRICT, YEAR, 500_000).budget_fen == 1_500_000
    assert ledger_events(engine) == [(ALLOCATED, city.id), (TOPPED_UP, city.id)]
    assert store.fund_balance(DISTRICT, YEAR)["budget_fen"] == 1_500_000

    a, b, c = open_cases(store, 3)
    reserve(store, a, 300_000)
    reserve(store, b, 200_000)
    reserve(store, c, 100_000)
    store.append(a, 2, [funds(a, "funds.released", 300_000)])  # the transfer failed
    store.append(b, 2, [funds(b, "disbursement.completed", 200_000)])
    assert relief(ledger, city) == {
        "budget_fen": 1_500_000,
        "reserved_fen": 100_000,  # c, not paid yet
        "paid_fen": 200_000,
        "released_fen": 300_000,
        "left_fen": 1_200_000,  # budget - reserved - paid
    }


def test_only_a_city_officer_moves_funds_and_bad_input_names_its_field(
    engine: Engine, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    city = who["city.officer1"]
    with pytest.raises(Refused) as refused:
        ledger.allocate(who["chongchuan.officer1"], DISTRICT, YEAR, 100)
    assert refused.value.code == "role_not_held"
    cases = [
        ((city, "不存在区", YEAR, 100), "district"),
        ((city, DISTRICT, 1999, 100), "year"),
        ((city, DISTRICT, YEAR, 0), "amount_fen"),
        ((city, DISTRICT, YEAR, -5), "amount_fen"),
    ]
    for args, field in cases:
        with pytest.raises(Refused) as refused:
            ledger.allocate(*args)
        assert refused.value.field == field
    with pytest.raises(Refused) as refused:
        ledger.top_up(city, DISTRICT, YEAR, 100)
    assert refused.value.code == "not_allocated"
    ledger.allocate(city, DISTRICT, YEAR, 100)
    with pytest.raises(Refused) as refused:
        ledger.allocate(city, DISTRICT, YEAR, 100)
    assert refused.value.code == "already_allocated"
    assert ledger_events(engine) == [(ALLOCATED, city.id)]  # nothing else half-written


def test_the_directory_is_asked_in_the_movements_transaction(
    engine: Engine, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    forged = Actor(id="nobody", roles=who["city.officer1"].roles, district="市总工会")
    with pytest.raises(ActorRefused):
        ledger.allocate(forged, DISTRICT, YEAR, 100)
    assert ledger_events(engine) == []
    assert ledger.report(who["city.officer1"], YEAR).districts == []


def test_a_reduction_never_falls_below_what_is_committed(
    store: EventStore, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    city = who["city.officer1"]
    ledger.allocate(city, DISTRICT, YEAR, 500_000)
    (a,) = open_cases(store, 1)
    reserve(store, a, 300_000)
    with pytest.raises(Refused) as refused:
        ledger.reduce(city, DISTRICT, YEAR, 200_001)
    assert (refused.value.code, refused.value.field) == ("below_committed", "amount_fen")
    assert ledger.reduce(city, DISTRICT, YEAR, 200_000).budget_fen == 300_000


def test_a_retried_command_with_the_same_key_moves_the_money_once(
    engine: Engine, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    city = who["city.officer1"]
    ledger.allocate(city, DISTRICT, YEAR, 100_000, key="alloc-1")
    first = ledger.top_up(city, DISTRICT, YEAR, 50_000, key="top-1")
    again = ledger.top_up(city, DISTRICT, YEAR, 50_000, key="top-1")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.event_id == first.event_id and again.budget_fen == 150_000
    assert len(ledger_events(engine)) == 2
    with pytest.raises(Refused) as refused:
        ledger.top_up(city, DISTRICT, YEAR, 70_000, key="top-1")
    assert (refused.value.code, refused.value.field) == ("key_reused", "key")


def test_concurrent_top_ups_all_count(
    engine: Engine, store: EventStore, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    ledger.allocate(who["city.officer1"], DISTRICT, YEAR, 1)
    jobs = [
        lambda w=w: ledger.top_up(who[w], DISTRICT, YEAR, 100)
        for w in ("city.officer1", "city.officer2") * 4
    ]
    assert not [r for r in run_concurrently(*jobs) if isinstance(r, BaseException)]
    assert store.fund_balance(DISTRICT, YEAR)["budget_fen"] == 801


def test_district_staff_see_their_own_district_and_others_see_nothing(
    ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    city = who["city.officer1"]
    ledger.allocate(city, DISTRICT, YEAR, 100)
    ledger.allocate(city, OTHER, YEAR, 200)
    assert [d.district for d in ledger.report(city, YEAR).districts] == sorted([DISTRICT, OTHER])
    own = ledger.report(who["chongchuan.officer1"], YEAR)
    assert [d.district for d in own.districts] == [DISTRICT]
    assert own.total.budget_fen == 100
    with pytest.raises(Refused) as refused:
        ledger.report(who["chongchuan.officer1"], YEAR, OTHER)
    assert refused.value.code == "outside_jurisdiction"
    with pytest.raises(Refused) as refused:
        ledger.report(who["chongchuan.grassroots1"], YEAR)
    assert refused.value.code == "role_not_held"


def test_a_rebuild_reproduces_the_budgets_and_the_ledger(
    engine: Engine, store: EventStore, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    city = who["city.officer1"]
    ledger.allocate(city, DISTRICT, YEAR, 900_000)
    ledger.top_up(city, DISTRICT, YEAR, 100_000)
    ledger.allocate(city, OTHER, YEAR, 300_000)
    ledger.reduce(city, OTHER, YEAR, 50_000)
    store.set_budget(DISTRICT, YEAR + 1, 42)  # the demo's seeding: the same events
    a, b = open_cases(store, 2)
    reserve(store, a, 300_000)
    reserve(store, b, 200_000)
    store.append(b, 2, [funds(b, "disbursement.completed", 200_000)])
    before = projections.projection_snapshot(engine)
    report = ledger.report(city, YEAR)
    assert before["relief_fund_budgets"]
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == before
    assert ledger.report(city, YEAR) == report
    with engine.connect() as conn:
        seeded = conn.scalar(
            select(func.count()).where(
                case_events.c.case_id == f"FD-{YEAR + 1}", case_events.c.actor_id == "system.seed"
            )
        )
    assert seeded == 1


def test_budgets_written_before_the_ledger_are_adopted_once_and_survive_a_rebuild(
    engine: Engine, ledger: FundsLedger, who: dict[str, Actor]
) -> None:
    """A database from before budgets moved by events holds budget rows with no
    movement: the schema migration records one `funds.allocated` for each, once, so a
    rebuild keeps them."""
    ledger.allocate(who["city.officer1"], DISTRICT, YEAR, 900_000)
    with engine.begin() as conn:  # as the old `set_budget` wrote it: the row alone
        conn.execute(
            relief_fund_budgets.insert().values(district=OTHER, year=YEAR, budget_fen=123_400)
        )
    migrate(engine)
    migrate(engine)  # the next start: nothing more to adopt
    with engine.connect() as conn:
        adopted = conn.execute(
            select(case_events.c.type, case_events.c.payload).where(
                case_events.c.case_id == f"FD-{YEAR}", case_events.c.actor_id == MIGRATION_ACTOR
            )
        ).all()
    assert [row.type for row in adopted] == [ALLOCATED]
    assert OTHER in str(adopted[0].payload) and "123400" in str(adopted[0].payload)
    before = projections.projection_snapshot(engine)
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == before
    report = ledger.report(who["city.officer1"], YEAR)
    figures = {d.district: d.total.budget_fen for d in report.districts}
    assert figures[OTHER] == 123_400 and figures[DISTRICT] == 900_000
