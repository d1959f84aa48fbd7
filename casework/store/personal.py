"""Personal data at rest: each case's data key (`case_keys`), the fields sealed with it in
the `case.opened` event, revealing them to those whose work needs them, and erasing
them (crypto-shredding) once the retention period is over.

The hash chain covers the ciphertext, not the clear values, so destroying a data key
leaves every chain verifiable (DESIGN.md, "Event store").
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, update

from casework.domain import registry
from casework.domain.case import CLOSING_EVENTS, Refused
from casework.domain.events import NewEvent
from casework.domain.org import Actor, Role
from casework.domain.personal import (
    ERASED,
    ID_NUMBER,
    PERSONAL_FIELDS,
    SealedFields,
    SealedValue,
)
from casework.domain.register import HOUSEHOLD_EXITED, HOUSEHOLD_FILED
from casework.privacy.fields import new_data_key, seal, unseal, unwrap_data_key, wrap_data_key
from casework.privacy.keys import Keyring, KeyringError
from casework.store.event_store import ConcurrencyConflict, EventStore, StoredEvent
from casework.store.identities import ApplicantIdentities
from casework.store.tables import case_events, case_keys, case_requests, cases, households

ERASED_EVENT = "case.personal_data_erased"


def _log() -> structlog.typing.FilteringBoundLogger:
    # Not cached in a module global: a CLI run in-process (tests) reconfigures logging
    # on each command, and a logger cached on first use would keep a closed stream.
    return structlog.get_logger("casework.privacy")  # type: ignore[no-any-return]


class PersonalDataErased(Exception):
    """The case's data key was destroyed: its personal fields can no longer be read."""


@dataclass
class Revealed:
    """Personal fields of one case in clear, as far as asked for and still readable."""

    case_id: str
    erased: bool = False
    values: dict[str, str] = field(default_factory=dict)
    """Field -> clear value; a field the applicant did not give is absent."""


class SweepLine(BaseModel):
    """One case of a retention sweep: erased, due (a dry run), or refused and why."""

    case_id: str
    result: str
    code: str | None = None
    message: str | None = None


class ApplicantCard(BaseModel):
    """The applicant as one person sees them (`case show --as`): personal fields in
    clear if their work needs them, masked otherwise, `[已销毁 erased]` once erased."""

    name: str | None
    id_number: str | None
    phone: str | None
    bank_account: str | None
    """None: no account given."""
    revealed: list[str]
    """The fields shown in clear."""
    erased: bool


def sweep_lines(
    due: Sequence[str], dry_run: bool, erase: Callable[[str], object]
) -> list[SweepLine]:
    """A sweep over `due` (cases or programmes), one erasure each: a refusal is its
    line and the others go on; `dry_run` lists them as due and erases nothing."""
    lines: list[SweepLine] = []
    for stream in due:
        if dry_run:
            lines.append(SweepLine(case_id=stream, result="due"))
            continue
        try:
            erase(stream)
        except Refused as refused:
            lines.append(
                SweepLine(
                    case_id=stream, result="refused", code=refused.code, message=refused.message
                )
            )
        else:
            lines.append(SweepLine(case_id=stream, result="erased"))
    return lines


def require_admin(admin: Actor) -> None:
    if not admin.has_role(Role.ADMIN):
        raise Refused("role_not_held", "销毁个人信息需要 admin 角色 (role admin required)")


def utc_now() -> datetime:
    """The time an erasure is judged at (tests of the retention period move it)."""
    return datetime.now(UTC)


def retention_start(events: Iterable[StoredEvent]) -> StoredEvent | None:
    """The event a case's retention period counts from: the household's exit for a
    case that filed one, else the closing (None while the case is open). Refused
    `on_register` while the filed household is on the register."""
    events = list(events)
    closed = next((e for e in reversed(events) if e.type in CLOSING_EVENTS), None)
    filed = next((e for e in events if e.type == HOUSEHOLD_FILED), None)
    if filed is None:
        return closed
    exited = next((e for e in events if e.type == HOUSEHOLD_EXITED), None)
    if exited is None:
        raise Refused(
            "on_register",
            f"该户仍在困难职工档案中（{filed.case_id}），解困脱困前不得销毁个人信息 "
            f"(the household is on the register: its data is kept until it leaves it, "
            "then for the retention period)",
        )
    return exited


def years_after(moment: datetime, years: int) -> datetime:
    """The same day and time `years` later (29 February: 1 March)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, month=3, day=1)


class PersonalData:
    def __init__(self, engine: Engine, keyring: Keyring | None) -> None:
        """`keyring` None: masked views and erasure only, nothing decrypted or created."""
        self.engine = engine
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise KeyringError("no encryption keys given: personal data cannot be read here")
        return self._keyring

    # -- keys ------------------------------------------------------------------------

    def create_key(self, conn: Connection, case_id: str) -> bytes:
        """A new data key for `case_id`, stored wrapped in the caller's transaction."""
        data_key = new_data_key()
        master_key_id, wrapped = wrap_data_key(self.keyring, case_id, data_key)
        conn.execute(
            insert(case_keys).values(
                case_id=case_id,
                master_key_id=master_key_id,
                wrapped_key=wrapped,
                created_at=datetime.now(UTC),
            )
        )
        return data_key

    def seal(self, case_id: str, field: str, value: str) -> SealedValue:
        """`value` sealed with the case's own data key, bound to the case and `field`:
        personal data an action brings (an objector's name) reaches history sealed."""
        with self.engine.connect() as conn:
            row = conn.execute(select(case_keys).where(case_keys.c.case_id == case_id)).first()
        if row is None or row.wrapped_key is None:
            raise Refused("personal_data_erased", f"{case_id}: 数据密钥不存在 (no data key)")
        key = unwrap_data_key(self.keyring, case_id, row.master_key_id, row.wrapped_key)
        return seal(key, case_id, field, value)

    def discard(self, case_id: str) -> None:
        """Forget a case that never started: its key, so any ciphertext is unreadable."""
        with self.engine.begin() as conn:
            conn.execute(delete(case_keys).where(case_keys.c.case_id == case_id))

    def rewrap(self) -> int:
        """Wrap every live case key with the current master key, so that older master
        keys can be retired; returns how many were rewrapped."""
        current = self.keyring.current_id
        moved = 0
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(case_keys.c.case_id, case_keys.c.master_key_id, case_keys.c.wrapped_key)
                .where(case_keys.c.wrapped_key.is_not(None), case_keys.c.master_key_id != current)
                .order_by(case_keys.c.case_id)
            ).all()
        for row in rows:
            data_key = unwrap_data_key(
                self.keyring, row.case_id, row.master_key_id, row.wrapped_key
            )
            master_key_id, wrapped = wrap_data_key(self.keyring, row.case_id, data_key)
            with self.engine.begin() as conn:
                # Only if nobody erased or rewrapped it meanwhile.
                done = conn.execute(
                    update(case_keys)
                    .where(
                        case_keys.c.case_id == row.case_id,
                        case_keys.c.wrapped_key == row.wrapped_key,
                    )
                    .values(master_key_id=master_key_id, wrapped_key=wrapped)
                ).rowcount
            moved += done
        return moved

    def refresh_identities(self) -> int:
        """Write the hardship applicants' identity hashes under the current master key
        (casework.store.identities), after `rewrap`: the old master key can then go
        without losing a lookup. Also adds those of cases opened before the table
        existed. Returns how many were written."""

        def id_number_of(case_id: str) -> str | None:
            revealed = self.reveal(case_id, (ID_NUMBER,), viewer="system:identity_index")
            return None if revealed.erased else revealed.values.get(ID_NUMBER)

        return ApplicantIdentities(self.keyring).refresh(self.engine, id_number_of)

    # -- reading ---------------------------------------------------------------------

    def reveal(self, case_id: str, fields: tuple[str, ...], viewer: str) -> Revealed:
        """The clear values of `fields` (the caller decided `viewer` may see them)."""
        revealed = Revealed(case_id)
        if not fields:
            return revealed
        with self.engine.connect() as conn:
            key = conn.execute(select(case_keys).where(case_keys.c.case_id == case_id)).first()
            if key is None:
                return revealed  # a case that never had personal data on record
            if key.wrapped_key is None:
                revealed.erased = True
                return revealed
            sealed = self._sealed(conn, case_id, key.legacy_personal)
        data_key = unwrap_data_key(self.keyring, case_id, key.master_key_id, key.wrapped_key)
        for name in fields:
            if name in sealed:
                revealed.values[name] = unseal(data_key, case_id, name, sealed[name])
        _log().info(
            "personal_data.revealed", case_id=case_id, viewer=viewer, fields=sorted(revealed.values)
        )
        return revealed

    def applicant_in(
        self, case_id: str, district: str, events: Iterable[Any], viewer: Actor | None
    ) -> ApplicantCard | None:
        """The applicant of the `case.opened` event among the case's `events` (stored
        events or history items) for `viewer`; None if no application is on record."""
        opened = next((e for e in events if e.type == "case.opened"), None)
        if opened is None or "application" not in opened.payload:
            return None
        return self.applicant(
            case_id,
            district,
            opened.payload["application"],
            viewer,
            str(opened.payload.get("case_type") or "hardship"),
        )

    def applicant(
        self,
        case_id: str,
        district: str,
        application: dict[str, Any],
        viewer: Actor | None,
        case_type: str = "hardship",
    ) -> ApplicantCard:
        """The applicant of a case for `viewer` (None: anyone; masked).
        `application`: the `application` of the case's `case.opened` event."""
        has_account = bool(application.get("has_bank_account"))
        card = ApplicantCard(
            name=application.get("applicant_name"),
            id_number=application.get("id_number_masked"),
            phone=application.get("phone_masked"),
            bank_account=application.get("bank_account_masked")
            or ("****" if has_account else None),
            revealed=[],
            erased=False,
        )
        fields = registry.case_type(case_type).visible_fields(viewer, district)
        if fields:
            assert viewer is not None
            revealed = self.reveal(case_id, fields, viewer.id)
            card.erased = revealed.erased
            for name, value in revealed.values.items():
                setattr(card, name, value)
            card.revealed = sorted(revealed.values)
        else:
            card.erased = self.erased_at(case_id) is not None
        if card.erased:
            card.id_number = card.phone = ERASED
            card.bank_account = ERASED if has_account else None
        return card

    def sweep(
        self,
        admin: Actor,
        *,
        retention_years: int | Mapping[str, int],
        now: datetime | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        reason: str | None = None,
    ) -> list[SweepLine]:
        """Erase every closed case whose retention period is over (the scheduled run
        behind `casework privacy sweep`), oldest first: one transaction per case, each
        through `erase` and its checks, so a case that cannot be erased is reported and
        the others go on. `dry_run`: list the cases due, erase nothing.
        `retention_years`: per case type (each type's configuration), or one for all."""
        now = now or utc_now()
        if not isinstance(retention_years, int):
            per_type = dict(retention_years)
            lines: list[SweepLine] = []
            for case_type, years in sorted(per_type.items()):
                left = None if limit is None else limit - len(lines)
                if left is not None and left <= 0:
                    break
                lines += self._sweep(admin, years, now, dry_run, left, reason, case_type)
            return lines
        return self._sweep(admin, retention_years, now, dry_run, limit, reason, None)

    def due(
        self,
        retention_years: int,
        *,
        now: datetime | None = None,
        limit: int | None = None,
        case_type: str | None = None,
    ) -> list[str]:
        """The closed cases (of `case_type`, or all) past `retention_years` whose data
        key still exists, oldest first: what a sweep would erase (reads only)."""
        now = now or utc_now()
        # A case's last change is no earlier than its closing: every case closed before
        # the cut-off is among these (erase checks the closing itself). A case that
        # filed a household counts from the household's exit instead, and is not due
        # while the household is on the register.
        cutoff = years_after(now, -retention_years)
        query = (
            select(cases.c.case_id)
            .join(case_keys, case_keys.c.case_id == cases.c.case_id)
            .outerjoin(households, households.c.case_id == cases.c.case_id)
            .where(
                cases.c.status == "closed",
                case_keys.c.wrapped_key.is_not(None),
                or_(
                    and_(households.c.case_id.is_(None), cases.c.updated_at <= cutoff),
                    households.c.exited_at <= cutoff,
                ),
                *([cases.c.case_type == case_type] if case_type is not None else []),
            )
            .order_by(cases.c.updated_at, cases.c.case_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def _sweep(
        self,
        admin: Actor,
        retention_years: int,
        now: datetime,
        dry_run: bool,
        limit: int | None,
        reason: str | None,
        case_type: str | None,
    ) -> list[SweepLine]:
        require_admin(admin)
        due = self.due(retention_years, now=now, limit=limit, case_type=case_type)
        return sweep_lines(
            due,
            dry_run,
            lambda case_id: self.erase(
                case_id, admin, retention_years=retention_years, now=now, reason=reason
            ),
        )

    def bank_account(self, case_id: str) -> str | None:
        """The account relief is paid to (None: none given); for the disbursement."""
        revealed = self.reveal(case_id, ("bank_account",), viewer="system:disbursement")
        if revealed.erased:
            raise PersonalDataErased(f"{case_id}: personal data erased")
        return revealed.values.get("bank_account")

    def id_number(self, case_id: str) -> str | None:
        """The applicant's ID number (None: none on record); for the civil-affairs check."""
        revealed = self.reveal(case_id, ("id_number",), viewer="system:civil_affairs")
        if revealed.erased:
            raise PersonalDataErased(f"{case_id}: personal data erased")
        return revealed.values.get("id_number")

    def erased_at(self, case_id: str) -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(case_keys.c.erased_at).where(case_keys.c.case_id == case_id)
            ).scalar()

    @staticmethod
    def _sealed(conn: Connection, case_id: str, legacy: str | None) -> SealedFields:
        row = conn.execute(
            select(case_events)
            .where(case_events.c.case_id == case_id, case_events.c.type == "case.opened")
            .limit(1)
        ).first()
        personal = EventStore.stored(row).payload.get("personal") if row is not None else None
        if personal is None and legacy is not None:
            personal = json.loads(legacy)
        return {k: SealedValue.model_validate(v) for k, v in (personal or {}).items()}

    # -- erasing ---------------------------------------------------------------------

    def erase(
        self,
        case_id: str,
        admin: Actor,
        *,
        retention_years: int,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> StoredEvent:
        """Destroy the case's data key and record who did it, in one transaction.

        Only an administrator, only for a closed case, and only once `retention_years`
        have passed since it closed; for a case that filed a household, since the
        household left the register (never while it is on it)."""
        from casework.store.queries import UnknownCase

        now = now or utc_now()
        require_admin(admin)
        store = EventStore(self.engine)
        events = store.read(case_id)
        if not events:
            raise UnknownCase(f"未找到案件 (no such case): {case_id}")
        closed = next((e for e in reversed(events) if e.type in CLOSING_EVENTS), None)
        if closed is None:
            raise Refused(
                "case_open", f"案件 {case_id} 尚未结案，不能销毁个人信息 (the case is still open)"
            )
        kept_from = retention_start(events)
        assert kept_from is not None
        until = years_after(kept_from.occurred_at, retention_years)
        if now < until:
            after = (
                ("解困脱困", "the household left the register")
                if kept_from.type == HOUSEHOLD_EXITED
                else ("结案", "the case closed")
            )
            raise Refused(
                "retention_period",
                f"档案保存期至 {until:%Y-%m-%d}（{after[0]}后 {retention_years} 年），期满前不得销毁 "
                f"(kept until {until:%Y-%m-%d}, {retention_years} years after {after[1]})",
            )
        exited = {"exited_at": kept_from.occurred_at.isoformat()} if kept_from is not closed else {}
        event = NewEvent(
            event_id=str(uuid.uuid4()),
            case_id=case_id,
            type=ERASED_EVENT,
            payload={
                "fields": list(PERSONAL_FIELDS),
                "reason": reason,
                "retention_years": retention_years,
                "closed_at": closed.occurred_at.isoformat(),
                **exited,
            },
            actor_id=admin.id,
            occurred_at=now,
        )

        def destroy_key(conn: Connection) -> None:
            destroyed = conn.execute(
                update(case_keys)
                .where(case_keys.c.case_id == case_id, case_keys.c.wrapped_key.is_not(None))
                .values(wrapped_key=None, legacy_personal=None, erased_at=now)
            ).rowcount
            if destroyed != 1:
                raise Refused(
                    "already_erased",
                    f"案件 {case_id} 的个人信息已销毁或从未登记 (already erased, or none on record)",
                )
            # The opening's idempotency record holds a digest of the application, the
            # identity table a keyed hash of the ID number.
            conn.execute(delete(case_requests).where(case_requests.c.case_id == case_id))
            ApplicantIdentities.forget(conn, case_id)

        try:
            [stored] = store.append(case_id, events[-1].seq, [event], also=destroy_key)
        except ConcurrencyConflict:
            raise Refused(
                "concurrent_change",
                f"案件 {case_id} 刚有变动，请重试 (the case just changed; try again)",
            ) from None
        _log().warning("personal_data.erased", case_id=case_id, actor=admin.id)
        return stored
