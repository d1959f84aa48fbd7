"""The funds ledger (issue #14): the districts' yearly relief funds, allocated and topped
up by the city, and what each source of payments has reserved, paid and released.

Every movement of a budget is an event on the year's ledger stream (`FD-YYYY`, a run
stream: no case row), appended with the acting user checked against the directory in
the same transaction; `relief_fund_budgets` is the projection of those events, written
in that transaction and rebuilt from them (`projections rebuild`). All movements of one
year meet on one stream, so two officers topping up at once are ordered by its seq.

What the figures mean (README, "The funds ledger"):
- budget: allocated plus topped up minus reduced (relief); a programme's spec budget.
- reserved: held for payments not made yet. Relief: `funds.reserved` of the cases less
  what was released or paid since; a programme: its approved rows not yet paid.
- paid: relief: `disbursement.completed`; a programme: its `payments` rows; refunds:
  `dues_refunds` (the union-dues refunds of the year, casework.store.refunds).
- refunds draw on no allocation: their budget is the dues the year's payment files
  record (no refund exceeds its firm's dues), nothing is reserved or released.
- released: relief: reservations given back (`funds.released`: the transfer failed);
  a programme: rows whose payment failed (listed for correction).
- left: budget - reserved - paid.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, and_, func, insert, select, update

from casework.domain.calendar import CHINA_TZ
from casework.domain.events import NewEvent
from casework.domain.funds import AWAITING_FUNDS
from casework.domain.org import CITY, DISTRICTS, Actor, Role
from casework.domain.refusal import Refused
from casework.domain.streams import funds_stream
from casework.store.event_store import ConcurrencyConflict, EventStore
from casework.store.projections import fund_committed
from casework.store.tables import (
    case_events,
    cases,
    dues_payment_records,
    dues_refunds,
    payments,
    programme_recipients,
    programmes,
    relief_fund_budgets,
    relief_fund_ledger,
)

ALLOCATED = "funds.allocated"
TOPPED_UP = "funds.topped_up"
REDUCED = "funds.reduced"
MOVEMENTS = (ALLOCATED, TOPPED_UP, REDUCED)

SEED_ACTOR = "system.seed"
"""actor_id of budgets the demo seeding sets (`EventStore.set_budget`): no directory user."""

MIGRATION_ACTOR = "system.migration"
"""actor_id of the `funds.allocated` events that adopt budgets written before the ledger
(`adopt_unrecorded_budgets`): no directory user."""

RELIEF = "relief"
"""The source of case relief (hardship cases)."""
PROGRAMME = "programme"
REFUND = "refund"
"""Union-dues refunds (casework.domain.refund.SOURCE)."""

MOVE_ATTEMPTS = 30
"""A year's movements share one stream: a movement whose seq another took tries again
(at most this often: a crowd of concurrent movements all land)."""

MAX_AMOUNT_FEN = 10**13
"""A hundred billion yuan: anything above is a typing mistake."""
MIN_YEAR, MAX_YEAR = 2000, 2100

READERS = frozenset(
    {
        Role.DISTRICT_OFFICER,
        Role.DISTRICT_LEADER,
        Role.CITY_OFFICER,
        Role.CITY_LEADER,
        Role.SUPERVISOR,
        Role.AUDITOR,
        Role.AUDIT_LEAD,
    }
)
"""Who may read the ledger: city staff all districts, district staff their own."""


def reads_funds(who: Any) -> bool:
    """Whether the ledger is theirs to read (their district's, or the city's): a user or
    an actor."""
    return any(role in READERS for role in who.roles)


def this_year(now: datetime | None = None) -> int:
    return (now or datetime.now(UTC)).astimezone(CHINA_TZ).year


# -- the projection -----------------------------------------------------------------------


def project_funds(conn: Connection, event: NewEvent) -> None:
    """Apply one ledger movement to `relief_fund_budgets` (live and in a rebuild)."""
    if event.type not in MOVEMENTS:
        return
    district, year = event.payload["district"], int(event.payload["year"])
    amount = int(event.payload["amount_fen"])
    where = and_(relief_fund_budgets.c.district == district, relief_fund_budgets.c.year == year)
    if event.type == ALLOCATED:
        conn.execute(
            insert(relief_fund_budgets).values(district=district, year=year, budget_fen=amount)
        )
    else:
        sign = 1 if event.type == TOPPED_UP else -1
        conn.execute(
            update(relief_fund_budgets)
            .where(where)
            .values(budget_fen=relief_fund_budgets.c.budget_fen + sign * amount)
        )


def adopt_unrecorded_budgets(engine: Engine) -> int:
    """Record, as `funds.allocated` by `system.migration`, every budget row that no
    ledger movement accounts for: rows written before budgets moved by events, which a
    rebuild would otherwise drop. Idempotent (the event id is derived from the stream and
    district, and an adopted row has its movement); runs after every schema migration.
    Returns how many budgets it adopted."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                relief_fund_budgets.c.district,
                relief_fund_budgets.c.year,
                relief_fund_budgets.c.budget_fen,
            )
        ).all()
        if not rows:
            return 0
        recorded: set[tuple[str, int]] = set()
        streams = sorted({funds_stream(int(r.year)) for r in rows})
        for payload in conn.execute(
            select(case_events.c.payload).where(
                case_events.c.case_id.in_(streams), case_events.c.type.in_(MOVEMENTS)
            )
        ).scalars():
            data = json.loads(payload) if isinstance(payload, str) else payload
            recorded.add((str(data["district"]), int(data["year"])))
    store = EventStore(engine)
    adopted = 0
    for r in rows:
        if (r.district, int(r.year)) in recorded:
            continue
        stream = funds_stream(int(r.year))
        event = NewEvent(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{stream}/adopt/{r.district}")),
            case_id=stream,
            type=ALLOCATED,
            payload={"district": r.district, "year": int(r.year), "amount_fen": int(r.budget_fen)},
            actor_id=MIGRATION_ACTOR,
            occurred_at=datetime.now(UTC),
        )
        with engine.connect() as conn:
            head = int(
                conn.scalar(
                    select(func.coalesce(func.max(case_events.c.seq), 0)).where(
                        case_events.c.case_id == stream
                    )
                )
                or 0
            )
        # The row already holds the amount: the event is appended without projecting it.
        store.append(stream, head, [event])
        adopted += 1
    return adopted


def _budget(conn: Connection, district: str, year: int, lock: bool = False) -> int | None:
    stmt = select(relief_fund_budgets.c.budget_fen).where(
        relief_fund_budgets.c.district == district, relief_fund_budgets.c.year == year
    )
    return conn.execute(stmt.with_for_update() if lock else stmt).scalar()


def _relief_totals(conn: Connection, year: int) -> dict[str, dict[str, int]]:
    rows = conn.execute(
        select(
            relief_fund_ledger.c.district,
            relief_fund_ledger.c.entry,
            func.sum(relief_fund_ledger.c.amount_fen),
        )
        .where(relief_fund_ledger.c.year == year)
        .group_by(relief_fund_ledger.c.district, relief_fund_ledger.c.entry)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for district, entry, total in rows:
        out.setdefault(district, {})[entry] = int(total or 0)
    return out


# -- what the ledger answers --------------------------------------------------------------


class Figures(BaseModel):
    source: str
    """relief | programme:PG-YYYY-NNNNNN | refund."""
    label: str
    budget_fen: int = 0
    reserved_fen: int = 0
    paid_fen: int = 0
    released_fen: int = 0
    left_fen: int = 0


class DistrictFunds(BaseModel):
    district: str
    sources: list[Figures]
    total: Figures
    awaiting_cases: int = 0
    """Hardship cases waiting for this fund (`awaiting_funds`)."""


class FundsReport(BaseModel):
    year: int
    districts: list[DistrictFunds]
    total: Figures


class Movement(BaseModel):
    event_id: str
    type: str
    district: str
    year: int
    amount_fen: int
    budget_fen: int
    """The relief budget after the movement."""
    actor_id: str
    replayed: bool = False
    """The same --key was recorded before: nothing new was written."""


def _sum(source: str, label: str, parts: Iterable[Figures]) -> Figures:
    total = Figures(source=source, label=label)
    for p in parts:
        total.budget_fen += p.budget_fen
        total.reserved_fen += p.reserved_fen
        total.paid_fen += p.paid_fen
        total.released_fen += p.released_fen
        total.left_fen += p.left_fen
    return total


def check_district(district: str, field: str = "district") -> None:
    if district not in DISTRICTS:
        raise Refused(
            "unknown_district",
            f"未知区县 (unknown district) {district!r}; one of: {', '.join(DISTRICTS)}",
            field,
        )


def check_year(year: int, field: str = "year") -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Refused("invalid_year", f"年度须在 {MIN_YEAR}..{MAX_YEAR} (year out of range)", field)


def check_amount(amount_fen: int, field: str = "amount_fen") -> None:
    if not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise Refused(
            "invalid_amount",
            f"金额须为正整数分，至多 {MAX_AMOUNT_FEN} (amount in fen, 1..{MAX_AMOUNT_FEN})",
            field,
        )


class FundsLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = EventStore(engine)

    # -- movements -------------------------------------------------------------------

    def allocate(
        self, actor: Actor, district: str, year: int, amount_fen: int, key: str | None = None
    ) -> Movement:
        """下达 the year's relief fund of a district (once; later: top up)."""
        return self._move(ALLOCATED, actor, district, year, amount_fen, key)

    def top_up(
        self, actor: Actor, district: str, year: int, amount_fen: int, key: str | None = None
    ) -> Movement:
        """追加 a district's relief fund of the year."""
        return self._move(TOPPED_UP, actor, district, year, amount_fen, key)

    def reduce(
        self, actor: Actor, district: str, year: int, amount_fen: int, key: str | None = None
    ) -> Movement:
        """调减 a district's relief fund: never below what its cases hold."""
        return self._move(REDUCED, actor, district, year, amount_fen, key)

    def _move(
        self,
        type_: str,
        actor: Actor,
        district: str,
        year: int,
        amount_fen: int,
        key: str | None,
        check_actor: bool = True,
    ) -> Movement:
        if check_actor and (not actor.has_role(Role.CITY_OFFICER) or actor.district != CITY):
            raise Refused(
                "role_not_held",
                "帮扶资金由市总 city_officer 下达 (a city officer allocates the funds)",
            )
        check_district(district)
        check_year(year)
        check_amount(amount_fen)
        if key is not None and not 1 <= len(key) <= 200:
            raise Refused("invalid_key", "key: 1 to 200 characters", "key")
        stream = funds_stream(year)
        # The same --key is the same movement: a retried command finds it stored.
        event_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{stream}/{key}") if key else uuid.uuid4()
        )
        payload = {"district": district, "year": year, "amount_fen": amount_fen}
        event = NewEvent(
            event_id=event_id,
            case_id=stream,
            type=type_,
            payload=payload,
            actor_id=actor.id,
            occurred_at=datetime.now(UTC),
        )

        def check(conn: Connection) -> None:
            budget = _budget(conn, district, year, lock=True)
            if type_ == ALLOCATED and budget is not None:
                raise Refused(
                    "already_allocated",
                    f"{district} {year} 年资金已下达 {budget / 100:,.2f} 元，请追加 "
                    "(already allocated: top up instead)",
                    "district",
                )
            if type_ != ALLOCATED and budget is None:
                raise Refused(
                    "not_allocated",
                    f"{district} {year} 年资金尚未下达 (not allocated yet: allocate first)",
                    "district",
                )
            if type_ == REDUCED:
                held = fund_committed(conn, district, year)
                if (budget or 0) - amount_fen < held:
                    raise Refused(
                        "below_committed",
                        f"调减后预算低于已占用的 {held / 100:,.2f} 元 "
                        "(the budget may not fall below what is committed)",
                        "amount_fen",
                    )
            project_funds(conn, event)

        for attempt in range(MOVE_ATTEMPTS):
            stored = self._stored(event_id)
            if stored is not None:
                return self._replayed(stored, event)
            try:
                self.store.append(
                    stream,
                    self._head(stream),
                    [event],
                    also=check,
                    actors=[actor] if check_actor else (),
                )
                break
            except ConcurrencyConflict:
                # Another movement of the year took the seq: read the head again. Jitter
                # keeps a crowd of officers from colliding again in step.
                if attempt == MOVE_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02 * min(attempt + 1, 10)))
        with self.engine.connect() as conn:
            budget = _budget(conn, district, year) or 0
        return Movement(
            event_id=event_id,
            type=type_,
            district=district,
            year=year,
            amount_fen=amount_fen,
            budget_fen=budget,
            actor_id=actor.id,
        )

    def set_budget(self, district: str, year: int, budget_fen: int) -> None:
        """The demo's seeding: bring a budget to `budget_fen` through the same events,
        recorded by `system.seed` (not a directory user)."""
        seeder = Actor(id=SEED_ACTOR, roles=(Role.CITY_OFFICER,), district=CITY)
        with self.engine.connect() as conn:
            budget = _budget(conn, district, year)
        if budget is None:
            self._move(ALLOCATED, seeder, district, year, budget_fen, None, check_actor=False)
        elif budget_fen > budget:
            self._move(TOPPED_UP, seeder, district, year, budget_fen - budget, None, False)
        elif budget_fen < budget:
            self._move(REDUCED, seeder, district, year, budget - budget_fen, None, False)

    def _head(self, stream: str) -> int:
        return self.store.head(stream)

    def _stored(self, event_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(case_events).where(case_events.c.event_id == event_id)
            ).first()

    def _replayed(self, row: Any, event: NewEvent) -> Movement:
        payload = json.loads(row.payload)
        if row.type != event.type or payload != event.payload or row.actor_id != event.actor_id:
            raise Refused(
                "key_reused",
                "此 key 已用于另一笔资金变动 (this key was used for another movement)",
                "key",
            )
        with self.engine.connect() as conn:
            budget = _budget(conn, payload["district"], payload["year"]) or 0
        return Movement(
            event_id=row.event_id,
            type=row.type,
            district=payload["district"],
            year=payload["year"],
            amount_fen=payload["amount_fen"],
            budget_fen=budget,
            actor_id=row.actor_id,
            replayed=True,
        )

    # -- reading ---------------------------------------------------------------------

    @staticmethod
    def may_read(actor: Actor) -> None:
        if not reads_funds(actor):
            raise Refused(
                "role_not_held",
                "查看帮扶资金需要区县或市总工作人员角色 (district or city staff only)",
            )

    def report(self, actor: Actor, year: int, district: str | None = None) -> FundsReport:
        """Budget, reserved, paid, released and left per district and source: city staff
        see every district, district staff their own (`district` narrows)."""
        self.may_read(actor)
        check_year(year)
        if district is not None:
            check_district(district)
            if not actor.covers(district):
                raise Refused(
                    "outside_jurisdiction",
                    f"{district} 不在您的管辖范围 (outside your jurisdiction)",
                    "district",
                )
        only = district or (None if actor.district == CITY else actor.district)
        with self.engine.connect() as conn:
            budgets = dict(
                conn.execute(
                    select(relief_fund_budgets.c.district, relief_fund_budgets.c.budget_fen).where(
                        relief_fund_budgets.c.year == year
                    )
                ).all()
            )
            relief = _relief_totals(conn, year)
            waiting: dict[str, int] = dict(
                conn.execute(
                    select(cases.c.district, func.count())
                    .where(cases.c.stage == AWAITING_FUNDS, cases.c.status == "open")
                    .group_by(cases.c.district)
                ).all()
            )
            programme_figures = self._programmes(conn, year)
            refund_figures = refund_sources(conn, year)
        per: dict[str, list[Figures]] = {}
        for d in sorted(set(budgets) | set(relief) | set(programme_figures) | set(refund_figures)):
            if only is not None and d != only:
                continue
            t = relief.get(d, {})
            budget = int(budgets.get(d, 0))
            reserved_all, released = t.get("reserved", 0), t.get("released", 0)
            paid = t.get("disbursed", 0)
            per[d] = [
                Figures(
                    source=RELIEF,
                    label="困难职工帮扶 (case relief)",
                    budget_fen=budget,
                    reserved_fen=reserved_all - released - paid,
                    paid_fen=paid,
                    released_fen=released,
                    left_fen=budget - (reserved_all - released),
                ),
                *programme_figures.get(d, []),
                *refund_figures.get(d, []),
            ]
        districts = [
            DistrictFunds(
                district=d,
                sources=sources,
                total=_sum("total", "合计 (total)", sources),
                awaiting_cases=int(waiting.get(d, 0)),
            )
            for d, sources in per.items()
        ]
        return FundsReport(
            year=year,
            districts=districts,
            total=_sum("total", "合计 (total)", (x.total for x in districts)),
        )

    @staticmethod
    def _programmes(conn: Connection, year: int) -> dict[str, list[Figures]]:
        """Each programme of the year, per district of its budget."""
        progs = conn.execute(
            select(programmes.c.programme_id, programmes.c.name, programmes.c.spec)
            .where(programmes.c.year == year)
            .order_by(programmes.c.programme_id)
        ).all()
        if not progs:
            return {}
        ids = [p.programme_id for p in progs]
        rows = conn.execute(
            select(
                programme_recipients.c.programme_id,
                programme_recipients.c.district,
                programme_recipients.c.status,
                func.sum(programme_recipients.c.amount_fen),
            )
            .where(
                programme_recipients.c.programme_id.in_(ids),
                programme_recipients.c.status.in_(("approved", "failed")),
            )
            .group_by(
                programme_recipients.c.programme_id,
                programme_recipients.c.district,
                programme_recipients.c.status,
            )
        ).all()
        by_status = {(p, d, s): int(n or 0) for p, d, s, n in rows}
        paid = {
            (p, d): int(n or 0)
            for p, d, n in conn.execute(
                select(payments.c.run_id, payments.c.district, func.sum(payments.c.amount_fen))
                .where(payments.c.run_id.in_(ids))
                .group_by(payments.c.run_id, payments.c.district)
            ).all()
        }
        out: dict[str, list[Figures]] = {}
        for p in progs:
            spec = json.loads(p.spec)
            for district, budget in sorted(spec.get("budget_fen", {}).items()):
                reserved = by_status.get((p.programme_id, district, "approved"), 0)
                spent = paid.get((p.programme_id, district), 0)
                out.setdefault(district, []).append(
                    Figures(
                        source=f"{PROGRAMME}:{p.programme_id}",
                        label=p.name,
                        budget_fen=int(budget),
                        reserved_fen=reserved,
                        paid_fen=spent,
                        released_fen=by_status.get((p.programme_id, district, "failed"), 0),
                        left_fen=int(budget) - reserved - spent,
                    )
                )
        return out

    def awaiting(self, district: str, year: int | None = None) -> list[str]:
        """The hardship cases of `district` waiting for its fund: whom a top-up wakes."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(cases.c.case_id, cases.c.state)
                .where(
                    cases.c.stage == AWAITING_FUNDS,
                    cases.c.status == "open",
                    cases.c.district == district,
                )
                .order_by(cases.c.case_id)
            ).all()
        out = []
        for case_id, state in rows:
            facts = json.loads(state).get("facts", {})
            if year is None or facts.get("fund_year") in (None, year):
                out.append(case_id)
        return out


# -- reconciliation with the bank ---------------------------------------------------------


class BankTransfer(BaseModel):
    """One transfer as the bank reports it."""

    idempotency_key: str
    amount_fen: int
    reference: str
    """What the order named: the case id, or the programme id."""


class LedgerPayment(BaseModel):
    """One payment as the ledger records it: keyed as the bank saw it."""

    idempotency_key: str
    source: str
    reference: str
    district: str
    amount_fen: int


class Difference(BaseModel):
    kind: str
    """missing_at_bank | not_in_ledger | amount_differs"""
    idempotency_key: str
    reference: str
    source: str | None
    ledger_fen: int | None
    bank_fen: int | None


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refund_sources(conn: Connection, year: int) -> dict[str, list[Figures]]:
    """The year's union-dues refunds per district: the dues recorded as the budget (the
    most they can reach), what was refunded as paid."""
    dues = dict(
        conn.execute(
            select(dues_payment_records.c.district, func.sum(dues_payment_records.c.dues_fen))
            .where(dues_payment_records.c.year == year)
            .group_by(dues_payment_records.c.district)
        ).all()
    )
    paid = dict(
        conn.execute(
            select(dues_refunds.c.district, func.sum(dues_refunds.c.amount_fen))
            .where(dues_refunds.c.year == year)
            .group_by(dues_refunds.c.district)
        ).all()
    )
    return {
        d: [
            Figures(
                source=REFUND,
                label="工会经费返还 (union-dues refunds)",
                budget_fen=int(dues.get(d) or 0),
                paid_fen=int(paid.get(d) or 0),
                left_fen=int(dues.get(d) or 0) - int(paid.get(d) or 0),
            )
        ]
        for d in sorted(set(dues) | set(paid))
    }


def paid_in_ledger(conn: Connection, year: int) -> list[LedgerPayment]:
    """What the ledger says was paid from the year's funds: each case disbursement
    (keyed by its reservation's event id, as the transfer was) and each programme
    payment (keyed by its `payments.idempotency_key`)."""
    rows = conn.execute(
        select(
            relief_fund_ledger.c.case_id,
            relief_fund_ledger.c.seq,
            relief_fund_ledger.c.entry,
            relief_fund_ledger.c.district,
            relief_fund_ledger.c.amount_fen,
            case_events.c.event_id,
        )
        .join(
            case_events,
            and_(
                case_events.c.case_id == relief_fund_ledger.c.case_id,
                case_events.c.seq == relief_fund_ledger.c.seq,
            ),
        )
        .where(
            relief_fund_ledger.c.year == year,
            relief_fund_ledger.c.entry.in_(("reserved", "disbursed")),
        )
        .order_by(relief_fund_ledger.c.case_id, relief_fund_ledger.c.seq)
    ).all()
    out: list[LedgerPayment] = []
    reservation: dict[str, str] = {}
    for r in rows:
        if r.entry == "reserved":
            reservation[r.case_id] = r.event_id
        elif r.case_id in reservation:
            out.append(
                LedgerPayment(
                    idempotency_key=reservation[r.case_id],
                    source=RELIEF,
                    reference=r.case_id,
                    district=r.district,
                    amount_fen=int(r.amount_fen),
                )
            )
    for p in conn.execute(
        select(payments).where(payments.c.year == year).order_by(payments.c.run_id)
    ).all():
        out.append(
            LedgerPayment(
                idempotency_key=p.idempotency_key,
                source=f"{PROGRAMME}:{p.run_id}" if p.source == PROGRAMME else p.source,
                reference=p.run_id,
                district=p.district,
                amount_fen=int(p.amount_fen),
            )
        )
    return out


def _other_years(conn: Connection, keys: list[str], year: int) -> set[str]:
    """Of these bank keys, those the ledger knows as another year's money."""
    known: set[str] = set()
    for part in _chunks(keys):
        for event_id, payload in conn.execute(
            select(case_events.c.event_id, case_events.c.payload).where(
                case_events.c.event_id.in_(part), case_events.c.type == "funds.reserved"
            )
        ).all():
            if json.loads(payload).get("year") != year:
                known.add(event_id)
        known.update(
            conn.execute(
                select(payments.c.idempotency_key).where(
                    payments.c.idempotency_key.in_(part), payments.c.year != year
                )
            ).scalars()
        )
    return known


def reconcile(engine: Engine, year: int, bank: Sequence[BankTransfer]) -> list[Difference]:
    """Every difference between what the ledger paid from `year`'s funds and the bank's
    transfers: paid in the ledger but not at the bank, at the bank but not paid in the
    ledger (a transfer of another year's money is that year's to explain), amounts that
    differ."""
    check_year(year)
    with engine.connect() as conn:
        ledger = {p.idempotency_key: p for p in paid_in_ledger(conn, year)}
        at_bank = {t.idempotency_key: t for t in bank}
        unmatched = sorted(k for k in at_bank if k not in ledger)
        elsewhere = _other_years(conn, unmatched, year) if unmatched else set()
    out: list[Difference] = []
    for key, p in ledger.items():
        t = at_bank.get(key)
        if t is None:
            out.append(
                Difference(
                    kind="missing_at_bank",
                    idempotency_key=key,
                    reference=p.reference,
                    source=p.source,
                    ledger_fen=p.amount_fen,
                    bank_fen=None,
                )
            )
        elif t.amount_fen != p.amount_fen:
            out.append(
                Difference(
                    kind="amount_differs",
                    idempotency_key=key,
                    reference=p.reference,
                    source=p.source,
                    ledger_fen=p.amount_fen,
                    bank_fen=t.amount_fen,
                )
            )
    for key in unmatched:
        if key in elsewhere:
            continue
        t = at_bank[key]
        out.append(
            Difference(
                kind="not_in_ledger",
                idempotency_key=key,
                reference=t.reference,
                source=None,
                ledger_fen=None,
                bank_fen=t.amount_fen,
            )
        )
    return sorted(out, key=lambda d: (d.kind, d.reference, d.idempotency_key))
