"""Before a case workflow starts: its number, its data key, and the applicant's personal
data sealed with that key.

The workflow input, Temporal history and the event log carry personal fields only as
ciphertext (and masked forms); the data key stays here, wrapped by a master key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from casework.domain.personal import SealedFields
from casework.privacy.fields import seal_fields
from casework.privacy.keys import Keyring
from casework.store.db import IMMEDIATE
from casework.store.personal import PersonalData
from casework.store.tables import case_sequences


class Registered(NamedTuple):
    case_id: str
    personal: SealedFields
    """The personal fields encrypted with the new case's data key."""


class Intake:
    def __init__(self, engine: Engine, keyring: Keyring) -> None:
        self.engine = engine
        self.personal = PersonalData(engine, keyring)

    def register(self, prefix: str, year: int, personal: Mapping[str, str | None]) -> Registered:
        """Allocate the next case id (`HR-2026-000123`), create its data key and seal the
        personal fields with it, atomically."""
        with self.engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
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
        return Registered(case_id, seal_fields(data_key, case_id, personal))

    def discard(self, case_id: str) -> None:
        """Undo `register` when the workflow could not be started: the data key goes, so
        whatever ciphertext was made with it can never be read."""
        self.personal.discard(case_id)
