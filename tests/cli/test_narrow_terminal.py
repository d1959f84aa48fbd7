"""The main commands at an ordinary 80-column terminal, against a SQLite store with
hardship cases decided by the real domain: every id and case number printed whole
(never cut with an ellipsis, never broken across lines), no line wider than the
terminal, times in Beijing time, events in words, a short hash in the history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.cli import app
from casework.demo.people import demo_users
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from tests.conftest import TEST_KEYRING
from tests.store.builders import DomainCase

WIDTH = 80


@pytest.fixture
def cli(sqlite_engine: Engine, tmp_path: Path, restore_logging: None):  # type: ignore[no-untyped-def]
    Directory(sqlite_engine).upsert(demo_users())
    store = EventStore(sqlite_engine)
    for year in (2025, 2026, 2027):
        store.set_budget("崇川区", year, 10**9)
    DomainCase(store, "HR-2026-000001").to_district_review()
    DomainCase(store, "HR-2026-000002").open()
    env = {
        "CASEWORK_DATABASE_URL": sqlite_engine.url.render_as_string(hide_password=False),
        "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
        "CASEWORK_HOME": str(tmp_path),
        "COLUMNS": str(WIDTH),
    }

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, list(args), env=env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    return run


USER_ID = re.compile(r"(?<![\w.])(?:chongchuan|tongzhou|haimen|city|vet)\.\w*")
CASE_ID = re.compile(r"\bHR-\d*-?\d*")
KNOWN = {u.id for u in demo_users()} | {f"HR-2026-00000{n}" for n in (1, 2, 3)}


def whole(text: str, *ids: str) -> None:
    """Every id printed; every id-like word printed is a whole id (a cut or broken one
    leaves a fragment that is none); no ellipsis; no line wider than the terminal."""
    words = set(USER_ID.findall(text)) | set(CASE_ID.findall(text))
    assert set(ids) <= words, (set(ids) - words, text)
    assert words <= KNOWN, (words - KNOWN, text)
    assert "…" not in text, text
    assert max(cell_len(line) for line in text.splitlines()) <= WIDTH, text


CASES = ("HR-2026-000001", "HR-2026-000002")


def test_the_main_commands_print_ids_whole_at_80_columns(cli) -> None:  # type: ignore[no-untyped-def]
    users = cli("users", "list")
    whole(users, *(u.id for u in demo_users()))

    whole(cli("inbox", "--as", "chongchuan.officer1"), CASES[0])
    whole(cli("inbox", "--as", "chongchuan.grassroots2"), CASES[1])

    shown = cli("case", "show", CASES[0], "--as", "chongchuan.officer1")
    whole(shown, CASES[0], "chongchuan.grassroots1", "chongchuan.grassroots2")
    # The due time in Beijing time: the end of the working day, not 16:00 UTC.
    assert "+00:00" not in shown and re.search(r"期限 due\s+\d{4}-\d\d-\d\d 24:00", shown)

    history = cli("case", "history", CASES[0])
    whole(history, "chongchuan.grassroots1", "chongchuan.grassroots2")
    assert "基层初审通过" in history and "grassroots review approved" in history
    assert "task.approved" not in history.replace('"task.', "")  # the words, not the type
    assert "北京时间 Beijing time" in history

    at = "2026-06-01"
    stuck = cli("stuck", "--as", "chongchuan.supervisor", "--at", at)
    whole(stuck, *CASES)
    assert "2026-06-01 00:00 北京时间" in stuck
    board = cli("board", "--as", "chongchuan.supervisor", "--at", at)
    whole(board)
    # stages in words (their codes stay in --json)
    assert all(w in board for w in ("基层初审", "区县审核", "合计")), board
    assert "grassroots_review" not in board
    assert "┏" in board  # a table: it fits


def test_history_shows_the_start_of_each_hash(cli) -> None:  # type: ignore[no-untyped-def]
    events = json.loads(cli("case", "history", CASES[1], "--json"))
    text = cli("case", "history", CASES[1])
    for e in events:
        assert e["hash"][:12] in text
        assert e["occurred_at"].endswith(("Z", "+00:00"))  # --json: ISO 8601, UTC offset


def test_programme_and_register_listings_keep_ids_whole(cli, sqlite_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """The relief programme `make run` seeds (its lists and exceptions), and the
    household register after a case is filed."""
    from datetime import date

    from casework.demo.programme import seed_demo_programme

    programme = seed_demo_programme(sqlite_engine, TEST_KEYRING, date(2026, 12, 1))
    DomainCase(EventStore(sqlite_engine), "HR-2026-000003").to_filed()
    lists = cli("programme", "lists", programme, "--as", "city.officer1", "--failures")
    listed = json.loads(cli("programme", "lists", programme, "--as", "city.officer1", "--json"))
    assert listed and all(item["list_id"] in lists for item in listed), lists
    whole(lists)
    summary = cli("programme", "show", programme, "--as", "city.officer1")
    assert programme in summary
    whole(summary)
    whole(cli("programme", "exceptions", "--as", "city.officer1"))
    register = cli("households", "list", "--as", "chongchuan.officer1")
    whole(register, "HR-2026-000003")


def test_an_empty_listing_prints_only_its_line(cli) -> None:  # type: ignore[no-untyped-def]
    text = cli("stuck", "--as", "haimen.supervisor", "--at", "2026-06-01")
    assert text.startswith("没有卡办任务 (nothing stuck)")
    assert "┏" not in text and "案件 case" not in text


def test_the_funds_ledger_fits_80_columns(cli) -> None:  # type: ignore[no-untyped-def]
    """Every district's figures, each row named by its district (a folded row too)."""
    shown = cli("funds", "show", "--year", "2026", "--as", "city.officer1")
    whole(shown)
    assert "崇川区" in shown and "10,000,000.00" in shown, shown
    empty = cli("funds", "show", "--year", "2031", "--as", "city.officer1")
    assert empty.startswith("2031 年尚无资金记录") and "┏" not in empty
