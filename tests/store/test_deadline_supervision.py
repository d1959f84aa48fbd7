"""Case deadlines in the supervisor's views, on SQLite and PostgreSQL: `stuck` lists a
case near its limitation date (inside its warning window) or past it, with the
deadline's name, beside the stuck tasks and in the same order (soonest due first);
`board` counts the active deadlines per district and name. The cases are the test-only
limitation process's (tests/limitation.py), driven through the domain and appended as
the workflow appends them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.cli import app
from casework.demo.people import demo_users
from casework.domain.calendar import CHINA_TZ, STATUTORY
from casework.domain.org import CITY, Role
from casework.domain.processes import PROCESSES
from casework.store.directory import Directory, User
from casework.store.event_store import EventStore
from casework.store.supervision import SupervisionRefused, SupervisorQueries
from tests.conftest import TEST_KEYRING
from tests.limitation import CASE_TYPE, LimitationProcess
from tests.store.builders import T0, LimitationCase, limitation_journeys


def user(id_: str, *roles: Role, district: str = "崇川区") -> User:
    return User(id=id_, name=id_, roles=list(roles), district=district)


SUPERVISOR = user("chongchuan.supervisor", Role.SUPERVISOR)
CITY_SUPERVISOR = user("city.supervisor", Role.SUPERVISOR, district=CITY)
ELSEWHERE = user("tongzhou.supervisor", Role.SUPERVISOR, district="通州区")
LAWYER = user("chongchuan.lawyer", Role.LAWYER)


@pytest.fixture(autouse=True)
def limitation_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test-only process known to the reads, as a registered type is."""
    monkeypatch.setitem(PROCESSES, CASE_TYPE, LimitationProcess())


@pytest.fixture
def queries(engine: Engine) -> SupervisorQueries:
    return SupervisorQueries(engine, STATUTORY)


@pytest.fixture
def cases(store: EventStore) -> dict[str, LimitationCase]:
    return limitation_journeys(store)


def deadline_rows(items: list) -> list[tuple[str, str | None, str]]:  # type: ignore[type-arg]
    return [(i.case_id, i.deadline, i.reason) for i in items if i.deadline]


def test_a_case_near_its_limitation_date_is_listed_with_the_deadline(
    cases: dict[str, LimitationCase], queries: SupervisorQueries
) -> None:
    near = cases["warned"]
    d = near.state.deadlines["limitation"]
    now = T0 + timedelta(days=2)  # inside the 60-day warning, before it is due
    items = queries.stuck(SUPERVISOR, now=now)
    # Suspended, interrupted (its new year far off), met and withdrawn: not listed; the
    # one recorded passed (its clock ran on to day 60) is listed from its due moment.
    assert deadline_rows(items) == [(near.state.case_id, "limitation", "deadline_near")]
    [item] = [i for i in items if i.deadline]
    last_day = d.effective_last_day()
    assert item.days_left == (last_day - (now + timedelta(hours=8)).date()).days + 1
    assert (item.due_at, item.status, item.days_overdue, item.escalated) == (
        d.due_at,
        "running",
        0,
        False,
    )
    assert near.state.deadlines["limitation"].warned_days_before == 60
    assert item.deadline_label == ("仲裁时效", "arbitration limitation")
    assert item.stage == "acceptance" and item.type == "limitation_test"
    assert queries.stuck(CITY_SUPERVISOR, now=now) == items
    assert deadline_rows(queries.stuck(ELSEWHERE, now=now)) == []
    # Only past-due ones with --overdue-only: not yet.
    assert deadline_rows(queries.stuck(SUPERVISOR, now=now, overdue_only=True)) == []
    # Before its first warning: not listed.
    before = d.due_at - timedelta(days=60, minutes=1)
    assert deadline_rows(queries.stuck(SUPERVISOR, now=before)) == []


def test_a_passed_deadline_is_listed_with_the_days_past_among_the_stuck_tasks(
    cases: dict[str, LimitationCase], queries: SupervisorQueries
) -> None:
    passed = cases["passed"]
    d = passed.state.deadlines["limitation"]
    now = d.due_at + timedelta(days=3, hours=2)
    items = queries.stuck(SUPERVISOR, now=now)
    # Recorded passed, and one still running past its due moment (its clock not woken
    # yet, or a look ahead with --at): both passed as of `now`.
    listed = {i.case_id: i for i in items if i.deadline}
    assert set(listed) == {passed.state.case_id, cases["warned"].state.case_id}
    for item in listed.values():
        assert (item.reason, item.status, item.days_overdue, item.days_left) == (
            "deadline_passed",
            "passed",
            4,  # the fourth day after the last day, counting the current one
            None,
        )
    # Oldest first, tasks and deadlines together: the acceptance tasks fell due a week
    # after opening, long before the limitation.
    dues = [i.due_at for i in items]
    assert dues == sorted(dues)  # type: ignore[type-var]
    assert {i.reason for i in items} == {"overdue", "deadline_passed"}
    assert items[-1].deadline == "limitation"
    assert len(deadline_rows(queries.stuck(SUPERVISOR, now=now, overdue_only=True))) == 2
    assert len(queries.stuck(SUPERVISOR, now=now, limit=1)) == 1
    assert queries.stuck(SUPERVISOR, now=now, case_type="limitation_test") == items


def test_idle_tasks_are_listed_beside_case_deadlines(
    cases: dict[str, LimitationCase], queries: SupervisorQueries
) -> None:
    """With --idle-days, tasks idle but not past due sort by their last event among the
    case deadlines (this failed with a TypeError on `make run`'s own data)."""
    now = T0 + timedelta(days=4)  # Friday: the warnings were recorded on Tuesday
    items = queries.stuck(SUPERVISOR, now=now, idle_days=1)
    assert deadline_rows(items) == [(cases["warned"].state.case_id, "limitation", "deadline_near")]
    idle = [i for i in items if i.reason == "idle"]
    assert idle and all(i.days_overdue == 0 and i.idle_working_days >= 1 for i in idle)
    tasks = [i.last_event_at for i in items if not i.deadline]
    assert tasks == sorted(tasks)


def test_an_officer_sees_the_deadlines_of_the_cases_they_hold(
    cases: dict[str, LimitationCase], queries: SupervisorQueries
) -> None:
    held = cases["interrupted"]  # its handling is assigned to the lawyer
    d = held.state.deadlines["limitation"]
    now = d.due_at - timedelta(days=20)
    mine = queries.stuck(LAWYER, now=now, assignee=LAWYER.id)
    assert deadline_rows(mine) == [(held.state.case_id, "limitation", "deadline_near")]
    assert mine[0].assignee == LAWYER.id
    with pytest.raises(SupervisionRefused):
        queries.stuck(LAWYER, now=now)


def test_the_board_counts_active_deadlines_per_district_and_name(
    cases: dict[str, LimitationCase], queries: SupervisorQueries
) -> None:
    near_due = cases["warned"].state.deadlines["limitation"].due_at
    for now, near, passed in [
        (T0 + timedelta(days=2), 1, 1),
        (near_due + timedelta(hours=1), 0, 2),
    ]:
        rows = [r for r in queries.board(SUPERVISOR, now=now) if r.kind == "deadline"]
        # Suspended, interrupted, passed and warned are active; met and withdrawn are
        # not, and the deadline to sue was met.
        [row] = rows
        assert (row.district, row.stage, row.open, row.near, row.overdue, row.escalated) == (
            "崇川区",
            "limitation",
            4,
            near,
            passed,
            0,
        )
        assert row.label == ("仲裁时效", "arbitration limitation")
        assert row.median_age_days > 0
        assert [r.kind for r in queries.board(SUPERVISOR, now=now)][-1] == "deadline"
    assert [r for r in queries.board(ELSEWHERE, now=T0) if r.kind == "deadline"] == []


# -- the command line ------------------------------------------------------------------


def test_the_command_line_lists_and_counts_case_deadlines(
    sqlite_engine: Engine, restore_logging: None, tmp_path: Path
) -> None:
    """`stuck`, `board` and `case show` print a case's deadlines (JSON keys and table),
    and `act` takes --deadline and --on only for the deadline actions."""
    Directory(sqlite_engine).upsert(demo_users())
    cases = limitation_journeys(EventStore(sqlite_engine))
    warned = cases["warned"].state
    env = {
        "CASEWORK_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
        "CASEWORK_HOME": str(tmp_path),
        "COLUMNS": "250",  # the tables unwrapped
    }

    def cli(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stdout if code == 0 else result.stderr

    at = (T0 + timedelta(days=2)).astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")
    listed = json.loads(cli("stuck", "--as", "chongchuan.supervisor", "--at", at, "--json"))
    [item] = [i for i in listed if i["deadline"]]
    assert (item["case_id"], item["deadline"], item["reason"]) == (
        warned.case_id,
        "limitation",
        "deadline_near",
    )
    assert item["deadline_label"] == ["仲裁时效", "arbitration limitation"]
    table = cli("stuck", "--as", "chongchuan.supervisor", "--at", at)
    assert "仲裁时效" in table and "limitation" in table
    board = json.loads(cli("board", "--as", "chongchuan.supervisor", "--at", at, "--json"))
    [row] = [r for r in board if r["kind"] == "deadline"]
    assert (row["stage"], row["open"], row["near"]) == ("limitation", 4, 1)
    assert "案件期限 case deadlines" in cli("board", "--as", "chongchuan.supervisor", "--at", at)
    shown = json.loads(cli("case", "show", warned.case_id, "--json"))
    assert [d["name"] for d in shown["deadlines"]] == ["limitation"]
    assert shown["deadlines"][0]["warned_days_before"] == 60
    assert "期限 仲裁时效 (limitation)" in cli("case", "show", warned.case_id)
    refused = cli(
        "act", warned.case_id, "approve", "--as", "chongchuan.lawyer", "--deadline", "x", code=2
    )
    assert "--deadline" in refused
    refused = cli(
        "act",
        warned.case_id,
        "suspend-deadline",
        "--as",
        "chongchuan.lawyer",
        "--deadline",
        "limitation",
        "--on",
        "2026-01-01",
        code=2,
    )
    assert "--on" in refused
