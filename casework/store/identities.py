"""One person, one hardship file: the keyed hashes of applicants' ID numbers
(`applicant_identities`, casework.privacy.lookup), written at intake in the
registration's transaction.

An opening is refused while the same person
- is on the register (a case of theirs filed a household that has not left it), or
- has another application still open (or registered and not yet started).
A closed application that filed nothing, or a household that left the register, does
not stand in the way. The check and the new row are in one transaction that no other
intake interleaves with: SQLite's BEGIN IMMEDIATE, and on PostgreSQL a table lock that
only intakes take (readers and erasures are not held up by it beyond their own row).

The digests never leave this table: not in the event log, Temporal history or logs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Connection, Engine, delete, insert, select, text

from casework.domain.hardship import CASE_TYPE as HARDSHIP
from casework.privacy.keys import Keyring
from casework.privacy.lookup import digests
from casework.store.db import IMMEDIATE
from casework.store.tables import applicant_identities, case_keys, cases, households

_LOCK = text("LOCK TABLE applicant_identities IN SHARE ROW EXCLUSIVE MODE")
"""PostgreSQL: two intakes of the same person one after the other. SHARE ROW EXCLUSIVE
conflicts with itself and with writes, not with reads."""


class PersonOnRegister(Exception):
    """The applicant is on the register: `case_id` is the case that filed them."""

    def __init__(self, case_id: str) -> None:
        super().__init__(
            f"申请人已在困难职工档案中（建档案件 {case_id}），不能重复申请建档 "
            f"(the applicant is already on the register: file {case_id})"
        )
        self.case_id = case_id


class ApplicationInProgress(Exception):
    """The applicant has another application open: `case_id`."""

    def __init__(self, case_id: str) -> None:
        super().__init__(
            f"申请人已有办理中的申请 {case_id}，请勿重复立案 "
            f"(the applicant already has an open application: {case_id})"
        )
        self.case_id = case_id


def _log() -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger("casework.privacy")  # type: ignore[no-any-return]


class ApplicantIdentities:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    @staticmethod
    def lock(conn: Connection) -> None:
        """Hold off other intakes of any applicant until the caller's transaction ends
        (PostgreSQL; on SQLite BEGIN IMMEDIATE already does)."""
        if conn.dialect.name == "postgresql":
            conn.execute(_LOCK)

    def check(self, conn: Connection, id_number: str) -> str:
        """Refuse (PersonOnRegister, ApplicationInProgress) if the person behind
        `id_number` stands in the way of a new application; otherwise their digest under
        the current master key, for `add`. In the caller's write transaction (SQLite:
        BEGIN IMMEDIATE), before it allocates the case."""
        self.lock(conn)
        found = digests(self.keyring, id_number)
        rows = conn.execute(
            select(
                applicant_identities.c.case_id,
                cases.c.status,
                households.c.case_id.label("filed"),
                households.c.exited_at,
            )
            .select_from(
                applicant_identities.outerjoin(
                    cases, cases.c.case_id == applicant_identities.c.case_id
                ).outerjoin(households, households.c.case_id == applicant_identities.c.case_id)
            )
            .where(applicant_identities.c.digest.in_(list(found.values())))
            .order_by(applicant_identities.c.case_id)
        ).all()
        on_register = [r.case_id for r in rows if r.filed is not None and r.exited_at is None]
        if on_register:
            raise PersonOnRegister(on_register[-1])
        # No `cases` row yet: registered, its workflow not (yet) started.
        open_ = [r.case_id for r in rows if r.filed is None and r.status in (None, "open")]
        if open_:
            raise ApplicationInProgress(open_[-1])
        return found[self.keyring.current_id]

    def add(self, conn: Connection, case_id: str, digest: str) -> None:
        """Note that `case_id` is the application of the person `digest` (from `check`)."""
        conn.execute(
            insert(applicant_identities).values(
                case_id=case_id,
                key_id=self.keyring.current_id,
                digest=digest,
                created_at=datetime.now(UTC),
            )
        )

    @staticmethod
    def forget(conn: Connection, case_id: str) -> None:
        """The case's row goes (its personal data erased, or its registration undone)."""
        conn.execute(delete(applicant_identities).where(applicant_identities.c.case_id == case_id))

    def refresh(self, engine: Engine, id_number_of: Callable[[str], str | None]) -> int:
        """Write every hardship case's digest under the current master key: rows written
        under an older one (so that it can be retired), and cases opened before this
        table existed. `id_number_of`: a case's clear ID number, None if it has none or
        its personal data was erased. Returns how many rows were written."""
        current = self.keyring.current_id
        with engine.connect() as conn:
            stale = conn.execute(
                select(case_keys.c.case_id, applicant_identities.c.key_id)
                .select_from(
                    case_keys.join(cases, cases.c.case_id == case_keys.c.case_id).outerjoin(
                        applicant_identities,
                        applicant_identities.c.case_id == case_keys.c.case_id,
                    )
                )
                .where(
                    cases.c.case_type == HARDSHIP,
                    case_keys.c.wrapped_key.is_not(None),
                    (applicant_identities.c.key_id.is_(None))
                    | (applicant_identities.c.key_id != current),
                )
                .order_by(case_keys.c.case_id)
            ).all()
        written = 0
        for row in stale:
            id_number = id_number_of(row.case_id)
            if id_number is None:
                continue
            digest = digests(self.keyring, id_number)[current]
            with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
                # Not for a case erased meanwhile: its erasure holds this row until it
                # commits, and then the key is gone. The row first, then the table, in
                # the order an erasure takes them.
                live = conn.execute(
                    select(case_keys.c.case_id)
                    .where(case_keys.c.case_id == row.case_id, case_keys.c.wrapped_key.is_not(None))
                    .with_for_update()
                ).first()
                if live is None:
                    continue
                self.lock(conn)  # as an intake: no check in between
                self.forget(conn, row.case_id)
                self.add(conn, row.case_id, digest)
            written += 1
        if written:
            _log().info("applicant_identities.refreshed", rows=written, key_id=current)
        return written
