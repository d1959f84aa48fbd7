"""The runs of the calendar against the real dev server (the time-skipping server has no
Schedules): `schedules apply` twice changes nothing the second time, `schedules list`
shows the next runs in Beijing time, a closed programme's deadline goes; `assess run`
starts a (kind, year) once; `report annual` reads what the run stored; and only the
city's officers may start or read them."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from casework.domain.calendar import CHINA_TZ
from casework.store.db import make_engine
from casework.store.tables import programmes
from tests.e2e import test_cli_against_dev_server as dev_server
from tests.e2e.test_cli_against_dev_server import Cli

pytestmark = pytest.mark.integration

stack = dev_server.stack

OFFICER = "city.officer1"


def _programme(cli: Cli, programme_id: str, due: date, status: str = "open") -> None:
    engine = make_engine(cli.env["CASEWORK_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            insert(programmes).values(
                programme_id=programme_id,
                kind="song_wen_nuan",
                name="送温暖",
                year=due.year,
                spec=json.dumps({"lists_due_on": due.isoformat()}),
                status=status,
                opened_by=OFFICER,
                opened_at=datetime.now(UTC),
            )
        )
    engine.dispose()


def _close(cli: Cli, programme_id: str) -> None:
    engine = make_engine(cli.env["CASEWORK_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            update(programmes)
            .where(programmes.c.programme_id == programme_id)
            .values(status="closed")
        )
    engine.dispose()


def test_schedules_are_applied_once_and_listed_in_beijing_time(stack: Cli) -> None:
    next_year = datetime.now(UTC).year + 1
    _programme(stack, "PG-E2E-000001", date(next_year, 3, 15))
    _programme(stack, "PG-E2E-000002", date(next_year, 3, 16), status="closed")

    first = {r["schedule_id"]: r["change"] for r in stack.json("schedules", "apply")}
    assert first == {
        "casework-annual-review": "created",
        "casework-annual-report": "created",
        "casework-doctor": "created",
        "casework-privacy-due": "created",
        "casework-programme-deadline-PG-E2E-000001": "created",
    }
    again = {r["schedule_id"]: r["change"] for r in stack.json("schedules", "apply")}
    assert set(again.values()) == {"unchanged"} and again.keys() == first.keys()

    listed = {s["schedule_id"]: s for s in stack.json("schedules", "list")}
    assert listed.keys() == first.keys()
    review = datetime.fromisoformat(listed["casework-annual-review"]["next_runs"][0])
    assert review.astimezone(UTC).strftime("%m-%d %H:%M") == "01-10 00:00"  # 08:00 Beijing
    deadline = datetime.fromisoformat(
        listed["casework-programme-deadline-PG-E2E-000001"]["next_runs"][0]
    )
    assert deadline == datetime(next_year, 3, 15, 15, 59, tzinfo=UTC)  # 23:59 Beijing
    text = stack.run("schedules", "list").stdout
    assert f"{next_year}-03-15 23:59" in text and "北京时间" in text

    _close(stack, "PG-E2E-000001")
    closed = {r["schedule_id"]: r["change"] for r in stack.json("schedules", "apply")}
    assert closed["casework-programme-deadline-PG-E2E-000001"] == "deleted"
    assert "casework-programme-deadline-PG-E2E-000001" not in {
        s["schedule_id"] for s in stack.json("schedules", "list")
    }


def test_a_file_that_is_not_right_is_named(stack: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "schedules.toml"
    bad.write_text('time_zone = "Asia/Shanghai"\n[annual_review]\nmonth = 13\n', encoding="utf-8")
    proc = stack.run("schedules", "apply", "--file", str(bad), ok=False)
    assert proc.returncode == 2 and "field --file" in proc.stderr and "month" in proc.stderr


def test_a_year_end_report_runs_once_and_is_read_back(stack: Cli) -> None:
    started = stack.json("assess", "run", "annual-report", "--year", "2024", "--as", OFFICER)
    assert (started["workflow_id"], started["already"]) == ("assess-annual-report-2024", False)
    again = stack.json("assess", "run", "annual-report", "--year", "2024", "--as", OFFICER)
    assert again["already"] and again["started_at"] == started["started_at"]
    for _ in range(60):  # the worker computes it in a moment
        status = stack.json("assess", "status", "annual-report", "--year", "2024", "--as", OFFICER)
        if status["status"] == "completed":
            break
        time.sleep(0.5)
    assert status["status"] == "completed"
    text = stack.run("assess", "status", "annual-report", "--year", "2024", "--as", OFFICER).stdout
    assert "1/1" in text and "completed" in text
    proc = stack.run("report", "annual", "--year", "2024", "--format", "json", "--as", OFFICER)
    report = json.loads(proc.stdout)
    assert report["computed_by"] == "schedule"  # the run's, not computed again
    md = stack.run("report", "annual", "--year", "2024", "--as", OFFICER).stdout
    assert "# 2024年度工作数据" in md and "年度评选尚无表彰" in md


def test_only_the_citys_officers_start_or_read_runs(stack: Cli) -> None:
    for args in (
        ("assess", "run", "annual-review", "--year", "2024"),
        ("assess", "status", "annual-review", "--year", "2024"),
        ("report", "annual", "--year", "2024"),
    ):
        proc = stack.run(*args, "--as", "chongchuan.officer1", ok=False)
        assert proc.returncode == 2 and "forbidden" in proc.stderr, proc.stderr
    proc = stack.run("assess", "run", "annual-audit", "--year", "2024", "--as", OFFICER, ok=False)
    assert proc.returncode == 2 and "field KIND" in proc.stderr


def test_the_annual_review_runs_from_its_schedule(stack: Cli) -> None:
    """The review's Schedule, fired now (as Temporal fires it each 10 January), starts the
    real `annual-review` run for the year it fires in, once; every household on the
    register is reviewed and `review show` reads the outcome."""
    import asyncio

    from temporalio.client import Client

    from casework.demo.register import seed_register

    year = datetime.now(CHINA_TZ).year
    engine = make_engine(stack.env["CASEWORK_DATABASE_URL"])
    seeded = seed_register(engine, 120, seed=7, year=year)
    engine.dispose()
    stack.json("schedules", "apply")

    async def fire() -> None:
        # Triggering carries no payload: a plain client will do.
        client = await Client.connect(stack.env["CASEWORK_TEMPORAL_ADDRESS"])
        await client.get_schedule_handle("casework-annual-review").trigger()

    asyncio.run(fire())
    status: dict[str, object] = {}
    for _ in range(40):  # the starter runs a moment after the trigger, then the review
        args = ("assess", "status", "annual-review", "--year", str(year), "--as", OFFICER)
        proc = stack.run(*args, "--json", ok=False)
        if proc.returncode == 0:
            status = json.loads(proc.stdout)
            if status["status"] == "completed":
                break
        time.sleep(0.5)
    assert status["status"] == "completed", status
    figures = stack.json("review", "show", "--year", str(year))
    reviewed = sum(d["renewed"] + d["exit_proposed"] + d["reverify"] for d in figures["districts"])
    assert reviewed == len(seeded) and figures["spot_checks_drawn"]
    again = stack.json("assess", "run", "annual-review", "--year", str(year), "--as", OFFICER)
    assert again["already"]  # the schedule's run is the (kind, year)'s one run
