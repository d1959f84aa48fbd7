"""Before a case workflow starts: its number, its data key, the applicant's personal
data sealed with that key, and (hardship relief) the check that the applicant has no
other application or file (casework.store.identities).

The workflow input, Temporal history and the event log carry personal fields only as
ciphertext (and masked forms); the data key stays here, wrapped by a master key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from casework.domain.personal import SealedFields
from casework.privacy.fields import seal_fields, unwrap_data_key
from casework.privacy.keys import Keyring
from casework.store.db import IMMEDIATE
from casework.store.identities import ApplicantIdentities
from casework.store.personal import PersonalData
from casework.store.tables import case_keys, case_requests, case_sequences


class Registered(NamedTuple):
    case_id: str
    personal: SealedFields
    """The personal fields encrypted with the case's data key."""
    again: bool = False
    """The idempotency key had opened this case before: it may already be running."""


class KeyReused(Exception):
    """An idempotency key sent again with a different opening."""

    def __init__(self, key: str, case_id: str) -> None:
        super().__init__(
            f"幂等键 {key!r} 已用于另一份申请 (idempotency key already used for another "
            f"application: {case_id})"
        )
        self.key = key
        self.case_id = case_id


class Intake:
    def __init__(self, engine: Engine, keyring: Keyring) -> None:
        self.engine = engine
        self.personal = PersonalData(engine, keyring)
        self.identities = ApplicantIdentities(keyring)

    def register(
        self,
        prefix: str,
        year: int,
        personal: Mapping[str, str | None],
        key: str | None = None,
        fingerprint: str = "",
        one_file_per: str | None = None,
    ) -> Registered:
        """Allocate the next case id (`HR-2026-000123`), create its data key and seal the
        personal fields with it, atomically. With an idempotency `key` already used for
        the same `fingerprint`: that case again, its fields sealed with its own key
        (raises KeyReused for another fingerprint).

        `one_file_per`: the applicant's ID number, for a process where a person may have
        one application or file at a time (hardship relief): refused with
        PersonOnRegister or ApplicationInProgress (casework.store.identities) if they
        have one; otherwise its keyed hash is kept with the case."""
        try:
            return self._register(prefix, year, personal, key, fingerprint, one_file_per)
        except IntegrityError:
            if key is None:
                raise
            # The same key sent twice at once, and the other sending registered first
            # (PostgreSQL): its transaction has committed, so this finds its case.
            return self._register(prefix, year, personal, key, fingerprint, one_file_per)

    def _register(
        self,
        prefix: str,
        year: int,
        personal: Mapping[str, str | None],
        key: str | None,
        fingerprint: str,
        one_file_per: str | None,
    ) -> Registered:
        with self.engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
            if one_file_per is not None:
                # Before the key's lookup: the same opening sent twice at once must find
                # the first sending's case, not be refused as the person's second one.
                self.identities.lock(conn)
            if key is not None:
                found = self._requested(conn, key, fingerprint)
                if found is not None:
                    case_id, data_key = found
                    return Registered(case_id, seal_fields(data_key, case_id, personal), True)
            # Checked and noted in this transaction, which no other intake interleaves
            # with: two applications of one person at once cannot both pass.
            digest = None if one_file_per is None else self.identities.check(conn, one_file_per)
            # One atomic upsert: the first registrations of a year may race to create the
            # sequence row (a SELECT ... FOR UPDATE finds no row to lock on PostgreSQL).
            upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            number = conn.execute(
                upsert(case_sequences)
                .values(prefix=prefix, year=year, last_value=1)
                .on_conflict_do_update(
                    index_elements=[case_sequences.c.prefix, case_sequences.c.year],
                    set_={"last_value": case_sequences.c.last_value + 1},
                )
                .returning(case_sequences.c.last_value)
            ).scalar_one()
            case_id = f"{prefix}-{year}-{number:06d}"
            data_key = self.personal.create_key(conn, case_id)
            if digest is not None:
                self.identities.add(conn, case_id, digest)
            if key is not None:
                # Two sendings of one key at once: on SQLite the second waits for the
                # first's transaction (BEGIN IMMEDIATE) and finds its case above; on
                # PostgreSQL it fails here on the primary key, and `register` looks again.
                conn.execute(
                    insert(case_requests).values(
                        idempotency_key=key,
                        case_id=case_id,
                        fingerprint=fingerprint,
                        created_at=datetime.now(UTC),
                    )
                )
        return Registered(case_id, seal_fields(data_key, case_id, personal))

    def _requested(self, conn: Connection, key: str, fingerprint: str) -> tuple[str, bytes] | None:
        row = conn.execute(
            select(
                case_requests.c.case_id,
                case_requests.c.fingerprint,
                case_keys.c.master_key_id,
                case_keys.c.wrapped_key,
            )
            .join(case_keys, case_keys.c.case_id == case_requests.c.case_id, isouter=True)
            .where(case_requests.c.idempotency_key == key)
        ).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint or row.wrapped_key is None:
            # Another application; or this case's personal data was erased since.
            raise KeyReused(key, row.case_id)
        keyring = self.personal.keyring
        return row.case_id, unwrap_data_key(
            keyring, row.case_id, row.master_key_id, row.wrapped_key
        )

    def discard(self, case_id: str) -> None:
        """Undo `register` when the workflow could not be started: the data key goes, so
        whatever ciphertext was made with it can never be read, and the idempotency key
        that asked for it is free again."""
        with self.engine.begin() as conn:
            conn.execute(delete(case_requests).where(case_requests.c.case_id == case_id))
            ApplicantIdentities.forget(conn, case_id)
        self.personal.discard(case_id)
