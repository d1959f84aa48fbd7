"""Contract of intake (casework/store/intake.py): case numbers `HR-2026-000123` handed out
in sequence per prefix and year, never twice; each case gets its own data key with the
number, and the applicant's personal fields come back sealed with it."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from sqlalchemy import Engine, select

from casework.privacy.fields import unseal, unwrap_data_key
from casework.store.intake import Intake, KeyReused
from casework.store.tables import case_keys, case_sequences
from tests.conftest import TEST_KEYRING
from tests.factories import id_number
from tests.store.builders import run_concurrently


def personal(n: int = 1) -> dict[str, str | None]:
    return {
        "id_number": id_number(n),
        "phone": f"1380000{n:04d}",
        "bank_account": f"62220200{n:011d}",
    }


def register(intake: Intake, year: int = 2026, prefix: str = "HR", n: int = 1) -> str:
    return intake.register(prefix, year, personal(n)).case_id


def keys(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(case_keys)).mappings().all()
    return {r["case_id"]: dict(r) for r in rows}


def test_case_ids_run_in_sequence_per_prefix_and_year(engine: Engine) -> None:
    intake = Intake(engine, TEST_KEYRING)
    assert [register(intake, n=i) for i in (1, 2, 3)] == [
        "HR-2026-000001",
        "HR-2026-000002",
        "HR-2026-000003",
    ]
    assert register(intake, year=2027) == "HR-2027-000001"
    assert register(intake, prefix="LA") == "LA-2026-000001"
    assert register(intake) == "HR-2026-000004"
    assert register(intake, year=2027) == "HR-2027-000002"


def test_each_case_gets_its_own_key_and_discard_destroys_it(engine: Engine) -> None:
    intake = Intake(engine, TEST_KEYRING)
    kept = intake.register("HR", 2026, personal(7))
    dropped = intake.register("HR", 2026, {**personal(8), "bank_account": None})
    rows = keys(engine)
    assert set(rows) == {kept.case_id, dropped.case_id}
    assert rows[kept.case_id]["master_key_id"] == "test-k1"
    assert rows[kept.case_id]["wrapped_key"] != rows[dropped.case_id]["wrapped_key"]
    assert set(kept.personal) == {"id_number", "phone", "bank_account"}
    assert set(dropped.personal) == {"id_number", "phone"}  # no account given: none sealed

    def clear(case_id: str, sealed: Any, field: str) -> str:
        row = keys(engine)[case_id]
        data_key = unwrap_data_key(TEST_KEYRING, case_id, row["master_key_id"], row["wrapped_key"])
        return unseal(data_key, case_id, field, sealed[field])

    assert {f: clear(kept.case_id, kept.personal, f) for f in kept.personal} == personal(7)
    # Nothing of the applicant is stored in clear with the key.
    assert not any(v in str(rows[kept.case_id]) for v in personal(7).values() if v is not None)

    intake.discard(dropped.case_id)
    assert set(keys(engine)) == {kept.case_id}  # the key is gone, the other stays
    intake.discard(dropped.case_id)  # discarding twice is harmless
    # A discarded number is not handed out again.
    assert register(intake, n=9) == "HR-2026-000003"


def test_concurrent_registrations_get_distinct_ids(engine: Engine) -> None:
    """Eight clerks register five applicants each at once, starting with the first
    number of the year (no sequence row yet): forty distinct, gapless ids."""
    intake = Intake(engine, TEST_KEYRING)

    def clerk(k: int) -> list[str]:
        return [register(intake, n=10 * k + i) for i in range(5)]

    results = run_concurrently(*[partial(clerk, k) for k in range(8)])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    per_clerk = [r for r in results if isinstance(r, list)]
    ids = [cid for r in per_clerk for cid in r]
    assert sorted(ids) == [f"HR-2026-{i:06d}" for i in range(1, 41)]
    assert set(keys(engine)) == set(ids)
    for r in per_clerk:  # each clerk's own numbers go up
        assert r == sorted(r)
    with engine.connect() as conn:
        assert conn.execute(select(case_sequences.c.last_value)).scalar_one() == 40


# -- idempotency keys ----------------------------------------------------------------------


def test_an_opening_sent_again_with_its_key_finds_its_case(engine: Engine) -> None:
    """The same key and application: the same case, its fields sealed with its own key,
    and no number used up; another key or none opens a new case."""
    intake = Intake(engine, TEST_KEYRING)
    first = intake.register("HR", 2026, personal(1), "k-1", "fp-a")
    again = intake.register("HR", 2026, personal(1), "k-1", "fp-a")
    assert (first.case_id, first.again) == ("HR-2026-000001", False)
    assert (again.case_id, again.again) == ("HR-2026-000001", True)
    row = keys(engine)[first.case_id]
    data_key = unwrap_data_key(
        TEST_KEYRING, first.case_id, row["master_key_id"], row["wrapped_key"]
    )
    assert {f: unseal(data_key, first.case_id, f, again.personal[f]) for f in again.personal} == (
        personal(1)
    )
    assert intake.register("HR", 2026, personal(2), "k-2", "fp-b").case_id == "HR-2026-000002"
    assert register(intake, n=3) == "HR-2026-000003"
    with engine.connect() as conn:
        assert conn.execute(select(case_sequences.c.last_value)).scalar() == 3


def test_a_key_sent_with_another_application_is_refused(engine: Engine) -> None:
    intake = Intake(engine, TEST_KEYRING)
    opened = intake.register("HR", 2026, personal(1), "k-1", "fp-a").case_id
    with pytest.raises(KeyReused) as refused:
        intake.register("HR", 2026, personal(2), "k-1", "fp-other")
    assert refused.value.case_id == opened
    assert set(keys(engine)) == {opened}  # nothing allocated for the refused one


def test_a_discarded_opening_frees_its_key(engine: Engine) -> None:
    """The workflow could not be started: the key may be sent again and opens anew."""
    intake = Intake(engine, TEST_KEYRING)
    dropped = intake.register("HR", 2026, personal(1), "k-1", "fp-a").case_id
    intake.discard(dropped)
    again = intake.register("HR", 2026, personal(1), "k-1", "fp-a")
    assert (again.case_id, again.again) == ("HR-2026-000002", False)


def test_one_key_sent_twice_at_once_opens_one_case(engine: Engine) -> None:
    """Four sendings of one opening race: one registers, the others find its case."""
    intake = Intake(engine, TEST_KEYRING)

    def send() -> str:
        return intake.register("HR", 2026, personal(1), "k-race", "fp-a").case_id

    assert run_concurrently(*[send] * 4) == ["HR-2026-000001"] * 4
    assert set(keys(engine)) == {"HR-2026-000001"}
