"""Contract of intake (casework/store/intake.py): case numbers `HR-2026-000123` handed out
in sequence per prefix and year, never twice, and the applicant's personal data kept
outside the event log until the case is discarded."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Engine, select

from casework.store.intake import Intake
from casework.store.tables import applicant_pii, case_sequences
from tests.factories import id_number
from tests.store.builders import run_concurrently


def register(intake: Intake, year: int = 2026, prefix: str = "HR", n: int = 1) -> str:
    return intake.register(prefix, year, id_number(n), f"1380000{n:04d}", f"62220200{n:011d}")


def pii(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(applicant_pii)).mappings().all()
    return {r["case_id"]: dict(r) for r in rows}


def test_case_ids_run_in_sequence_per_prefix_and_year(engine: Engine) -> None:
    intake = Intake(engine)
    assert [register(intake, n=i) for i in (1, 2, 3)] == [
        "HR-2026-000001",
        "HR-2026-000002",
        "HR-2026-000003",
    ]
    assert register(intake, year=2027) == "HR-2027-000001"
    assert register(intake, prefix="LA") == "LA-2026-000001"
    assert register(intake) == "HR-2026-000004"
    assert register(intake, year=2027) == "HR-2027-000002"


def test_personal_data_is_kept_and_discard_removes_it(engine: Engine) -> None:
    intake = Intake(engine)
    kept = intake.register("HR", 2026, id_number(7), "13800001234", "6222020000000001234")
    dropped = intake.register("HR", 2026, id_number(8), "13900005678", None)
    rows = pii(engine)
    assert {k: rows[kept][k] for k in ("id_number", "phone", "bank_account")} == {
        "id_number": id_number(7),
        "phone": "13800001234",
        "bank_account": "6222020000000001234",
    }
    assert rows[dropped]["bank_account"] is None and rows[dropped]["phone"] == "13900005678"
    assert intake.bank_account(kept) == "6222020000000001234"

    intake.discard(dropped)
    assert set(pii(engine)) == {kept}  # the ID number and phone are gone, the other stays
    assert intake.bank_account(dropped) is None
    assert intake.bank_account(kept) == "6222020000000001234"
    intake.discard(dropped)  # discarding twice is harmless
    # A discarded number is not handed out again.
    assert register(intake, n=9) == "HR-2026-000003"


def test_concurrent_registrations_get_distinct_ids(engine: Engine) -> None:
    """Eight clerks register five applicants each at once, starting with the first
    number of the year (no sequence row yet): forty distinct, gapless ids."""
    intake = Intake(engine)

    def clerk(k: int) -> list[str]:
        return [register(intake, n=10 * k + i) for i in range(5)]

    results = run_concurrently(*[partial(clerk, k) for k in range(8)])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    per_clerk = [r for r in results if isinstance(r, list)]
    ids = [cid for r in per_clerk for cid in r]
    assert sorted(ids) == [f"HR-2026-{i:06d}" for i in range(1, 41)]
    assert set(pii(engine)) == set(ids)
    for r in per_clerk:  # each clerk's own numbers go up
        assert r == sorted(r)
    with engine.connect() as conn:
        assert conn.execute(select(case_sequences.c.last_value)).scalar_one() == 40
