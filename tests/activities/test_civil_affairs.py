"""The civil-affairs (民政) check activity: the registry is asked with the applicant's
ID number, which the activity decrypts from the case's sealed fields; the workflow's
query carries none, and nothing the activity logs or raises shows the number."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.civil_affairs import CivilAffairsCheck, FakeCivilAffairs
from casework.domain.contracts import (
    CIVIL_AFFAIRS_UNAVAILABLE,
    NO_IDENTITY,
    CivilAffairsAnswer,
    CivilAffairsQuery,
)
from casework.store.event_store import EventStore
from casework.store.intake import Intake
from casework.store.personal import PersonalData
from tests.conftest import TEST_KEYRING
from tests.factories import id_number
from tests.store.builders import DomainCase

ID_NUMBER = id_number(432)
DISTRICT = "崇川区"


def opened_with_personal_data(engine: Engine) -> str:
    values = {"id_number": ID_NUMBER, "phone": "13912340000", "bank_account": None}
    registered = Intake(engine, TEST_KEYRING).register("HR", 2026, values)
    DomainCase(EventStore(engine), registered.case_id).open(personal=registered.personal)
    return registered.case_id


def query(case_id: str) -> CivilAffairsQuery:
    return CivilAffairsQuery(
        case_id=case_id, district=DISTRICT, household_size=3, monthly_income_fen=250000
    )


def check(engine: Engine, registry: FakeCivilAffairs) -> CivilAffairsCheck:
    return CivilAffairsCheck(registry, PersonalData(engine, TEST_KEYRING))


def test_the_registry_is_asked_with_the_id_number_decrypted_in_the_activity(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = opened_with_personal_data(sqlite_engine)
    registry = FakeCivilAffairs()
    caplog.set_level(logging.DEBUG)
    sent = query(case_id)
    assert ID_NUMBER not in sent.model_dump_json()  # what the workflow sends

    answer = ActivityEnvironment().run(check(sqlite_engine, registry).check_civil_affairs, sent)
    assert answer == CivilAffairsAnswer(match=True, detail="民政记录与申报一致")
    [asked] = registry.asked
    assert (asked.case_id, asked.id_number) == (case_id, ID_NUMBER)
    assert (asked.household_size, asked.monthly_income_fen) == (3, 250000)
    assert ID_NUMBER not in repr(asked)
    printed = capsys.readouterr()
    assert ID_NUMBER not in caplog.text + printed.out + printed.err


def test_a_registry_that_does_not_answer_is_asked_again(sqlite_engine: Engine) -> None:
    case_id = opened_with_personal_data(sqlite_engine)
    registry = FakeCivilAffairs()
    registry.unanswered_cases.add(case_id)
    with pytest.raises(ApplicationError) as failed:
        ActivityEnvironment().run(
            check(sqlite_engine, registry).check_civil_affairs, query(case_id)
        )
    assert (failed.value.type, failed.value.non_retryable) == (CIVIL_AFFAIRS_UNAVAILABLE, False)
    assert ID_NUMBER not in str(failed.value)


def test_without_an_id_number_on_file_there_is_nothing_to_check(sqlite_engine: Engine) -> None:
    """A case opened before personal fields were sealed into it: the check cannot be
    made, and asking again will not change that."""
    case_id = "HR-2026-000077"
    DomainCase(EventStore(sqlite_engine), case_id).open()
    registry = FakeCivilAffairs()
    with pytest.raises(ApplicationError) as failed:
        ActivityEnvironment().run(
            check(sqlite_engine, registry).check_civil_affairs, query(case_id)
        )
    assert (failed.value.type, failed.value.non_retryable) == (NO_IDENTITY, True)
    assert registry.asked == []
