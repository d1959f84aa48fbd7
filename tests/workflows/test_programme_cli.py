"""`casework programme ...`: a city officer opens a programme, a union submits a list
(failed rows reported with line and field, exit 0: the rest goes on), the district
reviews, the city approves; bad input names the field, users outside the role or the
district are refused with exit 2; the payment run through the real worker on the
time-skipping server, and the district corrects the one failed row."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from casework.demo.people import demo_users
from casework.demo.programme import id_number, put_on_register, spec
from casework.domain.batch import RunProgress
from casework.domain.programme import ProgrammeRunState, ProgrammeSpec, programme_workflow_id
from casework.store.directory import Directory
from casework.store.programmes import Programmes
from tests.conftest import TEST_KEYRING
from tests.workflows.conftest import Harness
from tests.workflows.test_households_cli import Cli

REPO = Path(__file__).resolve().parents[2]
CITY, GR, OFFICER, TZ_OFFICER = (
    "city.officer1",
    "chongchuan.grassroots1",
    "chongchuan.officer1",
    "tongzhou.officer1",
)


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


def test_lists_to_approval_through_the_command(sqlite_engine: Engine, tmp_path: Path) -> None:
    Directory(sqlite_engine).upsert(demo_users())
    put_on_register(
        sqlite_engine, TEST_KEYRING, [(id_number(n), "deep", "崇川区") for n in range(9)]
    )
    cli = Cli(sqlite_engine, tmp_path)
    spec_file = str(REPO / "examples/programme.json")
    recipients = str(REPO / "examples/programme-recipients.csv")

    refused = cli.run("programme", "open", "--file", spec_file, "--as", GR, code=2)
    assert "role_not_held" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(Path(spec_file).read_text()), "year": "x"}))
    assert "year" in cli.run("programme", "open", "--file", str(bad), "--as", CITY, code=2).stderr
    pid = cli.json("programme", "open", "--file", spec_file, "--as", CITY)["programme_id"]

    listed = cli.json("programme", "submit", pid, "--file", recipients, "--as", GR)
    assert (listed["accepted"], listed["failed"]) == (6, 2)
    assert [(f["line"], f["field"]) for f in listed["failures"]] == [
        (7, "id_number"),
        (8, "amount_fen"),
    ]
    table = cli.run("programme", "submit", pid, "--file", recipients, "--as", GR).stdout
    assert "already_listed" not in table and "同一人" in table  # all named already
    unreadable = tmp_path / "empty.csv"
    unreadable.write_text("name,id_number\n")
    assert (
        "--file"
        in cli.run("programme", "submit", pid, "--file", str(unreadable), "--as", GR, code=2).stderr
    )

    lists = cli.json("programme", "lists", pid, "--as", OFFICER)
    assert [x["status"] for x in lists] == ["submitted", "submitted"]
    assert cli.json("programme", "lists", pid, "--as", TZ_OFFICER) == []
    first, second = (x["list_id"] for x in lists)
    assert (
        "not_found"
        in cli.run("programme", "review", first, "--approve", "--as", TZ_OFFICER, code=2).stderr
    )
    assert (
        "comment"
        in cli.run("programme", "review", second, "--return", "--as", OFFICER, code=2).stderr
    )
    # Only exceptions reach a person: the district's officer has two lists to review,
    # and `inbox` points there; the city has nothing yet.
    waiting = cli.json("programme", "exceptions", "--as", OFFICER)
    assert [(x["kind"], x["district"], x["count"]) for x in waiting] == [
        ("list_to_review", "崇川区", 2)
    ]
    assert "programme exceptions" in cli.run("inbox", "--as", OFFICER).stdout
    assert cli.json("programme", "exceptions", "--as", CITY) == []
    assert cli.json("programme", "exceptions", "--as", TZ_OFFICER) == []
    cli.run("programme", "review", first, "--approve", "--as", OFFICER)
    cli.run("programme", "review", second, "--return", "-m", "重复上报", "--as", OFFICER)
    assert [x["kind"] for x in cli.json("programme", "exceptions", "--as", GR)] == ["list_returned"]
    assert [x["kind"] for x in cli.json("programme", "exceptions", "--as", CITY)] == [
        "total_to_approve"
    ]
    assert "programme approve" in cli.run("programme", "exceptions", "--as", CITY).stdout
    assert (
        "role_not_held"
        in cli.run(
            "programme", "approve", pid, "--district", "崇川区", "--as", OFFICER, code=2
        ).stderr
    )
    approved = cli.json("programme", "approve", pid, "--district", "崇川区", "--as", CITY)
    assert approved["recipients"] == {"approved": 6}
    assert [(x["kind"], x["count"]) for x in cli.json("programme", "exceptions", "--as", CITY)] == [
        ("to_pay", 6)
    ]
    shown = cli.json("programme", "show", pid)
    assert shown["progress"]["total"] == 6 and not shown["progress"]["finished"]
    assert [
        d["district"] for d in cli.json("programme", "show", pid, "--as", OFFICER)["districts"]
    ] == ["崇川区"]
    assert shown["lists_due"] is None
    assert "未记录 not recorded yet" in cli.run("programme", "show", pid).stdout
    Programmes(sqlite_engine).record_lists_due(pid, now=datetime(2027, 1, 10, 15, 59, tzinfo=UTC))
    due = cli.json("programme", "show", pid)["lists_due"]
    assert due["overdue_districts"] == ["通州区", "海门区"]
    table = cli.run("programme", "show", pid).stdout
    assert "2027-01-10 23:59" in table and "通州区、海门区" in table
    assert "role_not_held" in cli.run("programme", "run", pid, "--as", OFFICER, code=2).stderr


async def test_the_payment_run_and_a_corrected_row(
    harness: Harness, task_queue: str, tmp_path: Path
) -> None:
    engine = harness.engine
    put_on_register(engine, TEST_KEYRING, [(id_number(n), "deep", "崇川区") for n in range(9)])
    p = Programmes(engine, TEST_KEYRING)
    d = harness.directory
    pid = p.open(ProgrammeSpec.model_validate(spec(2027, ["崇川区"], 10**8)), d.get(CITY).actor())
    listed = p.submit(
        pid, (REPO / "examples/programme-recipients.csv").read_bytes(), d.get(GR).actor()
    )
    p.review(listed.list_id, d.get(OFFICER).actor(), approve=True)
    p.approve_district(pid, "崇川区", d.get(CITY).actor())

    async def run() -> RunProgress:
        return await harness.env.client.execute_workflow(
            "ProgrammeRun",
            ProgrammeRunState(programme_id=pid, actor=d.get(CITY).actor()),
            id=programme_workflow_id(pid) + "-" + str(len(harness.bank.transfers)),
            task_queue=task_queue,
            result_type=RunProgress,
        )

    first = await run()
    assert first.finished and first.counts == {"paid": 5, "failed": 1}
    assert first.amount_fen == 5 * 50_000
    # A non-city actor fails the run without paying anything.
    with pytest.raises(Exception):  # noqa: B017 - WorkflowFailureError(role_not_held)
        await harness.env.client.execute_workflow(
            "ProgrammeRun",
            ProgrammeRunState(programme_id=pid, actor=d.get(OFFICER).actor()),
            id=programme_workflow_id(pid) + "-refused",
            task_queue=task_queue,
        )
    cli = Cli(engine, tmp_path)
    failed = await asyncio.to_thread(cli.json, "programme", "failed", pid, "--as", OFFICER)
    assert [(f["line"], f["id_masked"][:4]) for f in failed] == [(9, "3206")]
    waiting = await asyncio.to_thread(cli.json, "programme", "exceptions", "--as", OFFICER)
    assert [(x["kind"], x["count"]) for x in waiting] == [("payment_failed", 1)]
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(
        f"recipient_id,bank_account\n{failed[0]['recipient_id']},6222333344445555\n"
    )
    other = await asyncio.to_thread(
        cli.run, "programme", "correct", pid, "--file", str(corrections), "--as", TZ_OFFICER, code=2
    )
    assert "not_found" in other.stdout
    await asyncio.to_thread(
        cli.run, "programme", "correct", pid, "--file", str(corrections), "--as", OFFICER
    )
    second = await run()
    assert second.finished and second.counts == {"paid": 6}
    assert await asyncio.to_thread(cli.json, "programme", "exceptions", "--as", OFFICER) == []
    assert second.amount_fen == 6 * 50_000
    assert len(harness.bank.transfers) == 6


def test_the_summer_example_runs_on_any_deployment(sqlite_engine: Engine, tmp_path: Path) -> None:
    """A frontline programme needs no register: the README's example as it is."""
    Directory(sqlite_engine).upsert(demo_users())
    cli = Cli(sqlite_engine, tmp_path)
    pid = cli.json(
        "programme", "open", "--file", str(REPO / "examples/programme-summer.json"), "--as", CITY
    )["programme_id"]
    listed = cli.json(
        "programme",
        "submit",
        pid,
        "--file",
        str(REPO / "examples/programme-summer-recipients.csv"),
        "--as",
        GR,
    )
    assert (listed["accepted"], listed["total_fen"]) == (6, 120_000)
    assert [(f["line"], f["code"]) for f in listed["failures"]] == [(7, "above_standard")]


def test_privacy_erase_and_sweep_take_a_closed_programme(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`privacy erase PG-…` and `privacy sweep`: a programme's recipients' ID numbers
    and bank accounts go once it has been closed for the hardship retention period."""
    from datetime import date, timedelta

    from activities.disbursement import FakeBank
    from activities.programme import ProgrammePayments
    from casework.store.personal import years_after

    directory = Directory(sqlite_engine)
    directory.upsert(demo_users())
    store = Programmes(sqlite_engine, TEST_KEYRING)
    summer = ProgrammeSpec.model_validate_json(
        (REPO / "examples/programme-summer.json").read_bytes()
    )
    pid = store.open(summer, directory.get(CITY).actor())
    listed = store.submit(
        pid,
        (REPO / "examples/programme-summer-recipients.csv").read_bytes(),
        directory.get(GR).actor(),
        today=date(2027, 6, 10),
    )
    store.review(listed.list_id, directory.get(OFFICER).actor(), approve=True)
    store.approve_district(pid, "崇川区", directory.get(CITY).actor())
    payer = ProgrammePayments(sqlite_engine, FakeBank(), TEST_KEYRING)
    cursor = 0
    while (
        done := store.pay_batch(pid, cursor, payer.transfer, directory.get(CITY).actor())
    ) is not None:
        cursor = done
    assert store.finish(pid, today=date(2027, 7, 1))
    cli = Cli(sqlite_engine, tmp_path)

    soon = cli.run("privacy", "erase", pid, "--as", "city.admin", code=2)
    assert "retention_period" in soon.stderr
    closed_at = datetime.now(UTC)
    later = years_after(closed_at, 10) + timedelta(days=1)
    monkeypatch.setattr("casework.store.programmes.utc_now", lambda: later)
    monkeypatch.setattr("casework.store.personal.utc_now", lambda: later)
    assert cli.json("privacy", "sweep", "--as", "city.admin", "--dry-run") == [
        {"case_id": pid, "result": "due", "code": None, "message": None}
    ]
    refused = cli.run("privacy", "erase", pid, "--as", CITY, code=2)
    assert "role_not_held" in refused.stderr
    erased = cli.json("privacy", "erase", pid, "--as", "city.admin", "--comment", "保存期满")
    assert (erased["case_id"], erased["erased"], erased["erased_by"]) == (pid, True, "city.admin")
    assert cli.json("privacy", "sweep", "--as", "city.admin") == []
    again = cli.run("privacy", "erase", pid, "--as", "city.admin", code=2)
    assert "already_erased" in again.stderr
