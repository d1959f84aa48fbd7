"""`casework refunds import|apply|status|exceptions` and `case open refund` against a real
store (the run itself, which needs Temporal, is tests/workflows/test_refund_run.py and
the e2e crash test): errors by line and field with nothing imported, the single
application's id, the bulk file, the figures in `status` and `funds show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from activities.disbursement import FakeBank
from casework.cli import app
from casework.demo.people import demo_users
from casework.store.directory import Directory
from casework.store.refunds import Refunds
from casework.store.tables import dues_payment_records, refund_applications
from tests.conftest import TEST_KEYRING
from tests.store.test_refunds import run_all

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def cli(engine: Engine, tmp_path: Path, *args: str, code: int = 0) -> Any:
    env = {
        "CASEWORK_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
        "CASEWORK_HOME": str(tmp_path),
        "COLUMNS": "80",
    }
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def rows(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def test_a_district_officer_imports_applies_and_reads_the_year(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    engine = sqlite_engine
    Directory(engine).upsert(demo_users())
    officer = ["--as", "chongchuan.officer1"]
    year = ["--year", "2026"]
    payments = EXAMPLES / "refund-payments.csv"
    # The sample has 通州区 rows too: outside this officer's district, nothing imported.
    refused = cli(
        engine,
        tmp_path,
        "refunds",
        "import",
        *year,
        "--file",
        str(payments),
        "--json",
        *officer,
        code=2,
    )
    failed = json.loads(refused.stdout)["failed"]
    assert failed and {(f["field"], f["code"]) for f in failed} == {
        ("district", "outside_jurisdiction")
    }
    assert "nothing imported" in refused.stderr
    assert rows(engine, dues_payment_records) == 0
    done = json.loads(
        cli(
            engine,
            tmp_path,
            "refunds",
            "import",
            *year,
            "--file",
            str(payments),
            "--skip-bad",
            "--json",
            *officer,
        ).stdout
    )
    assert done["imported"] > 0 and all(f["field"] == "district" for f in done["failed"])
    opened = json.loads(
        cli(
            engine,
            tmp_path,
            "case",
            "open",
            "refund",
            "--file",
            str(EXAMPLES / "refund_application.json"),
            "--json",
            *officer,
        ).stdout
    )
    assert opened == {"application_id": "RA-2026-0000001", "intake": "refund"}
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                **json.loads((EXAMPLES / "refund_application.json").read_text()),
                "credit_code": "91320602MA1X2Y3W4K",
            }
        )
    )
    invalid = cli(engine, tmp_path, "case", "open", "refund", "--file", str(bad), *officer, code=2)
    assert "credit_code" in invalid.stderr
    # The bulk file names 通州区 firms too: an officer of 崇川区 may not record them.
    applied = cli(
        engine,
        tmp_path,
        "refunds",
        "apply",
        *year,
        "--file",
        str(EXAMPLES / "refund-applications.csv"),
        *officer,
        code=2,
    )
    assert "outside_jurisdiction" in applied.stderr
    assert rows(engine, refund_applications) == 1
    cli(
        engine,
        tmp_path,
        "refunds",
        "apply",
        *year,
        "--file",
        str(EXAMPLES / "refund-applications.csv"),
        "--as",
        "city.officer1",
    )
    run_all(
        Refunds(engine, TEST_KEYRING), Directory(engine).get("city.officer1").actor(), FakeBank()
    )
    status = json.loads(
        cli(engine, tmp_path, "refunds", "status", *year, "--json", *officer).stdout
    )
    assert [d["district"] for d in status["districts"]] == ["崇川区"]
    assert status["districts"][0]["paid"] >= 1 and status["districts"][0]["refunded_fen"] >= 250_000
    exceptions = json.loads(
        cli(engine, tmp_path, "refunds", "exceptions", *year, "--json", *officer).stdout
    )
    assert all(e["district"] == "崇川区" and e["reasons"] for e in exceptions)
    # For people, at 80 columns: every application id and review case number whole.
    shown = cli(engine, tmp_path, "refunds", "exceptions", *year, *officer).stdout
    assert exceptions and "…" not in shown
    assert max(cell_len(line) for line in shown.splitlines()) <= 80, shown
    for e in exceptions:
        assert e["application_id"] in shown and (e["review_case_id"] or "-") in shown, shown
    figures = cli(engine, tmp_path, "refunds", "status", *year, *officer).stdout
    assert "崇川区" in figures and max(cell_len(line) for line in figures.splitlines()) <= 80
    none = cli(engine, tmp_path, "refunds", "exceptions", "--year", "2031", *officer).stdout
    assert none.startswith("2031 年没有待复核的申请 (no exceptions)") and "┏" not in none
    funds = json.loads(cli(engine, tmp_path, "funds", "show", *year, "--json", *officer).stdout)
    [district] = funds["districts"]
    [refund] = [s for s in district["sources"] if s["source"] == "refund"]
    assert refund["paid_fen"] == status["districts"][0]["refunded_fen"]
    assert refund["budget_fen"] == status["districts"][0]["dues_fen"]
    cli(engine, tmp_path, "refunds", "status", *year, "--as", "chongchuan.grassroots1", code=2)
