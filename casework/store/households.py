"""The household register (建档) as a read model: `households`, projected from
`household.filed` and `household.exited` in the append's transaction (and by
`projections rebuild`), and the reads behind `casework households` and /api/households.

Jurisdiction is the caller's to apply (a district, or None for the whole city); the
applicant's ID number appears only masked (from the case's `case.opened`), or as erased.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, func, insert, select, update

from casework.domain.events import NewEvent
from casework.domain.personal import ERASED
from casework.domain.register import (
    HOUSEHOLD_EXITED,
    HOUSEHOLD_FILED,
    HouseholdRecord,
    MonthIncome,
)
from casework.store.tables import case_events, case_keys, households

Status = Literal["on_register", "exited"]

REGISTER_EVENTS = frozenset({HOUSEHOLD_FILED, HOUSEHOLD_EXITED})


def project_household(conn: Connection, event: NewEvent) -> None:
    """Apply one `household.*` event (as stored) to the register."""
    p = event.payload
    if event.type == HOUSEHOLD_FILED:
        conn.execute(
            insert(households).values(
                case_id=event.case_id,
                district=p.get("district"),
                applicant_name=p.get("applicant_name"),
                category=p.get("category"),
                national_ref=p.get("national_ref"),
                filed_at=event.occurred_at,
                filed_by=event.actor_id,
            )
        )
    elif event.type == HOUSEHOLD_EXITED:
        conn.execute(
            update(households)
            .where(households.c.case_id == event.case_id)
            .values(
                exited_at=event.occurred_at,
                exit_kind=p.get("kind"),
                exit_reason=p.get("reason"),
                exited_by=event.actor_id,
            )
        )


class HouseholdPage(BaseModel):
    items: list[HouseholdRecord]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` for the next page; null on the last page."
    )


class HouseholdDetail(HouseholdRecord):
    """One file as `households show` shows it: the register row, the applicant's ID
    number masked, and what the exit recorded."""

    id_number: str | None = Field(
        description="Masked (`3206**********1235`), or `[已销毁 erased]` once the case's "
        "personal data is erased; never in clear."
    )
    exit_months: list[MonthIncome] | None = Field(
        default=None,
        description="An income exit: each month's income per head against the 低保 it beat.",
    )


def _record(row: Any) -> HouseholdRecord:
    return HouseholdRecord(
        case_id=row.case_id,
        district=row.district,
        applicant_name=row.applicant_name,
        category=row.category,
        national_ref=row.national_ref,
        filed_at=row.filed_at,
        filed_by=row.filed_by,
        exited_at=row.exited_at,
        exit_kind=row.exit_kind,
        exit_reason=row.exit_reason,
        exited_by=row.exited_by,
    )


def household_in(conn: Connection, case_id: str) -> HouseholdRecord | None:
    row = conn.execute(select(households).where(households.c.case_id == case_id)).first()
    return None if row is None else _record(row)


def exit_recorded(conn: Connection, case_id: str, event_id: str) -> bool:
    """Whether the exit with this event id (`exit_event_id` of a request's key) is
    recorded on the case."""
    found = conn.execute(
        select(case_events.c.seq).where(
            case_events.c.event_id == event_id, case_events.c.case_id == case_id
        )
    ).first()
    return found is not None


def head_and_household(conn: Connection, case_id: str) -> tuple[int, HouseholdRecord | None]:
    """The case's head seq, then its register row. In this order: an exit committed
    between the two reads shows in the row (and is refused), or, missed there, makes
    an append after the older head conflict."""
    seq = conn.execute(
        select(func.max(case_events.c.seq)).where(case_events.c.case_id == case_id)
    ).scalar()
    return int(seq or 0), household_in(conn, case_id)


class HouseholdRegister:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, case_id: str) -> HouseholdRecord | None:
        with self.engine.connect() as conn:
            return household_in(conn, case_id)

    def page(
        self,
        *,
        district: str | None = None,
        status: Status | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> HouseholdPage:
        """Files newest case number first, after the case `after` (the previous page's
        cursor); `district` None: every district."""
        query = select(households).order_by(households.c.case_id.desc()).limit(limit + 1)
        if district is not None:
            query = query.where(households.c.district == district)
        if status == "on_register":
            query = query.where(households.c.exited_at.is_(None))
        elif status == "exited":
            query = query.where(households.c.exited_at.is_not(None))
        if after is not None:
            query = query.where(households.c.case_id < after)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        items = [_record(r) for r in rows[:limit]]
        more = len(rows) > limit
        return HouseholdPage(items=items, next_cursor=items[-1].case_id if more else None)

    def detail(self, case_id: str) -> HouseholdDetail | None:
        """The file with its masked identity and its exit's months; None if none."""
        from casework.store.event_store import EventStore  # it projects through us

        with self.engine.connect() as conn:
            record = household_in(conn, case_id)
            if record is None:
                return None
            erased = conn.execute(
                select(case_keys.c.erased_at).where(case_keys.c.case_id == case_id)
            ).scalar()
            rows = conn.execute(
                select(case_events)
                .where(
                    case_events.c.case_id == case_id,
                    case_events.c.type.in_(("case.opened", HOUSEHOLD_EXITED)),
                )
                .order_by(case_events.c.seq)
            ).all()
        events = {e.type: e for e in map(EventStore.stored, rows)}
        opened = events.get("case.opened")
        application = opened.payload.get("application") if opened is not None else None
        masked = application.get("id_number_masked") if isinstance(application, dict) else None
        exited = events.get(HOUSEHOLD_EXITED)
        months = exited.payload.get("months") if exited is not None else None
        return HouseholdDetail(
            **record.model_dump(exclude={"status"}),
            id_number=ERASED if erased is not None else masked,
            exit_months=None if months is None else [MonthIncome(**m) for m in months],
        )

    def exit_recorded(self, case_id: str, event_id: str) -> bool:
        with self.engine.connect() as conn:
            return exit_recorded(conn, case_id, event_id)
