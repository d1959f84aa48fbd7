"""Before a case workflow starts: its number, and the applicant's personal data.

Personal data (ID number, phone, bank account) is kept here, keyed by case id, and
never enters Temporal history or the event log, which carry masked forms only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from casework.store.db import IMMEDIATE
from casework.store.tables import applicant_pii, case_sequences


class Intake:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(
        self, prefix: str, year: int, id_number: str, phone: str, bank_account: str | None
    ) -> str:
        """Allocate the next case id (`HR-2026-000123`) and keep the personal data, atomically."""
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
            conn.execute(
                insert(applicant_pii).values(
                    case_id=case_id,
                    id_number=id_number,
                    phone=phone,
                    bank_account=bank_account,
                    created_at=datetime.now(UTC),
                )
            )
        return case_id

    def discard(self, case_id: str) -> None:
        """Undo `register` when the workflow could not be started."""
        with self.engine.begin() as conn:
            conn.execute(delete(applicant_pii).where(applicant_pii.c.case_id == case_id))

    def bank_account(self, case_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(applicant_pii.c.bank_account).where(applicant_pii.c.case_id == case_id)
            ).scalar()
