"""Union-dues refunds in the store (小微企业工会经费返还, processes.md section 5): a
district's payment file imported, the firms' applications received, and the run's
batches matched and paid (docs/batch-runs.md, casework.domain.refund).

Everything is recorded on the year's run stream `RD-YYYY` (no case row): one event per
imported file, per received batch of applications and per run batch, written with the
rows it describes in one transaction (`EventStore.append(also=...)`), the acting user
checked against the directory in it. The unions' accounts are sealed under the year's
data key (`case_keys`, keyed by the stream id) and shown masked.

Never paid twice, never more than paid in: `dues_refunds` has one row per year and
firm (primary key) and a CHECK that the amount is within `dues_fen`, which the insert
copies from the payment record itself; the bank sees one idempotency key per year and
firm (`RD-YYYY:{credit code}`).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)

from casework.domain.batch import RunProgress
from casework.domain.events import NewEvent
from casework.domain.identity import mask
from casework.domain.org import CITY, Actor, Role
from casework.domain.personal import SealedValue
from casework.domain.programme import RowFailure
from casework.domain.refund import (
    PAYMENT_COLUMNS,
    SOURCE,
    PaymentRecord,
    RefundApplication,
    RefundsConfig,
    application_id,
    check_payment_file,
    check_runner,
    match,
    read_csv,
    refund_stream,
)
from casework.domain.refund_review import CASE_PREFIX as REVIEW_PREFIX
from casework.domain.refund_review import RUN_ACTOR, RefundReviewApplication
from casework.domain.refusal import Refused
from casework.privacy.fields import seal_fields, unseal, unwrap_data_key
from casework.privacy.keys import Keyring, KeyringError
from casework.store.db import IMMEDIATE
from casework.store.event_store import ConcurrencyConflict, EventStore, run_event
from casework.store.personal import PersonalData
from casework.store.programmes import BANK_TRIES, AccountRefused, Transfer, TransientBankError
from casework.store.reverification import allocate_case_ids, note_openings
from casework.store.tables import (
    case_keys,
    cases,
    dues_payment_records,
    dues_refunds,
    payments,
    refund_applications,
)

PAYMENTS_IMPORTED = "refunds.payments_imported"
APPLICATIONS_RECEIVED = "refunds.applications_received"
REFUNDS_BATCH = "refunds.batch"
REVIEW_PAID = "refunds.review_paid"
_CHUNK = 1000


def _log() -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger("casework.refunds")  # type: ignore[no-any-return]


class FileRejected(Refused):
    """A payment file with errors: nothing imported. `failures` by line and field."""

    def __init__(self, failures: list[RowFailure]) -> None:
        first = failures[0]
        super().__init__(
            "invalid_rows",
            f"{len(failures)} 行有误，未导入 (rows with errors, nothing imported); "
            f"第 {first.line} 行 {first.field}: {first.message}",
            first.field,
        )
        self.failures = failures


class ImportReport(BaseModel):
    year: int
    imported: int = 0
    dues_fen: int = 0
    failed: list[RowFailure] = Field(default_factory=list)


class Received(BaseModel):
    """Applications recorded: their ids, in order; rows refused by line."""

    ids: list[str] = Field(default_factory=list)
    failed: list[RowFailure] = Field(default_factory=list)


class DistrictRefunds(BaseModel):
    district: str
    records: int = 0
    dues_fen: int = 0
    applications: int = 0
    paid: int = 0
    refunded_fen: int = 0
    exceptions: int = 0
    failed: int = 0
    waiting: int = 0


class RefundStatus(BaseModel):
    year: int
    progress: RunProgress
    districts: list[DistrictRefunds]


class ExceptionRow(BaseModel):
    application_id: str
    firm: str
    credit_code: str
    district: str
    claimed_fen: int
    reasons: list[str]
    review_case_id: str | None = None


def _may_receive(actor: Actor, district: str) -> None:
    if not any(
        actor.has_role(r)
        for r in (Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER, Role.CITY_OFFICER)
    ):
        raise Refused("role_not_held", "受理申请需要经办角色 (an officer receives applications)")
    if not actor.covers(district):
        raise Refused(
            "outside_jurisdiction",
            f"企业所在区县 {district} 不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
            "district",
        )


READERS = frozenset(
    {
        Role.DISTRICT_OFFICER,
        Role.DISTRICT_LEADER,
        Role.CITY_OFFICER,
        Role.CITY_LEADER,
        Role.SUPERVISOR,
        Role.ADMIN,
        Role.AUDITOR,
    }
)
"""Who reads a year's refunds (their district's; the city's staff every district)."""


def reads_refunds(who: Any) -> bool:
    """Whether a user or an actor may read the refunds' figures and exceptions."""
    return any(role in READERS for role in who.roles)


def _may_read(actor: Actor) -> None:
    if not reads_refunds(actor):
        raise Refused("role_not_held", "无权查看返还情况 (not a reader of refunds)")


def _idempotency_key(year: int, credit_code: str) -> str:
    """The bank's key for one firm's refund of one year."""
    return f"{refund_stream(year)}:{credit_code}"


def _aad(year: int, credit_code: str) -> str:
    return f"{refund_stream(year)}/{credit_code}"


class Refunds:
    def __init__(self, engine: Engine, keyring: Keyring | None = None) -> None:
        self.engine = engine
        self.store = EventStore(engine)
        self.personal = PersonalData(engine, keyring)
        self._keyring = keyring
        self._key_cache: tuple[int, bytes] | None = None

    # -- the stream ----------------------------------------------------------------------

    def _record(
        self,
        year: int,
        type_: str,
        actor: Actor,
        payload: dict[str, Any],
        also: Callable[[Connection], None],
        tries: int = 8,
    ) -> None:
        """One event on `RD-YYYY` and its rows in one transaction; tried again when another
        writer of the year got in between (the stream's (case_id, seq) key)."""
        self.store.append_at_head(
            refund_stream(year),
            type_,
            actor,
            payload,
            also=lambda conn, _seq: also(conn),
            tries=tries,
        )

    def _data_key(self, conn: Connection, year: int, create: bool) -> bytes:
        if self._key_cache is not None and self._key_cache[0] == year:
            return self._key_cache[1]
        stream = refund_stream(year)
        if self._keyring is None:
            raise KeyringError("no encryption keys given: accounts cannot be sealed here")
        row = conn.execute(select(case_keys).where(case_keys.c.case_id == stream)).first()
        if row is None and create:
            key = self.personal.create_key(conn, stream)
        elif row is None or row.wrapped_key is None:
            raise Refused("personal_data_erased", f"{stream}: 数据密钥已销毁 (key erased)")
        else:
            key = unwrap_data_key(self._keyring, stream, row.master_key_id, row.wrapped_key)
        self._key_cache = (year, key)
        return key

    # -- the payment file (缴费记录) ------------------------------------------------------

    def import_payments(
        self, year: int, data: bytes, actor: Actor, *, skip_bad: bool = False
    ) -> ImportReport:
        """A payment file checked row by row and recorded in one transaction. With errors
        nothing is imported (FileRejected) unless `skip_bad`: then the good rows are."""
        check_runner(actor, None if actor.district == CITY else actor.district)
        checked = check_payment_file(read_csv(data, PAYMENT_COLUMNS), year, actor)
        failed = list(checked.failed)
        with self.engine.connect() as conn:
            already = _existing_records(conn, year, [r.credit_code for r in checked.accepted])
        fresh: list[PaymentRecord] = []
        for r in checked.accepted:
            if r.credit_code in already:
                failed.append(
                    RowFailure(
                        line=r.line,
                        field="credit_code",
                        code="already_imported",
                        message=f"{year} 年已有该企业缴费记录 (already imported for {year})",
                    )
                )
            else:
                fresh.append(r)
        failed.sort(key=lambda f: f.line)
        if failed and not skip_bad:
            raise FileRejected(failed)
        report = ImportReport(
            year=year, imported=len(fresh), dues_fen=sum(r.dues_fen for r in fresh), failed=failed
        )
        if not fresh:
            return report
        now = datetime.now(UTC)

        def write(conn: Connection) -> None:
            key = self._data_key(conn, year, create=True)
            rows = []
            for r in fresh:
                sealed = seal_fields(
                    key, _aad(year, r.credit_code), {"union_account": r.union_account}
                )
                rows.append(
                    {
                        "year": year,
                        "credit_code": r.credit_code,
                        "firm": r.firm,
                        "district": r.district,
                        "account_masked": mask(r.union_account) if r.union_account else None,
                        "sealed": json.dumps({k: v.model_dump() for k, v in sealed.items()})
                        if sealed
                        else None,
                        "dues_fen": r.dues_fen,
                        "period": r.period,
                        "line": r.line,
                        "imported_by": actor.id,
                        "imported_at": now,
                    }
                )
            for i in range(0, len(rows), _CHUNK):
                conn.execute(insert(dues_payment_records), rows[i : i + _CHUNK])

        districts = sorted({r.district for r in fresh})
        try:
            self._record(
                year,
                PAYMENTS_IMPORTED,
                actor,
                {
                    "records": len(fresh),
                    "dues_fen": report.dues_fen,
                    "districts": districts,
                    "skipped_lines": [f.line for f in failed],
                },
                also=write,
            )
        finally:
            self._key_cache = None  # a key made in a transaction that failed is not there
        _log().info("refunds.imported", year=year, records=len(fresh), by=actor.id)
        return report

    # -- applications (申请) -------------------------------------------------------------

    def receive(self, apps: Sequence[RefundApplication], actor: Actor) -> Received:
        """Applications recorded as rows (status `received`), one event for them; all or
        nothing. Their ids in order."""
        if not apps:
            return Received()
        years = {a.year for a in apps}
        if len(years) != 1:
            raise Refused("mixed_years", "一次只受理一个年度 (one year at a time)", "year")
        for a in apps:
            _may_receive(actor, a.district)
        year = years.pop()
        now = datetime.now(UTC)
        numbers: list[int] = []

        def write(conn: Connection) -> None:
            numbers.clear()
            rows = [
                {
                    "year": a.year,
                    "credit_code": a.credit_code,
                    "firm": a.firm,
                    "district": a.district,
                    "claimed_fen": a.claimed_fen,
                    "employees": a.employees,
                    "small_scale": int(a.small_scale_taxpayer),
                    "status": "received",
                    "reasons": "",
                    "received_by": actor.id,
                    "received_at": now,
                    "updated_at": now,
                }
                for a in apps
            ]
            for i in range(0, len(rows), _CHUNK):
                got = conn.execute(
                    insert(refund_applications).returning(
                        refund_applications.c.application_no, sort_by_parameter_order=True
                    ),
                    rows[i : i + _CHUNK],
                )
                numbers.extend(int(n) for n in got.scalars())

        self._record(
            year,
            APPLICATIONS_RECEIVED,
            actor,
            {
                "count": len(apps),
                "credit_codes": [a.credit_code for a in apps],
                "claimed_fen": sum(a.claimed_fen for a in apps),
            },
            also=write,
        )
        return Received(ids=[application_id(n, year) for n in numbers])

    # -- the run (匹配与返还) ------------------------------------------------------------

    def match_batch(
        self,
        year: int,
        district: str | None,
        cursor: int,
        transfer: Transfer,
        actor: Actor,
        config: RefundsConfig,
        size: int = 500,
    ) -> int | None:
        """Match the next `size` received applications after `cursor` (in the run's
        district, or all); pay the clean ones, mark the others exceptions; one
        transaction and one event. The last application number done, or None."""
        a = refund_applications
        with self.engine.connect() as conn:
            query = select(a).where(
                a.c.year == year, a.c.status == "received", a.c.application_no > cursor
            )
            if district is not None:
                query = query.where(a.c.district == district)
            apps = conn.execute(query.order_by(a.c.application_no).limit(size)).all()
            if not apps:
                return None
            codes = sorted({r.credit_code for r in apps})
            records = {
                r.credit_code: r
                for r in conn.execute(
                    select(dues_payment_records).where(
                        dues_payment_records.c.year == year,
                        dues_payment_records.c.credit_code.in_(codes),
                    )
                ).all()
            }
            first_of = dict(
                conn.execute(
                    select(a.c.credit_code, func.min(a.c.application_no))
                    .where(a.c.year == year, a.c.credit_code.in_(codes))
                    .group_by(a.c.credit_code)
                ).all()
            )
            key = self._data_key(conn, year, create=False) if records else b""
        paid: list[dict[str, Any]] = []
        exceptions: dict[int, list[str]] = {}
        failed: dict[int, str] = {}
        for app in apps:
            rec = records.get(app.credit_code)
            outcome = match(
                _application(app),
                _record(rec) if rec is not None else None,
                earlier_application=first_of[app.credit_code] < app.application_no,
                config=config,
            )
            if outcome.exceptions:
                exceptions[app.application_no] = [e.value for e in outcome.exceptions]
                continue
            assert rec is not None and rec.sealed
            account = unseal(
                key,
                _aad(year, app.credit_code),
                "union_account",
                SealedValue.model_validate(json.loads(rec.sealed)["union_account"]),
            )
            ref, why = _pay(transfer, year, app.credit_code, account, outcome.refund_fen)
            if ref is None:
                failed[app.application_no] = why
            else:
                paid.append(
                    {
                        "no": app.application_no,
                        "code": app.credit_code,
                        "district": app.district,
                        "amount": outcome.refund_fen,
                        "ref": ref,
                    }
                )
        stream = refund_stream(year)
        seq = self.store.head(stream) + 1
        now = datetime.now(UTC)

        def write(conn: Connection) -> None:
            changes = [
                {"n": p["no"], "to": "paid", "why": "", "amount": p["amount"], "ref": p["ref"]}
                for p in paid
            ]
            changes += [
                {"n": n, "to": "exception", "why": ",".join(r), "amount": None, "ref": None}
                for n, r in exceptions.items()
            ]
            changes += [
                {"n": n, "to": "failed", "why": "bank_rejected", "amount": None, "ref": None}
                for n in failed
            ]
            done = conn.execute(
                update(a)
                .where(a.c.application_no == bindparam("n"), a.c.status == "received")
                .values(
                    status=bindparam("to"),
                    reasons=bindparam("why"),
                    refund_fen=bindparam("amount"),
                    transfer_ref=bindparam("ref"),
                    updated_at=now,
                ),
                changes,
            ).rowcount
            if done != len(changes):
                raise ConcurrencyConflict(f"{stream}: applications done by another attempt")
            if not paid:
                return
            refunds_paid(conn, year, paid, now)
            conn.execute(
                insert(payments),
                [
                    {
                        "run_id": stream,
                        "payee_key": p["code"],
                        "source": SOURCE,
                        "district": p["district"],
                        "year": year,
                        "amount_fen": p["amount"],
                        "idempotency_key": _idempotency_key(year, p["code"]),
                        "transfer_ref": p["ref"],
                        "seq": seq,
                        "paid_at": now,
                    }
                    for p in paid
                ],
            )

        self.store.append(
            stream,
            seq - 1,
            [
                run_event(
                    stream,
                    REFUNDS_BATCH,
                    actor,
                    {
                        "first": apps[0].application_no,
                        "last": apps[-1].application_no,
                        "district": district,
                        "paid": [p["no"] for p in paid],
                        "exceptions": {str(n): r for n, r in exceptions.items()},
                        "failed": sorted(failed),
                        "amount_fen": sum(p["amount"] for p in paid),
                    },
                )
            ],
            also=write,
            actors=[actor],
        )
        return int(apps[-1].application_no)

    def progress(
        self, year: int, district: str | None = None, cursor: int = 0, batches: int = 0
    ) -> RunProgress:
        """The year's run as its committed rows say (never added up in memory)."""
        a = refund_applications
        with self.engine.connect() as conn:
            query = select(a.c.status, func.count()).where(a.c.year == year)
            paid_q = select(func.coalesce(func.sum(dues_refunds.c.amount_fen), 0)).where(
                dues_refunds.c.year == year
            )
            if district is not None:
                query = query.where(a.c.district == district)
                paid_q = paid_q.where(dues_refunds.c.district == district)
            counts: dict[str, int] = dict(conn.execute(query.group_by(a.c.status)).all())
            amount = int(conn.scalar(paid_q) or 0)
        waiting = counts.pop("received", 0)
        done = sum(counts.values())
        return RunProgress(
            total=done + waiting,
            done=done,
            counts=counts,
            amount_fen=amount,
            cursor=cursor,
            batches=batches,
            finished=waiting == 0,
        )

    def status(self, year: int, viewer: Actor) -> RefundStatus:
        """The year by district, as `viewer` may see it (their district; the city all)."""
        _may_read(viewer)
        scope = None if viewer.district == CITY else viewer.district
        a = refund_applications
        by: dict[str, DistrictRefunds] = {}

        def row(d: str) -> DistrictRefunds:
            return by.setdefault(d, DistrictRefunds(district=d))

        with self.engine.connect() as conn:
            rq = select(
                dues_payment_records.c.district,
                func.count(),
                func.coalesce(func.sum(dues_payment_records.c.dues_fen), 0),
            ).where(dues_payment_records.c.year == year)
            aq = select(a.c.district, a.c.status, func.count()).where(a.c.year == year)
            pq = select(
                dues_refunds.c.district, func.coalesce(func.sum(dues_refunds.c.amount_fen), 0)
            ).where(dues_refunds.c.year == year)
            if scope is not None:
                rq = rq.where(dues_payment_records.c.district == scope)
                aq = aq.where(a.c.district == scope)
                pq = pq.where(dues_refunds.c.district == scope)
            for d, n, fen in conn.execute(rq.group_by(dues_payment_records.c.district)):
                row(d).records, row(d).dues_fen = int(n), int(fen)
            for d, status, n in conn.execute(aq.group_by(a.c.district, a.c.status)):
                r = row(d)
                r.applications += int(n)
                if status == "paid":
                    r.paid = int(n)
                elif status == "exception":
                    r.exceptions = int(n)
                elif status == "failed":
                    r.failed = int(n)
                else:
                    r.waiting += int(n)
            for d, fen in conn.execute(pq.group_by(dues_refunds.c.district)):
                row(d).refunded_fen = int(fen)
        return RefundStatus(
            year=year,
            progress=self.progress(year, scope),
            districts=[by[d] for d in sorted(by)],
        )

    def latest_year(self) -> int | None:
        """The last dues year with payment records or applications, if any."""
        with self.engine.connect() as conn:
            years = [
                conn.scalar(select(func.max(dues_payment_records.c.year))),
                conn.scalar(select(func.max(refund_applications.c.year))),
            ]
        known = [int(y) for y in years if y is not None]
        return max(known) if known else None

    def exceptions(self, year: int, viewer: Actor) -> list[ExceptionRow]:
        """The applications the run left for a person, in the viewer's jurisdiction."""
        _may_read(viewer)
        a = refund_applications
        query = select(a).where(a.c.year == year, a.c.status == "exception")
        if viewer.district != CITY:
            query = query.where(a.c.district == viewer.district)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(a.c.application_no)).all()
        return [
            ExceptionRow(
                application_id=application_id(r.application_no, year),
                firm=r.firm,
                credit_code=r.credit_code,
                district=r.district,
                claimed_fen=r.claimed_fen,
                reasons=[x for x in r.reasons.split(",") if x],
                review_case_id=r.review_case_id,
            )
            for r in rows
        ]

    # -- the exceptions' review cases (返还复核) ------------------------------------------

    def pay_reviewed(
        self, case_id: str, app: RefundReviewApplication, transfer: Transfer
    ) -> tuple[int, str]:
        """Pay an approved review case the dues recorded for its firm and year, under the
        same keys as the run: (amount, transfer reference), the stored one on a retry.
        Refused: no record, no account, the firm already refunded this year, the bank
        refusing the account."""
        a = refund_applications
        year, no = app.dues_year, app.application_no()
        with self.engine.connect() as conn:
            row = conn.execute(select(a).where(a.c.application_no == no, a.c.year == year)).first()
            if row is None or row.review_case_id != case_id:
                raise Refused("not_a_review", f"{case_id}: 申请 {app.application_id} 不属于本案")
            if row.status == "paid":
                return int(row.refund_fen), str(row.transfer_ref)
            rec = conn.execute(
                select(dues_payment_records).where(
                    dues_payment_records.c.year == year,
                    dues_payment_records.c.credit_code == row.credit_code,
                )
            ).first()
            if rec is None:
                raise Refused("no_payment_record", f"{year} 年无该企业缴费记录 (no payment record)")
            if not rec.sealed:
                raise Refused("no_bank_account", "工会无独立银行账户 (no union account on record)")
            if conn.scalar(
                select(func.count())
                .select_from(dues_refunds)
                .where(dues_refunds.c.year == year, dues_refunds.c.credit_code == row.credit_code)
            ):
                raise Refused("already_refunded", f"该企业 {year} 年已返还 (already refunded)")
            key = self._data_key(conn, year, create=False)
        account = unseal(
            key,
            _aad(year, row.credit_code),
            "union_account",
            SealedValue.model_validate(json.loads(rec.sealed)["union_account"]),
        )
        amount = int(rec.dues_fen)
        ref, why = _pay(transfer, year, row.credit_code, account, amount)
        if ref is None:
            raise Refused("account_rejected", why or "银行拒绝 (the bank refused)")
        stream = refund_stream(year)
        now = datetime.now(UTC)
        paid = {
            "no": no,
            "code": row.credit_code,
            "district": row.district,
            "amount": amount,
            "ref": ref,
        }

        def write(conn: Connection, seq: int) -> None:
            done = conn.execute(
                update(a)
                .where(a.c.application_no == no, a.c.status == "exception")
                .values(status="paid", refund_fen=amount, transfer_ref=ref, updated_at=now)
            ).rowcount
            if done != 1:
                raise ConcurrencyConflict(f"{case_id}: paid by another attempt")
            refunds_paid(conn, year, [paid], now)
            conn.execute(
                insert(payments).values(
                    run_id=stream,
                    payee_key=row.credit_code,
                    source=SOURCE,
                    district=row.district,
                    year=year,
                    amount_fen=amount,
                    idempotency_key=_idempotency_key(year, row.credit_code),
                    transfer_ref=ref,
                    seq=seq,
                    paid_at=now,
                )
            )

        for attempt in range(8):
            seq = self.store.head(stream) + 1
            event = NewEvent(
                event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/{case_id}/paid")),
                case_id=stream,
                type=REVIEW_PAID,
                payload={"case_id": case_id, "application": no, "amount_fen": amount},
                actor_id=RUN_ACTOR,
                occurred_at=now,
            )
            try:
                self.store.append(stream, seq - 1, [event], also=functools.partial(write, seq=seq))
                return amount, ref
            except ConcurrencyConflict:
                with self.engine.connect() as conn:
                    again = conn.execute(select(a).where(a.c.application_no == no)).first()
                if again is not None and again.status == "paid":
                    return int(again.refund_fen), str(again.transfer_ref)
                time.sleep(0.01 * (attempt + 1))
        raise ConcurrencyConflict(f"{stream}: busy")


def review_key(year: int, no: int) -> str:
    return f"refund-review:{year}:{no}"


def number_reviews(engine: Engine, year: int, district: str | None, limit: int = 500) -> int:
    """Give the next `limit` exceptions of the year (in `district`, or all) without a
    review case their numbers (`RF-{year}-NNNNNN`), in one transaction; how many."""
    a = refund_applications
    with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
        query = select(a.c.application_no).where(
            a.c.year == year, a.c.status == "exception", a.c.review_case_id.is_(None)
        )
        if district is not None:
            query = query.where(a.c.district == district)
        nos = list(conn.scalars(query.order_by(a.c.application_no).limit(limit)))
        if not nos:
            return 0
        ids = allocate_case_ids(conn, REVIEW_PREFIX, year, len(nos))
        note_openings(conn, [(review_key(year, n), c) for n, c in zip(nos, ids, strict=True)])
        done = conn.execute(
            update(a)
            .where(a.c.application_no == bindparam("n"), a.c.review_case_id.is_(None))
            .values(review_case_id=bindparam("cid")),
            [{"n": n, "cid": c} for n, c in zip(nos, ids, strict=True)],
        ).rowcount
        if done != len(nos):
            raise ConcurrencyConflict(f"{year}: exceptions numbered by another attempt")
    return len(nos)


def unstarted_reviews(
    engine: Engine, year: int, district: str | None, after: str = "", limit: int = 1000
) -> list[tuple[str, RefundReviewApplication]]:
    """Numbered review cases whose opening is not recorded yet (no `cases` row)."""
    a = refund_applications
    query = (
        select(a)
        .select_from(a.outerjoin(cases, cases.c.case_id == a.c.review_case_id))
        .where(a.c.year == year, a.c.review_case_id.is_not(None), cases.c.case_id.is_(None))
        .where(a.c.review_case_id > after)
    )
    if district is not None:
        query = query.where(a.c.district == district)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(a.c.review_case_id).limit(limit)).all()
    return [(r.review_case_id, review_application(r)) for r in rows]


def review_application(r: Any) -> RefundReviewApplication:
    return RefundReviewApplication(
        application_id=application_id(r.application_no, r.year),
        dues_year=r.year,
        firm=r.firm,
        credit_code=r.credit_code,
        district=r.district,
        claimed_fen=r.claimed_fen,
        reasons=r.reasons,
    )


def review_opening_refusal(
    conn: Connection, case_id: str, app: RefundReviewApplication, by_run: bool
) -> tuple[str, str] | None:
    """The worker's check of a review's opening, as (code, message), or None: the run
    opens only what its own row names, and only the run opens them."""
    a = refund_applications
    row = conn.execute(
        select(a).where(a.c.application_no == app.application_no(), a.c.year == app.dues_year)
    ).first()
    if row is None or review_application(row) != app.model_copy(update={"reasons": row.reasons}):
        return (
            "not_an_application",
            f"{app.application_id}: 无此申请或内容不符 (no such application)",
        )
    if by_run and row.review_case_id != case_id:
        return ("not_a_run_exception", f"{case_id}: 返还批次未为此申请立案 (not opened by the run)")
    if not by_run and (row.status != "exception" or row.review_case_id is not None):
        return (
            "not_an_exception",
            f"{app.application_id}: 不是待复核的申请 (not an open exception)",
        )
    return None


def refunds_paid(conn: Connection, year: int, paid: Sequence[dict[str, Any]], at: datetime) -> None:
    """`dues_refunds` rows for the paid (keys `no`, `code`, `amount`, `ref`), each
    inserted from its payment record so the CHECK compares with the dues recorded there:
    a second refund of a firm in a year, or one above its dues, aborts the transaction
    (IntegrityError); one with no record inserts nothing and is refused here."""
    r = dues_payment_records
    stmt = insert(dues_refunds).from_select(
        [
            "year",
            "credit_code",
            "application_no",
            "district",
            "amount_fen",
            "dues_fen",
            "transfer_ref",
            "paid_at",
        ],
        select(
            r.c.year,
            r.c.credit_code,
            cast(bindparam("no"), BigInteger),
            r.c.district,
            cast(bindparam("amount"), BigInteger),
            r.c.dues_fen,
            cast(bindparam("ref"), String),
            literal(at, dues_refunds.c.paid_at.type),
        ).where(r.c.year == year, r.c.credit_code == bindparam("code")),
    )
    conn.execute(stmt, [{k: p[k] for k in ("no", "amount", "ref", "code")} for p in paid])
    nos = [p["no"] for p in paid]
    written = conn.scalar(
        select(func.count()).select_from(dues_refunds).where(dues_refunds.c.application_no.in_(nos))
    )
    if written != len(paid):
        raise Refused("no_payment_record", f"{year}: 缴费记录缺失 (a payment record is missing)")


def _existing_records(conn: Connection, year: int, codes: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(codes), _CHUNK):
        found.update(
            conn.scalars(
                select(dues_payment_records.c.credit_code).where(
                    dues_payment_records.c.year == year,
                    dues_payment_records.c.credit_code.in_(codes[i : i + _CHUNK]),
                )
            )
        )
    return found


def _application(row: Any) -> RefundApplication:
    return RefundApplication.model_construct(
        year=row.year,
        firm=row.firm,
        credit_code=row.credit_code,
        district=row.district,
        claimed_fen=row.claimed_fen,
        employees=row.employees,
        small_scale_taxpayer=bool(row.small_scale),
    )


def _record(row: Any) -> PaymentRecord:
    return PaymentRecord.model_construct(
        line=row.line,
        firm=row.firm,
        credit_code=row.credit_code,
        district=row.district,
        union_account="sealed" if row.sealed else None,
        dues_fen=row.dues_fen,
        period=row.period,
    )


def _pay(
    transfer: Transfer, year: int, code: str, account: str, amount: int
) -> tuple[str | None, str]:
    key = _idempotency_key(year, code)
    why = ""
    for attempt in range(BANK_TRIES):
        try:
            return transfer(key, account, amount, refund_stream(year)), ""
        except AccountRefused as exc:
            return None, str(exc)[:200]
        except TransientBankError as exc:
            why = str(exc)[:200]
            if attempt < BANK_TRIES - 1:
                time.sleep(0.05 * (attempt + 1))
    return None, why


def receive_application(engine: Engine, application: RefundApplication, actor: Actor) -> str:
    """One application recorded (`casework case open refund`): its id."""
    return str(Refunds(engine).receive([application], actor).ids[0])
