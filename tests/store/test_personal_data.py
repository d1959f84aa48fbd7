"""Personal data at rest, on SQLite and PostgreSQL: the applicant's ID number, phone and
bank account are ciphertext in the event log (sealed with the case's data key) and
nowhere in clear in the database; erasing destroys the key once the retention period is
over, and the hash chain and the read models are none the worse for it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, MetaData, insert, select, text

from casework.domain.case import Action, Refused
from casework.domain.org import Role
from casework.domain.personal import SealedValue
from casework.privacy.fields import DecryptionFailed, unseal, unwrap_data_key
from casework.privacy.keys import Keyring
from casework.store import projections
from casework.store.db import alembic_config
from casework.store.event_store import EventStore
from casework.store.intake import Intake
from casework.store.personal import ERASED_EVENT, PersonalData, PersonalDataErased
from casework.store.tables import case_keys, case_requests
from tests.conftest import TEST_KEYRING
from tests.factories import id_number
from tests.store.builders import OPENER, DomainCase, actor, after_statement, comments, opened

ID_NUMBER = id_number(321)
PHONE = "13912340000"
ACCOUNT = "6222020000000008765"
SECRETS = (ID_NUMBER, PHONE, ACCOUNT)
ADMIN = actor("city.admin", Role.ADMIN, district="市总工会")
YEARS = 10


def open_case(engine: Engine, store: EventStore, n: int = 1, **applicant: Any) -> DomainCase:
    """A case opened as the service does it: number and key from intake, personal
    fields sealed into the workflow input, recorded in `case.opened`."""
    values = {"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT, **applicant}
    registered = Intake(engine, TEST_KEYRING).register("HR", 2026, values)
    case = DomainCase(store, registered.case_id)
    case.open(personal=registered.personal, applicant=values)
    return case


def closed_case(engine: Engine, store: EventStore) -> DomainCase:
    case = open_case(engine, store)
    return case.act(OPENER, Action.WITHDRAW, "申请人撤回申请")


def everything_stored(engine: Engine) -> str:
    """Every row of every table, as text."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(
            json.dumps([list(map(str, r)) for r in conn.execute(select(t))], ensure_ascii=False)
            for t in meta.sorted_tables
        )


def after_retention(case: DomainCase) -> datetime:
    closed = case.stored[-1].occurred_at
    return closed.replace(year=closed.year + YEARS)


# -- encrypted at rest ---------------------------------------------------------------


def test_personal_fields_are_ciphertext_in_the_event_log(engine: Engine, store: EventStore) -> None:
    case = open_case(engine, store)
    opened_event = store.read(case.case_id)[0]
    sealed = opened_event.payload["personal"]
    assert set(sealed) == {"id_number", "phone", "bank_account"}
    assert all(set(v) == {"alg", "ct"} for v in sealed.values())
    # The masked forms stay readable for everyone.
    assert (
        opened_event.payload["application"]["id_number_masked"] == "3206**********" + ID_NUMBER[-4:]
    )
    assert opened_event.payload["application"]["bank_account_masked"] == "6222" + "*" * 11 + "8765"

    dump = everything_stored(engine)
    for secret in SECRETS:
        assert secret not in dump, secret
    # Not merely encoded: each value is AES-GCM output (nonce, ciphertext, tag).
    for name, clear in zip(("id_number", "phone", "bank_account"), SECRETS, strict=True):
        blob = base64.b64decode(sealed[name]["ct"])
        assert clear.encode() not in blob and len(blob) == 12 + len(clear) + 16
    # ... yet those whose work needs them can read them.
    revealed = PersonalData(engine, TEST_KEYRING).reveal(
        case.case_id, ("id_number", "phone", "bank_account"), viewer="test"
    )
    assert revealed.values == {"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT}
    assert PersonalData(engine, TEST_KEYRING).bank_account(case.case_id) == ACCOUNT
    assert store.verify().broken == []


def test_a_sealed_field_opens_only_in_its_own_case_and_field(
    engine: Engine, store: EventStore
) -> None:
    first, second = open_case(engine, store), open_case(engine, store)
    key_of = {}
    with engine.connect() as conn:
        for row in conn.execute(select(case_keys)):
            key_of[row.case_id] = unwrap_data_key(
                TEST_KEYRING, row.case_id, row.master_key_id, row.wrapped_key
            )
    sealed = first.stored[0].payload["personal"]
    id_sealed = SealedValue.model_validate(sealed["id_number"])
    assert unseal(key_of[first.case_id], first.case_id, "id_number", id_sealed) == ID_NUMBER
    with pytest.raises(DecryptionFailed):  # moved to another case
        unseal(key_of[second.case_id], second.case_id, "id_number", id_sealed)
    with pytest.raises(DecryptionFailed):  # moved to another field
        unseal(key_of[first.case_id], first.case_id, "phone", id_sealed)


def test_an_account_not_given_is_none(engine: Engine, store: EventStore) -> None:
    case = open_case(engine, store, bank_account=None)
    assert "bank_account" not in case.stored[0].payload["personal"]
    assert PersonalData(engine, TEST_KEYRING).bank_account(case.case_id) is None


def test_rewrap_moves_case_keys_to_the_current_master_key(
    engine: Engine, store: EventStore
) -> None:
    cases = [open_case(engine, store) for _ in range(3)]
    new = "k2:" + base64.b64encode(b"\x02" * 32).decode()
    rotated = Keyring.parse(new + "," + TEST_KEYRING.serialize())
    assert PersonalData(engine, rotated).rewrap() == 3
    assert PersonalData(engine, rotated).rewrap() == 0  # nothing left on the old key
    with engine.connect() as conn:
        assert set(conn.execute(select(case_keys.c.master_key_id)).scalars()) == {"k2"}
    # The old master key can now be retired.
    only_new = PersonalData(engine, Keyring.parse(new))
    assert [only_new.bank_account(c.case_id) for c in cases] == [ACCOUNT] * 3


# -- erasing -------------------------------------------------------------------------


def test_erasing_destroys_the_key_and_the_chain_still_verifies(
    engine: Engine, store: EventStore
) -> None:
    case = closed_case(engine, store)
    other = closed_case(engine, store)
    personal = PersonalData(engine, TEST_KEYRING)
    projections.rebuild(engine)
    seq_before = case.stored[-1].seq

    stored = personal.erase(
        case.case_id, ADMIN, retention_years=YEARS, now=after_retention(case), reason="期满"
    )

    assert (stored.seq, stored.type, stored.actor_id) == (seq_before + 1, ERASED_EVENT, ADMIN.id)
    assert stored.payload["fields"] == ["id_number", "phone", "bank_account"]
    with engine.connect() as conn:
        row = conn.execute(select(case_keys).where(case_keys.c.case_id == case.case_id)).one()
    assert row.wrapped_key is None and row.erased_at is not None
    # Unreadable, even with every master key: the data key itself is gone.
    revealed = personal.reveal(case.case_id, ("id_number", "phone", "bank_account"), "test")
    assert revealed.erased and revealed.values == {}
    with pytest.raises(PersonalDataErased):
        personal.bank_account(case.case_id)
    # The ciphertext is still in the log, and the log is intact.
    assert store.read(case.case_id)[0].payload["personal"] == case.stored[0].payload["personal"]
    assert store.verify().broken == []
    # The read models rebuild to the same rows.
    live = projections.projection_snapshot(engine)
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == live
    # The other case is untouched.
    assert personal.bank_account(other.case_id) == ACCOUNT
    # Once is enough.
    with pytest.raises(Refused) as again:
        personal.erase(case.case_id, ADMIN, retention_years=YEARS, now=after_retention(case))
    assert again.value.code == "already_erased"
    assert store.read(case.case_id)[-1].seq == seq_before + 1


def test_erasing_is_refused_before_the_retention_period_ends(
    engine: Engine, store: EventStore
) -> None:
    case = closed_case(engine, store)
    personal = PersonalData(engine, None)  # erasing needs no keys
    just_before = after_retention(case) - timedelta(seconds=1)
    with pytest.raises(Refused) as refused:
        personal.erase(case.case_id, ADMIN, retention_years=YEARS, now=just_before)
    assert refused.value.code == "retention_period"
    assert f"{after_retention(case):%Y-%m-%d}" in refused.value.message
    assert PersonalData(engine, TEST_KEYRING).bank_account(case.case_id) == ACCOUNT
    assert [e.type for e in store.read(case.case_id)][-1] == "case.closed"
    # A shorter configured period is measured from the closing too.
    personal.erase(case.case_id, ADMIN, retention_years=0, now=case.stored[-1].occurred_at)


def test_erasing_is_refused_for_an_open_case_and_to_anyone_but_an_admin(
    engine: Engine, store: EventStore
) -> None:
    personal = PersonalData(engine, None)
    running = open_case(engine, store)
    far_future = after_retention(running) + timedelta(days=3650)
    with pytest.raises(Refused) as refused:
        personal.erase(running.case_id, ADMIN, retention_years=0, now=far_future)
    assert refused.value.code == "case_open"
    done = closed_case(engine, store)
    supervisor = actor("city.supervisor", Role.SUPERVISOR, district="市总工会")
    with pytest.raises(Refused) as refused:
        personal.erase(done.case_id, supervisor, retention_years=0, now=far_future)
    assert refused.value.code == "role_not_held"
    checker = PersonalData(engine, TEST_KEYRING)
    assert [checker.bank_account(c.case_id) for c in (running, done)] == [ACCOUNT, ACCOUNT]


def test_the_key_survives_if_the_erasure_cannot_be_recorded(
    engine: Engine, store: EventStore
) -> None:
    """The event and the key's destruction commit together: a comment appended between
    the erasure's read and its append makes the append conflict, and the key stays."""
    case = closed_case(engine, store)
    head = case.stored[-1].seq
    sneaked: list[int] = []

    def sneak_in() -> None:
        if not sneaked:
            sneaked.append(1)
            EventStore(engine).append(case.case_id, head, comments(case.case_id, 1))

    with (
        after_statement(engine, "FROM case_events", sneak_in),
        pytest.raises(Refused) as refused,
    ):
        PersonalData(engine, None).erase(
            case.case_id, ADMIN, retention_years=YEARS, now=after_retention(case)
        )
    assert refused.value.code == "concurrent_change"
    assert PersonalData(engine, TEST_KEYRING).bank_account(case.case_id) == ACCOUNT
    assert [e.type for e in store.read(case.case_id)][-1] == "case.commented"


# -- cases from before field encryption ----------------------------------------------


def test_migration_encrypts_the_old_clear_text_table(engine: Engine, store: EventStore) -> None:
    """Cases opened when personal data sat in clear in `applicant_pii`: upgrading seals
    it with a new key per case, drops the table, and the data stays usable."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))

    def to(revision: str, upgrade: bool) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            cfg.attributes["keyring"] = TEST_KEYRING
            (command.upgrade if upgrade else command.downgrade)(cfg, revision)

    to("0003", upgrade=False)
    store.append("HR-2025-000001", 0, [opened("HR-2025-000001")])
    legacy = sa.table(
        "applicant_pii",
        *(sa.column(c) for c in ("case_id", "id_number", "phone", "bank_account", "created_at")),
    )
    with engine.begin() as conn:
        conn.execute(
            insert(legacy).values(
                case_id="HR-2025-000001",
                id_number=ID_NUMBER,
                phone=PHONE,
                bank_account=ACCOUNT,
                created_at=datetime(2025, 5, 1, tzinfo=UTC),
            )
        )
    to("head", upgrade=True)

    assert "applicant_pii" not in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert not conn.execute(
            text("SELECT COUNT(*) FROM case_keys WHERE legacy_personal IS NULL")
        ).scalar()
    for secret in SECRETS:
        assert secret not in everything_stored(engine)
    personal = PersonalData(engine, TEST_KEYRING)
    assert personal.bank_account("HR-2025-000001") == ACCOUNT
    assert personal.reveal("HR-2025-000001", ("id_number",), "test").values == {
        "id_number": ID_NUMBER
    }
    # Downgrading now would destroy keys: refused.
    with pytest.raises(RuntimeError, match="cannot be downgraded"):
        to("0003", upgrade=False)


# -- the retention sweep -------------------------------------------------------------


def test_the_sweep_erases_every_closed_case_past_retention_and_only_those(
    engine: Engine, store: EventStore
) -> None:
    done = [closed_case(engine, store) for _ in range(3)]
    running = open_case(engine, store)
    personal = PersonalData(engine, None)
    checker = PersonalData(engine, TEST_KEYRING)
    after = after_retention(done[-1]) + timedelta(seconds=1)

    # Not yet: a day before the period ends, nothing is due.
    early = personal.sweep(ADMIN, retention_years=YEARS, now=after - timedelta(days=1))
    assert early == []
    # A dry run lists the cases due, oldest first, and erases nothing.
    listed = personal.sweep(ADMIN, retention_years=YEARS, now=after, dry_run=True)
    assert [(x.case_id, x.result) for x in listed] == [(c.case_id, "due") for c in done]
    assert checker.bank_account(done[0].case_id) == ACCOUNT
    # The run erases them one by one, each with its own recorded event.
    with engine.begin() as conn:  # opened with an idempotency key, as the CLI does
        conn.execute(
            insert(case_requests).values(
                idempotency_key="k-0", case_id=done[0].case_id, fingerprint="f", created_at=after
            )
        )
    swept = personal.sweep(ADMIN, retention_years=YEARS, now=after, limit=2, reason="年度清理")
    assert [(x.case_id, x.result) for x in swept] == [(c.case_id, "erased") for c in done[:2]]
    rest = personal.sweep(ADMIN, retention_years=YEARS, now=after)
    assert [(x.case_id, x.result) for x in rest] == [(done[2].case_id, "erased")]
    for case in done:
        last = store.read(case.case_id)[-1]
        assert (last.type, last.actor_id) == (ERASED_EVENT, ADMIN.id)
        with pytest.raises(PersonalDataErased):
            checker.bank_account(case.case_id)
    # The open case keeps its data, and a second sweep finds nothing.
    assert checker.bank_account(running.case_id) == ACCOUNT
    assert personal.sweep(ADMIN, retention_years=YEARS, now=after) == []
    assert store.verify().broken == []
    with engine.connect() as conn:  # the opening's record (a digest of it) went too
        assert conn.execute(select(case_requests)).all() == []


def test_only_an_admin_may_sweep(engine: Engine, store: EventStore) -> None:
    case = closed_case(engine, store)
    supervisor = actor("city.supervisor", Role.SUPERVISOR, district="市总工会")
    with pytest.raises(Refused) as refused:
        PersonalData(engine, None).sweep(
            supervisor, retention_years=0, now=after_retention(case), dry_run=True
        )
    assert refused.value.code == "role_not_held"


def test_a_legal_aid_case_is_erased_by_its_own_retention_and_seen_by_its_roles(
    engine: Engine, store: EventStore
) -> None:
    """Privacy knows legal aid through the registry: its sealed fields (ID number and
    phone; no bank account), who sees them in clear (legal-aid officers and lawyers of
    the district), and its own retention period in the sweep."""
    from casework.domain.case import ActRequest, CaseState, Context, decide, evolve_all
    from casework.domain.legal_aid import (
        APPLICATION_EXAMPLE,
        LegalAidApplication,
        LegalAidConfig,
        LegalAidProcess,
        StartLegalAidCase,
    )

    app = LegalAidApplication.model_validate(APPLICATION_EXAMPLE)
    registered = Intake(engine, TEST_KEYRING).register("LA", 2026, app.personal_fields())
    cid = registered.case_id
    opener = actor("chongchuan.legalaid", Role.LEGAL_AID_OFFICER)
    process = LegalAidProcess(LegalAidConfig())
    start = StartLegalAidCase(
        case_id=cid, opened_by=opener, application=app.masked(), personal=registered.personal
    )
    ids = iter(range(1000))
    ctx = Context(now=datetime(2026, 3, 2, 2, tzinfo=UTC), new_id=lambda: f"la-{next(ids)}")
    state = CaseState(case_id=cid)
    events = process.open(start, state, ctx)
    withdraw = ActRequest(actor=opener, action=Action.WITHDRAW, comment="劳动者撤回申请")
    events += decide(process, evolve_all(state, events), withdraw, ctx)
    store.append(cid, 0, events)
    assert app.applicant.id_number not in everything_stored(engine)

    lawyer = actor("chongchuan.lawyer", Role.LAWYER)
    grassroots = actor("chongchuan.grassroots1", Role.GRASSROOTS_OFFICER)
    personal = PersonalData(engine, TEST_KEYRING)
    history = store.read(cid)
    seen = personal.applicant_in(cid, "崇川区", history, lawyer)
    assert seen is not None and seen.id_number == app.applicant.id_number
    masked = personal.applicant_in(cid, "崇川区", history, grassroots)
    assert masked is not None and masked.id_number != app.applicant.id_number

    closed = store.read(cid)[-1].occurred_at
    years = {"hardship": 10, "legal-aid": 3}
    sweeper = PersonalData(engine, None)
    before = closed.replace(year=closed.year + 3) - timedelta(days=1)
    assert sweeper.sweep(ADMIN, retention_years=years, now=before) == []
    after = closed.replace(year=closed.year + 3) + timedelta(seconds=1)
    swept = sweeper.sweep(ADMIN, retention_years=years, now=after)
    assert [(x.case_id, x.result) for x in swept] == [(cid, "erased")]
    with pytest.raises(PersonalDataErased):
        personal.id_number(cid)
    assert store.verify().broken == []
