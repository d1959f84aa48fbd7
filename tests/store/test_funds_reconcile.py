"""`funds reconcile`: what the ledger paid against what the bank reports, every
difference listed (on SQLite and PostgreSQL), and the CLI's exit code."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from activities.disbursement import TransferOrder
from activities.ledger_bank import LedgerBank
from casework.cli import app
from casework.demo.people import demo_users
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.funds import reconcile
from casework.store.tables import payments
from tests.conftest import TEST_KEYRING
from tests.store.builders import DISTRICT
from tests.store.test_funds import YEAR, funds, open_cases, reserve

ACCOUNT = "6222020000000012345"


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


def paid_case(store: EventStore, bank: LedgerBank, case_id: str, amount: int, year: int) -> str:
    """A case reserved and paid, and the bank's transfer for it; its key."""
    [reserved] = reserve(store, case_id, amount, year=year)
    store.append(case_id, 2, [funds(case_id, "disbursement.completed", amount, year=year)])
    bank.transfer(
        TransferOrder(
            idempotency_key=reserved.event_id, account=ACCOUNT, amount_fen=amount, reference=case_id
        )
    )
    return reserved.event_id


def ledger_and_bank(engine: Engine, tmp_path: Path) -> tuple[LedgerBank, dict[str, str]]:
    store = EventStore(engine)
    for y in (YEAR, YEAR + 1):
        store.set_budget(DISTRICT, y, 10**9)
    bank = LedgerBank(tmp_path / "bank.db")
    a, b, c, d = open_cases(store, 4)
    keys = {
        "a": paid_case(store, bank, a, 100_000, YEAR),
        "b": paid_case(store, bank, b, 200_000, YEAR),
        "c": paid_case(store, bank, c, 300_000, YEAR),
        "d": paid_case(store, bank, d, 400_000, YEAR + 1),  # next year's: not this one's
    }
    with engine.begin() as conn:  # a programme's payment, as its batch records it
        conn.execute(
            insert(payments).values(
                run_id=f"PG-{YEAR}-000001",
                payee_key="p" * 64,
                source="programme",
                district=DISTRICT,
                year=YEAR,
                amount_fen=50_000,
                idempotency_key="PG-key-1",
                transfer_ref="LEDGER-x",
                seq=3,
                paid_at=datetime.now(UTC),
            )
        )
    bank.transfer(
        TransferOrder(
            idempotency_key="PG-key-1",
            account=ACCOUNT,
            amount_fen=50_000,
            reference=f"PG-{YEAR}-000001",
        )
    )
    return bank, keys


def break_the_bank(bank: LedgerBank, keys: dict[str, str]) -> None:
    with sqlite3.connect(bank.path) as conn:
        conn.execute(
            "UPDATE transfers SET amount_fen = 199999 WHERE idempotency_key = ?", (keys["b"],)
        )
        conn.execute("DELETE FROM transfers WHERE idempotency_key = ?", (keys["c"],))
        conn.execute(
            "INSERT INTO transfers (idempotency_key, amount_fen, reference) "
            "VALUES ('stray-key', 7700, 'HR-2026-999999')"
        )


def test_ledger_and_bank_agree_until_a_bank_record_is_broken(
    engine: Engine, tmp_path: Path
) -> None:
    bank, keys = ledger_and_bank(engine, tmp_path)
    assert reconcile(engine, YEAR, bank.transfers()) == []
    assert reconcile(engine, YEAR + 1, bank.transfers()) == []
    break_the_bank(bank, keys)
    found = [
        (d.kind, d.reference, d.ledger_fen, d.bank_fen)
        for d in reconcile(engine, YEAR, bank.transfers())
    ]
    assert found == [
        ("amount_differs", "HR-2026-000002", 200_000, 199_999),
        ("missing_at_bank", "HR-2026-000003", 300_000, None),
        ("not_in_ledger", "HR-2026-999999", None, 7_700),
    ]


def cli(engine: Engine, tmp_path: Path, *args: str, code: int = 0) -> Any:
    env = {
        "CASEWORK_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
        "CASEWORK_HOME": str(tmp_path),
        "CASEWORK_BANK_LEDGER": str(tmp_path / "bank.db"),
    }
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def test_the_commands_allocate_show_and_reconcile(sqlite_engine: Engine, tmp_path: Path) -> None:
    engine = sqlite_engine
    Directory(engine).upsert(demo_users())
    bank, keys = ledger_and_bank(engine, tmp_path)
    city = ["--as", "city.officer1"]
    move = ["--district", "通州区", "--year", str(YEAR)]
    cli(
        engine, tmp_path, "funds", "allocate", *move, "--amount-fen", "500000", "--key", "k1", *city
    )
    cli(
        engine, tmp_path, "funds", "allocate", *move, "--amount-fen", "500000", "--key", "k1", *city
    )
    bad = cli(engine, tmp_path, "funds", "top-up", *move, "--amount-fen", "0", *city, code=2)
    assert "amount_fen" in bad.stderr
    refused = cli(
        engine,
        tmp_path,
        "funds",
        "top-up",
        *move,
        "--amount-fen",
        "1",
        "--as",
        "tongzhou.officer1",
        code=2,
    )
    assert "role_not_held" in refused.stderr
    cli(engine, tmp_path, "funds", "top-up", *move, "--amount-fen", "250000", *city)
    shown = json.loads(
        cli(engine, tmp_path, "funds", "show", "--year", str(YEAR), "--json", *city).stdout
    )
    by_district = {d["district"]: d for d in shown["districts"]}
    assert by_district["通州区"]["total"]["budget_fen"] == 750_000  # k1 moved the money once
    relief = by_district[DISTRICT]["sources"][0]
    assert (relief["paid_fen"], relief["left_fen"]) == (600_000, 10**9 - 600_000)
    own = json.loads(
        cli(
            engine,
            tmp_path,
            "funds",
            "show",
            "--year",
            str(YEAR),
            "--json",
            "--as",
            "tongzhou.officer1",
        ).stdout
    )
    assert [d["district"] for d in own["districts"]] == ["通州区"]
    assert "元" in cli(engine, tmp_path, "funds", "show", "--year", str(YEAR), *city).stdout

    cli(engine, tmp_path, "funds", "reconcile", "--year", str(YEAR), *city)
    break_the_bank(bank, keys)
    listed = cli(
        engine, tmp_path, "funds", "reconcile", "--year", str(YEAR), "--json", *city, code=1
    )
    kinds = [d["kind"] for d in json.loads(listed.stdout)["differences"]]
    assert kinds == ["amount_differs", "missing_at_bank", "not_in_ledger"]
