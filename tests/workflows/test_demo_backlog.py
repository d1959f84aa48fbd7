"""The cases `make run` seeds for the supervisors (casework.demo.backlog), on the
time-skipping server with the demo configuration's limits: recorded weeks back through
the real domain rules, then given workflows that carry on from their recorded state.
`stuck`, `board` (at 80 columns, and as JSON) and the web pages list overdue, escalated,
idle, held and waiting cases in several districts; the workflows record nothing twice,
take officers' actions, and their clocks go on (an overdue task is escalated by its
workflow when its grace period ends)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from casework.api.app import create_app
from casework.cli import app as cli_app
from casework.config import DEMO_CONFIG, load_process_config
from casework.demo.backlog import BACKLOG, IDLE_DAYS, seed_backlog
from casework.demo.seed import set_demo_passwords
from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.case import CaseState, CaseView
from casework.domain.hardship import HardshipConfig
from casework.domain.supervision import escalates_at
from tests.conftest import TEST_KEYRING
from tests.web.http import browser, main
from tests.workflows.conftest import Harness
from tests.workflows.steps import settled_state, sleep_until
from workflows.hardship_relief import RECEIPT_CONFIRMATION

DEMO = load_process_config(DEMO_CONFIG).hardship


@pytest.fixture
def config() -> HardshipConfig:
    """The worker runs `make run`'s configuration, as the seed reads it."""
    return DEMO


@pytest.fixture
def cli(harness: Harness, tmp_path: Path, restore_logging: None) -> Callable[..., str]:
    env = {
        "CASEWORK_DATABASE_URL": harness.engine.url.render_as_string(hide_password=False),
        "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
        "CASEWORK_HOME": str(tmp_path),
        "CASEWORK_CONFIG": str(DEMO_CONFIG),
        "COLUMNS": "80",
    }

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli_app, list(args), env=env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    return run


@pytest.mark.parametrize(
    "now",
    [
        "2026-12-07T02:00:00+00:00",  # a Monday morning
        "2026-12-05T16:00:00+00:00",  # a Sunday
        "2026-10-08T01:00:00+00:00",  # the day after the National Day week
        "2026-02-24T03:00:00+00:00",  # just after the Spring Festival
        "2026-12-31T15:30:00+00:00",  # New Year's Eve, 23:30 Beijing
    ],
)
def test_each_case_shows_what_it_is_meant_to_on_any_day(now: str) -> None:
    """The opening day is found for the calendar around `now`: weekends and holidays do
    not turn an overdue case into an escalated one, or an idle one into an overdue one."""
    from datetime import datetime

    from casework.demo.backlog import idle_days, plan
    from casework.demo.people import demo_users
    from casework.demo.seed import demo_application, hardship_staff
    from casework.domain.hardship import StartHardshipCase

    moment = datetime.fromisoformat(now)
    users = {u.id: u.actor() for u in demo_users()}
    calendar = WorkingCalendar(DEMO.calendar)
    for n, w in enumerate(BACKLOG):
        app = demo_application(w.person)
        opener = users[hardship_staff(app.applicant.district, "opener")]
        start = StartHardshipCase(
            case_id=f"HR-2026-{n + 1:06d}", opened_by=opener, application=app.masked()
        )
        h = plan(w, start, DEMO, users.__getitem__, moment)
        assert h is not None, (now, w)
        task = h.state.task
        assert task is not None and h.state.stage == w.stage
        assert all(e.occurred_at <= moment for events, _ in h.appends for e in events)
        assert task.escalated == (w.shows == "escalated"), (now, w)
        assert task.overdue == (w.shows in ("overdue", "escalated")), (now, w)
        assert (task.paused_at is not None) == (w.shows in ("on_hold", "waiting_info"))
        assert h.state.updated_at is not None
        assert idle_days(calendar, h.state.updated_at, moment) >= w.idle_at_least


def test_the_seed_names_the_workflows_receipt_choice() -> None:
    from casework.demo import backlog

    assert backlog.RECEIPT_CONFIRMATION == RECEIPT_CONFIRMATION


async def test_supervisors_see_overdue_escalated_idle_and_paused_cases(
    harness: Harness, cli: Callable[..., str]
) -> None:
    h = harness
    seeded = await seed_backlog(h.service, h.directory, DEMO)
    assert len(seeded) == len(BACKLOG)
    h.opened.extend(v.case_id for v in seeded)
    # Each case's workflow runs on from the recorded state: nothing recorded again.
    for view in seeded:
        handle = h.env.client.get_workflow_handle(view.case_id)
        synced = await handle.execute_update("sync", result_type=CaseView)
        assert (synced.stage, synced.seq) == (view.stage, view.seq), view.case_id
        assert len(h.queries.history(view.case_id)) == view.seq

    # `stuck` with idle tasks too, as JSON: every kind, in the three districts.
    items = json.loads(
        cli("stuck", "--as", "city.supervisor", "--idle-days", str(IDLE_DAYS), "--json")
    )
    ids = {v.case_id for v in seeded}
    mine = [i for i in items if i["case_id"] in ids]
    kinds = {
        "overdue": [i for i in mine if i["reason"] == "overdue" and not i["escalated"]],
        "escalated": [i for i in mine if i["escalated"]],
        "idle": [i for i in mine if i["reason"] == "idle" and not i["paused"]],
        "on_hold": [i for i in mine if i["paused"] and i["status"] == "open"],
        "waiting_info": [i for i in mine if i["paused"] and i["status"] == "waiting_info"],
    }
    for kind, listed in kinds.items():
        expected = sum(1 for w in BACKLOG if w.shows == kind)
        assert len(listed) == expected, (kind, listed)
    assert {i["case_district"] for i in mine} == {"崇川区", "通州区", "海门区"}
    assert "市总工会" in {i["district"] for i in kinds["escalated"]}  # the city's queue
    assert {i["stage"] for i in mine} >= {"grassroots_review", "home_visit", "district_review"}
    assert all(i["idle_working_days"] >= IDLE_DAYS for i in kinds["idle"] + kinds["on_hold"])
    assert all(i["days_overdue"] >= 1 for i in kinds["overdue"] + kinds["escalated"])

    # The same at an 80-column terminal: case numbers whole, the notes in words.
    text = cli("stuck", "--as", "city.supervisor", "--idle-days", str(IDLE_DAYS))
    assert max(cell_len(line) for line in text.splitlines()) <= 80, text
    for view in seeded:
        assert re.search(rf"(?<![\w-]){view.case_id}(?!\d)", text), (view.case_id, text)
    for note in ("已升级 escalated", "暂停 on hold", "待补材料 waiting info", "工作日无进展 idle"):
        assert note in text, (note, text)
    # Without --idle-days: the past-due ones only.
    overdue = json.loads(cli("stuck", "--as", "city.supervisor", "--json"))
    assert {i["case_id"] for i in overdue if i["case_id"] in ids} == {
        i["case_id"] for i in kinds["overdue"] + kinds["escalated"]
    }

    # The board: open, overdue and escalated tasks per district and stage.
    rows = json.loads(cli("board", "--as", "city.supervisor", "--json"))
    late = {r["district"] for r in rows if r["overdue"]}
    escalated = {r["district"] for r in rows if r["escalated"]}
    assert len(late) >= 2 and len(escalated) >= 2, rows
    assert sum(r["open"] for r in rows) == len(seeded)
    board = cli("board", "--as", "city.supervisor")
    assert max(cell_len(line) for line in board.splitlines()) <= 80, board
    assert all(d in board for d in ("崇川区", "通州区", "海门区", "市总工会")), board

    # The web pages a supervisor signs in to: the board and the stuck list.
    set_demo_passwords(h.engine)
    web = create_app(h.engine, h.service)
    async with browser(web, "city.supervisor") as client:
        page = main(await client.get("/stuck", params={"idle_days": str(IDLE_DAYS)}))
        assert all(v.case_id in page for v in seeded), page
        board_page = main(await client.get("/board"))
        assert all(d in board_page for d in ("崇川区", "通州区", "海门区", "市总工会"))

    # The workflows go on: an officer acts on an escalated case, and the overdue task's
    # own workflow escalates it when its grace period ends.
    [late_one] = kinds["overdue"]
    state = await settled_state(h, late_one["case_id"])
    assert state.task is not None and state.task.overdue and not state.task.escalated
    calendar = WorkingCalendar(DEMO.calendar)
    moment = escalates_at(state.task, calendar, DEMO.escalation_grace_working_days)
    assert moment is not None
    await sleep_until(h, moment + timedelta(minutes=1))
    after: CaseState = await settled_state(h, late_one["case_id"])
    assert after.task is not None and after.task.escalated
    escalation = h.queries.history(late_one["case_id"])[-1]
    assert escalation.type == "task.escalated"
    assert escalation.occurred_at.astimezone(CHINA_TZ) >= moment.astimezone(CHINA_TZ)

    haimen = next(i for i in kinds["escalated"] if i["case_district"] == "海门区")
    moved = await h.act(haimen["case_id"], "haimen.officer1", "approve", "审核通过")
    assert moved.stage == "district_approval"
