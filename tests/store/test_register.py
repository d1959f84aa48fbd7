"""The household register on SQLite and PostgreSQL: `household.filed` puts a household
on it, `household.exited` (recorded by the worker's `record_household_exit` on the
filing case's stream) takes it off, `projections rebuild` gives the same rows; and the
retention of the applicant's personal data counts from the exit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, delete, inspect, select, update
from temporalio.exceptions import ApplicationError

from activities.register import HouseholdExits
from casework.demo.people import demo_users
from casework.domain.case import Action, Refused
from casework.domain.contracts import RecordHouseholdExit
from casework.domain.eligibility import EligibilityRules
from casework.domain.org import Actor, Role
from casework.domain.register import ExitKind, ExitRequest, HouseholdRecord, exit_event_id
from casework.store import projections
from casework.store.db import alembic_config
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.households import HouseholdRegister
from casework.store.personal import ERASED_EVENT, PersonalData, years_after
from casework.store.queries import Queries
from casework.store.tables import households
from tests.conftest import TEST_KEYRING
from tests.store.builders import (
    DISTRICT,
    DISTRICT_OFFICER,
    OPENER,
    REGISTERED,
    T0,
    DomainCase,
    actor,
    event,
    opened,
    run_concurrently,
)

GRASSROOTS = "chongchuan.grassroots2"
OFFICER = "chongchuan.officer1"
ADMIN = actor("city.admin", Role.ADMIN, district="市总工会")
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
"""The exits' report time: the six months before are 2026-06 .. 2026-11 (Beijing)."""
ABOVE = [95_000] * 6
YEARS = 10


@pytest.fixture(autouse=True)
def people(engine: Engine) -> Directory:
    directory = Directory(engine)
    directory.upsert(demo_users())
    return directory


def who(engine: Engine, user_id: str) -> Actor:
    return Directory(engine).get(user_id).actor()


def filed(store: EventStore, n: int = 1) -> DomainCase:
    """A hardship case worked to the end by the real domain: its household filed."""
    store.set_budget(DISTRICT, 2026, 10**9)
    return DomainCase(store, f"HR-2026-{n:06d}", start=T0 + timedelta(days=n)).to_filed()


def leave(
    store: EventStore,
    case_id: str,
    by: Actor,
    kind: ExitKind = ExitKind.INCOME,
    incomes: list[int] | None = None,
    comment: str | None = "收入连续六个月高于低保",
    key: str = "k-1",
    now: datetime = NOW,
) -> HouseholdRecord:
    """What the `HouseholdExit` workflow's activity does with a request."""
    req = RecordHouseholdExit(
        case_id=case_id,
        actor=by,
        request=ExitRequest(
            kind=kind,
            comment=comment,
            incomes_fen=(ABOVE if kind is ExitKind.INCOME else []) if incomes is None else incomes,
        ),
        rules=EligibilityRules(),
        reported_at=now,
        event_id=exit_event_id(case_id, key),
    )
    return HouseholdExits(store).record_household_exit(req)


def refused(call: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        call()
    return raised.value


def types(store: EventStore, case_id: str) -> list[str]:
    return [e.type for e in store.read(case_id)]


# -- the register --------------------------------------------------------------------------


def test_a_filed_case_puts_its_household_on_the_register(engine: Engine, store: EventStore) -> None:
    case = filed(store)
    filing = next(e for e in store.read(case.case_id) if e.type == "household.filed")
    record = HouseholdRegister(engine).get(case.case_id)
    assert record == HouseholdRecord(
        case_id=case.case_id,
        district=DISTRICT,
        applicant_name="张三",
        category="relative",
        national_ref=REGISTERED["national_ref"],  # as the registration recorded it
        filed_at=filing.occurred_at,
        filed_by=DISTRICT_OFFICER.id,
    )
    assert record.status == "on_register"
    # A filing that names the national-system reference keeps it.
    cid = "HR-2026-000050"
    store.append(cid, 0, [opened(cid, district="通州区")])
    store.append(
        cid,
        1,
        [
            event(
                cid,
                "household.filed",
                {"district": "通州区", "applicant_name": "李四", "category": "deep",
                 "national_ref": "JS-NT-2026-000777"},
                actor="tongzhou.officer1",
                at=T0 + timedelta(days=3),
            ),
            event(cid, "case.closed", {"outcome": "approved", "reason": None}),
        ],
    )  # fmt: skip
    other = HouseholdRegister(engine).get(cid)
    assert other is not None
    assert (other.national_ref, other.category, other.filed_by) == (
        "JS-NT-2026-000777",
        "deep",
        "tongzhou.officer1",
    )
    # Listed newest first, by district and status.
    register = HouseholdRegister(engine)
    assert [h.case_id for h in register.page().items] == [cid, case.case_id]
    assert [h.case_id for h in register.page(district=DISTRICT).items] == [case.case_id]
    assert register.page(status="exited").items == []
    first = register.page(limit=1)
    assert [h.case_id for h in first.items] == [cid] and first.next_cursor == cid
    assert [h.case_id for h in register.page(after=first.next_cursor).items] == [case.case_id]
    # A case that never reached filing is not on it.
    assert register.get(DomainCase(store, "HR-2026-000060").open().case_id) is None


def test_an_income_exit_is_recorded_on_the_filing_case_after_its_closing(
    engine: Engine, store: EventStore
) -> None:
    case = filed(store)
    before = types(store, case.case_id)
    assert before[-2:] == ["household.filed", "case.closed"]
    record = leave(store, case.case_id, who(engine, GRASSROOTS))
    log = store.read(case.case_id)
    assert [e.type for e in log] == [*before, "household.exited"]
    exited = log[-1]
    assert (exited.actor_id, exited.occurred_at) == (GRASSROOTS, NOW)
    assert exited.payload["kind"] == "income" and exited.payload["months_required"] == 6
    assert [m["month"] for m in exited.payload["months"]][-1] == "2026-11"
    assert (record.status, record.exited_at, record.exit_kind, record.exited_by) == (
        "exited",
        NOW,
        ExitKind.INCOME,
        GRASSROOTS,
    )
    assert record.exit_reason == "收入连续六个月高于低保"
    detail = HouseholdRegister(engine).detail(case.case_id)
    assert detail is not None and detail.id_number is not None
    assert "*" in detail.id_number  # masked
    assert [m.income_per_head_fen for m in detail.exit_months or []] == ABOVE
    assert store.verify().broken == []
    # The case's own row moved on with the event; the case stays closed.
    state = Queries(engine).case_state(case.case_id)
    assert (state.status, state.outcome, state.seq) == ("closed", "approved", len(log))


def test_the_register_rebuilds_to_the_same_rows(engine: Engine, store: EventStore) -> None:
    cases = [filed(store, n) for n in (1, 2, 3)]
    leave(store, cases[0].case_id, who(engine, GRASSROOTS))
    leave(
        store,
        cases[2].case_id,
        who(engine, OFFICER),
        ExitKind.ANNUAL_REVIEW,
        comment="年度复核：已就业，收入超过标准",
    )
    live = projections.projection_snapshot(engine)
    assert len(live["households"]) == 3
    assert sum('"exited_at": null' in row for row in live["households"]) == 1
    with engine.begin() as conn:  # wreck it, so a rebuild that did nothing fails
        conn.execute(delete(households).where(households.c.case_id == cases[1].case_id))
        conn.execute(update(households).values(exited_at=None, exit_reason="wrecked"))
    assert projections.projection_snapshot(engine) != live
    projections.rebuild(engine, batch=5)
    assert projections.projection_snapshot(engine) == live


# -- the exit's rules, as the worker applies them -----------------------------------------------


def test_an_exit_sent_again_is_recorded_once_and_another_is_refused(
    engine: Engine, store: EventStore
) -> None:
    case = filed(store)
    grassroots = who(engine, GRASSROOTS)
    first = leave(store, case.case_id, grassroots, key="desk-7")
    # The same request again (a retried activity, a client's retry): the same answer.
    assert leave(store, case.case_id, grassroots, key="desk-7", now=NOW + timedelta(1)) == first
    assert types(store, case.case_id).count("household.exited") == 1
    # Another exit of the same household: refused, naming the day it left.
    again = refused(lambda: leave(store, case.case_id, grassroots, key="desk-8"))
    assert (again.type, again.non_retryable) == ("already_exited", True)
    assert "2026-12-02" in again.message
    assert types(store, case.case_id).count("household.exited") == 1


def test_refused_exits_record_nothing(engine: Engine, store: EventStore) -> None:
    case = filed(store)
    log = store.read(case.case_id)
    low = refused(
        lambda: leave(store, case.case_id, who(engine, GRASSROOTS), incomes=[95_000, 80_000] * 3)
    )
    assert (low.type, low.details[0]) == (
        "not_above_di_bao",
        {"code": "not_above_di_bao", "field": "incomes_fen.1"},
    )
    assert "2026-07" in low.message
    short = refused(lambda: leave(store, case.case_id, who(engine, GRASSROOTS), incomes=ABOVE[:5]))
    assert short.type == "too_few_months"
    wrong_role = refused(lambda: leave(store, case.case_id, who(engine, OFFICER)))
    assert wrong_role.type == "role_not_held"
    elsewhere = refused(lambda: leave(store, case.case_id, who(engine, "tongzhou.grassroots1")))
    assert elsewhere.type == "outside_jurisdiction"
    open_case = DomainCase(store, "HR-2026-000099").open()
    never = refused(lambda: leave(store, open_case.case_id, who(engine, GRASSROOTS)))
    assert never.type == "not_on_register"
    assert store.read(case.case_id) == log
    assert HouseholdRegister(engine).get(case.case_id).status == "on_register"  # type: ignore[union-attr]


def test_the_worker_checks_the_actor_against_the_directory(
    engine: Engine, store: EventStore, people: Directory
) -> None:
    """An exit sent straight to Temporal in someone's name: the actor must be who the
    directory says, with the roles and district claimed, and enabled."""
    case = filed(store)
    log = store.read(case.case_id)
    # A grassroots officer claiming the district officer's role for an annual review.
    forged = Actor(id=GRASSROOTS, roles=(Role.DISTRICT_OFFICER,), district=DISTRICT)
    r = refused(lambda: leave(store, case.case_id, forged, ExitKind.ANNUAL_REVIEW, comment="复核"))
    assert (r.type, r.non_retryable) == ("actor_mismatch", True)
    nobody = Actor(id="nobody", roles=(Role.GRASSROOTS_OFFICER,), district=DISTRICT)
    assert refused(lambda: leave(store, case.case_id, nobody)).type == "unknown_actor"
    real = who(engine, GRASSROOTS)
    people.disable(GRASSROOTS)
    assert refused(lambda: leave(store, case.case_id, real)).type == "actor_disabled"
    assert store.read(case.case_id) == log
    people.enable(GRASSROOTS)
    assert leave(store, case.case_id, real).status == "exited"


def test_two_exits_at_once_record_one(engine: Engine, store: EventStore) -> None:
    case = filed(store)
    grassroots, officer = who(engine, GRASSROOTS), who(engine, OFFICER)
    outcomes = run_concurrently(
        lambda: leave(store, case.case_id, grassroots, key="a"),
        lambda: leave(
            store, case.case_id, officer, ExitKind.ANNUAL_REVIEW, comment="复核", key="b"
        ),
    )
    recorded = [o for o in outcomes if isinstance(o, HouseholdRecord)]
    failed = [o for o in outcomes if isinstance(o, ApplicationError)]
    assert len(recorded) == 1 and len(failed) == 1, outcomes
    # The loser failed its attempt (a conflict, retried) or was refused outright; its
    # retry is refused either way.
    assert failed[0].type in ("ConcurrencyConflict", "already_exited")
    loser_key = "b" if recorded[0].exit_kind is ExitKind.INCOME else "a"
    retry = refused(
        lambda: leave(
            store,
            case.case_id,
            officer if loser_key == "b" else grassroots,
            ExitKind.ANNUAL_REVIEW if loser_key == "b" else ExitKind.INCOME,
            comment="复核",
            key=loser_key,
        )
    )
    assert retry.type == "already_exited"
    assert types(store, case.case_id).count("household.exited") == 1


# -- retention counts from the exit -------------------------------------------------------------


def keyed(engine: Engine, case: DomainCase) -> DomainCase:
    """The case with a data key of its own, as intake gives it, so that erasing its
    personal data destroys something."""
    with engine.begin() as conn:
        PersonalData(engine, TEST_KEYRING).create_key(conn, case.case_id)
    return case


def test_a_household_on_the_register_is_not_erased_and_its_period_runs_from_the_exit(
    engine: Engine, store: EventStore
) -> None:
    case = keyed(engine, filed(store))
    personal = PersonalData(engine, None)
    closed = case.stored[-1].occurred_at
    long_after = years_after(closed, YEARS + 5)
    on_file = pytest.raises(Refused)
    with on_file as r:
        personal.erase(case.case_id, ADMIN, retention_years=YEARS, now=long_after)
    assert r.value.code == "on_register"
    assert personal.sweep(ADMIN, retention_years=YEARS, now=long_after, dry_run=True) == []

    exit_at = years_after(closed, 2)
    leave(store, case.case_id, who(engine, GRASSROOTS), now=exit_at)
    # Ten years from the closing is not enough: they run from the exit.
    with pytest.raises(Refused) as early:
        personal.erase(case.case_id, ADMIN, retention_years=YEARS, now=years_after(closed, YEARS))
    until = years_after(exit_at, YEARS)
    assert early.value.code == "retention_period"
    assert f"{until.astimezone(UTC):%Y-%m-%d}" in early.value.message
    assert "解困脱困" in early.value.message
    just_before = until - timedelta(seconds=1)
    assert personal.sweep(ADMIN, retention_years=YEARS, now=just_before, dry_run=True) == []
    assert [
        (x.case_id, x.result)
        for x in personal.sweep(ADMIN, retention_years=YEARS, now=until, dry_run=True)
    ] == [(case.case_id, "due")]
    erased = personal.erase(case.case_id, ADMIN, retention_years=YEARS, now=until)
    assert erased.type == ERASED_EVENT
    assert erased.payload["exited_at"] == exit_at.isoformat()
    detail = HouseholdRegister(engine).detail(case.case_id)
    assert detail is not None and detail.id_number == "[已销毁 erased]"


def test_a_case_that_filed_nothing_counts_from_its_closing(
    engine: Engine, store: EventStore
) -> None:
    case = keyed(engine, DomainCase(store, "HR-2026-000001").open())
    case.act(OPENER, Action.WITHDRAW, "撤回")
    closed = case.stored[-1].occurred_at
    personal = PersonalData(engine, None)
    due = personal.sweep(ADMIN, retention_years=YEARS, now=years_after(closed, YEARS), dry_run=True)
    assert [x.case_id for x in due] == [case.case_id]
    assert (
        "exited_at"
        not in personal.erase(
            case.case_id, ADMIN, retention_years=YEARS, now=years_after(closed, YEARS)
        ).payload
    )
    with engine.connect() as conn:
        assert conn.execute(select(households)).all() == []


def test_the_migration_puts_households_filed_before_it_on_the_register(
    engine: Engine, store: EventStore
) -> None:
    """Files recorded before the register existed (migration 0009) are on it after the
    upgrade, as the projection would have written them."""
    for n in (1, 2):
        filed(store, n)
    live = projections.projection_snapshot(engine)["households"]
    assert len(live) == 2
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def to(revision: str, upgrade: bool) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.upgrade if upgrade else command.downgrade)(cfg, revision)

    to("0008", upgrade=False)
    assert "households" not in inspect(engine).get_table_names()
    to("head", upgrade=True)
    assert projections.projection_snapshot(engine)["households"] == live
