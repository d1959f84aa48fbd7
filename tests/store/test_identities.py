"""One person, one hardship file, on SQLite and PostgreSQL: intake refuses an application
for someone on the register (naming the file) or with another application open (naming
it), also when both are sent at once; the ID number is compared through a keyed hash
that a master-key rotation does not break, and that goes with the case's personal data."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from casework.domain.case import Action
from casework.domain.org import Role
from casework.privacy.keys import Keyring
from casework.privacy.lookup import identity_digest, lookup_key
from casework.store.event_store import EventStore
from casework.store.identities import ApplicationInProgress, PersonOnRegister
from casework.store.intake import Intake
from casework.store.personal import PersonalData, years_after
from casework.store.tables import applicant_identities, case_events
from tests.conftest import TEST_KEYRING
from tests.factories import id_number
from tests.store.builders import DISTRICT, OPENER, DomainCase, actor, event, run_concurrently

PERSON = id_number(11, birth="19700101")
OTHER = id_number(12, birth="19700101")
K2 = "k2:" + base64.b64encode(b"\x02" * 32).decode()
ROTATED = Keyring.parse(K2 + "," + TEST_KEYRING.serialize())
ONLY_NEW = Keyring.parse(K2)
ADMIN = actor("city.admin", Role.ADMIN, district="市总工会")


def apply(engine: Engine, who: str = PERSON, keyring: Keyring = TEST_KEYRING) -> str:
    """An application for `who`, as `CaseService.open_hardship` registers it."""
    values = {"id_number": who, "phone": "13800000000", "bank_account": None}
    return Intake(engine, keyring).register("HR", 2026, values, one_file_per=who).case_id


def opened(engine: Engine, store: EventStore, who: str = PERSON) -> DomainCase:
    """An application registered and its workflow's opening recorded (personal fields
    sealed in `case.opened`, as the workflow records them)."""
    values = {"id_number": who, "phone": "13800000000", "bank_account": None}
    registered = Intake(engine, TEST_KEYRING).register("HR", 2026, values, one_file_per=who)
    case = DomainCase(store, registered.case_id)
    return case.open(personal=registered.personal)


def rows(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            (r.case_id, r.key_id, r.digest)
            for r in conn.execute(select(applicant_identities).order_by("case_id"))
        ]


def test_a_second_application_while_the_first_is_open_is_refused_naming_it(
    engine: Engine, store: EventStore
) -> None:
    first = apply(engine)
    # Registered, its workflow not started yet: already in the way.
    with pytest.raises(ApplicationInProgress) as refused:
        apply(engine)
    assert refused.value.case_id == first and first in str(refused.value)
    DomainCase(store, first).open()
    with pytest.raises(ApplicationInProgress):
        apply(engine)
    assert apply(engine, OTHER) != first  # someone else is welcome
    assert [r[0] for r in rows(engine)] == [first, "HR-2026-000002"]


def test_a_closed_application_that_filed_nothing_is_no_obstacle(
    engine: Engine, store: EventStore
) -> None:
    first = apply(engine)
    DomainCase(store, first).open().act(OPENER, Action.WITHDRAW, "申请人撤回")
    second = apply(engine)
    assert second != first


def test_someone_on_the_register_is_refused_until_the_household_leaves(
    engine: Engine, store: EventStore
) -> None:
    store.set_budget(DISTRICT, 2026, 10**9)
    first = apply(engine)
    case = DomainCase(store, first).to_filed()
    with pytest.raises(PersonOnRegister) as refused:
        apply(engine)
    assert refused.value.case_id == first
    assert "already on the register" in str(refused.value) and first in str(refused.value)
    store.append(
        first,
        case.state.seq,
        [event(first, "household.exited", {"kind": "annual_review", "reason": "复核"})],
    )
    assert apply(engine) != first


def test_two_applications_of_one_person_at_once_open_one(engine: Engine) -> None:
    outcomes = run_concurrently(*[lambda: apply(engine)] * 4)
    opened_ids = [o for o in outcomes if isinstance(o, str)]
    refusals = [o for o in outcomes if isinstance(o, ApplicationInProgress)]
    assert len(opened_ids) == 1 and len(refusals) == 3, outcomes
    assert {r.case_id for r in refusals} == set(opened_ids)
    assert len(rows(engine)) == 1


def test_one_opening_sent_twice_at_once_is_one_case_not_a_second_application(
    engine: Engine,
) -> None:
    """The same key at once (a double click): both find the one case it opened."""
    values = {"id_number": PERSON, "phone": "13800000000", "bank_account": None}

    def send() -> str:
        intake = Intake(engine, TEST_KEYRING)
        return intake.register("HR", 2026, values, "k-twice", "fp", one_file_per=PERSON).case_id

    outcomes = run_concurrently(*[send] * 4)
    assert outcomes == ["HR-2026-000001"] * 4, outcomes


def test_the_id_number_is_kept_as_a_keyed_hash_only(engine: Engine, store: EventStore) -> None:
    case = opened(engine, store)
    [(case_id, key_id, digest)] = rows(engine)
    assert (case_id, key_id) == (case.case_id, "test-k1")
    # Not the number, nor a plain hash anyone could compute from a guessed number.
    assert PERSON not in digest and digest != hashlib.sha256(PERSON.encode()).hexdigest()
    assert digest == identity_digest(lookup_key(TEST_KEYRING.current), PERSON)
    assert identity_digest(b"\x01" * 32, PERSON) != digest  # another key, another digest
    # The same number typed with a lower-case check character is the same person.
    assert identity_digest(b"k" * 32, "32060219700101011x") == identity_digest(
        b"k" * 32, " 32060219700101011X "
    )
    # Nowhere in the event log.
    with engine.connect() as conn:
        payloads = " ".join(conn.execute(select(case_events.c.payload)).scalars())
    assert digest not in payloads and PERSON not in payloads


def test_a_master_key_rotation_keeps_every_lookup(engine: Engine, store: EventStore) -> None:
    """A new master key in front, the old one kept: digests made under the old one are
    still found. `privacy rewrap` writes them again under the new one (and adds those of
    cases opened before the table existed), after which the old key can go."""
    case = opened(engine, store)
    # Opened before one-person-once: no digest of its own yet.
    registered = Intake(engine, TEST_KEYRING).register(
        "HR", 2025, {"id_number": OTHER, "phone": "13800000001", "bank_account": None}
    )
    older = DomainCase(store, registered.case_id).open(personal=registered.personal)
    assert [r[0] for r in rows(engine)] == [case.case_id]

    with pytest.raises(ApplicationInProgress):
        apply(engine, keyring=ROTATED)
    personal = PersonalData(engine, ROTATED)
    assert personal.rewrap() == 2
    assert personal.refresh_identities() == 2  # one re-hashed, one added
    assert personal.refresh_identities() == 0
    assert {(r[0], r[1]) for r in rows(engine)} == {(case.case_id, "k2"), (older.case_id, "k2")}

    with pytest.raises(ApplicationInProgress) as refused:
        apply(engine, keyring=ONLY_NEW)
    assert refused.value.case_id == case.case_id
    with pytest.raises(ApplicationInProgress) as refused:
        apply(engine, OTHER, keyring=ONLY_NEW)
    assert refused.value.case_id == older.case_id


def test_the_hash_goes_with_the_personal_data(engine: Engine, store: EventStore) -> None:
    intake = Intake(engine, TEST_KEYRING)
    discarded = apply(engine)
    intake.discard(discarded)  # its workflow could not be started
    assert rows(engine) == []
    case = opened(engine, store).act(OPENER, Action.WITHDRAW, "撤回")
    closed = case.stored[-1].occurred_at
    PersonalData(engine, None).erase(
        case.case_id, ADMIN, retention_years=10, now=years_after(closed, 10) + timedelta(1)
    )
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(applicant_identities)).scalar() == 0
    # And a rewrap does not bring it back.
    assert PersonalData(engine, ROTATED).refresh_identities() == 0
    assert rows(engine) == []
