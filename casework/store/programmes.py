"""Relief programmes in the store (送温暖, 夏季安康"三送"; processes.md 1b): opening one,
the unions' lists checked and recorded, the district's review, the city's approval of
each district, and the payment run's batches (docs/batch-runs.md).

Every change is one append on the programme's own stream (`PG-YYYY-NNNNNN`) with the
records it makes written in the same transaction (`EventStore.append(also=...)`), and
the acting user checked against the directory in that transaction. Recipients' ID
numbers and bank accounts are sealed with the programme's data key (`case_keys`, keyed
by the programme id); the store finds a person again by the keyed hash of their ID
number (casework.privacy.lookup), never by the number itself.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    Engine,
    String,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from casework.domain.batch import RunProgress
from casework.domain.calendar import CHINA_TZ
from casework.domain.events import NewEvent
from casework.domain.identity import mask
from casework.domain.org import CITY, Actor, Role
from casework.domain.personal import ERASED, SealedValue
from casework.domain.programme import (
    DistrictAtDeadline,
    ListCheck,
    ListsDue,
    ProgrammeSpec,
    Qualifies,
    Row,
    RowFailure,
    bank_account_ok,
    check_list,
    read_rows,
)
from casework.domain.refusal import Refused
from casework.domain.streams import PROGRAMME_PREFIX
from casework.privacy.fields import seal_fields, unseal, unwrap_data_key
from casework.privacy.keys import Keyring, KeyringError
from casework.privacy.lookup import identity_digest, lookup_key
from casework.store.event_store import ConcurrencyConflict, EventStore, StoredEvent, run_event
from casework.store.personal import (
    PersonalData,
    SweepLine,
    require_admin,
    sweep_lines,
    utc_now,
    years_after,
)
from casework.store.tables import (
    applicant_identities,
    case_events,
    case_keys,
    case_sequences,
    households,
    payments,
    programme_lists,
    programme_recipients,
    programmes,
)

OPENED = "programme.opened"
LIST_SUBMITTED = "programme.list_submitted"
LIST_REVIEWED = "programme.list_reviewed"
DISTRICT_APPROVED = "programme.district_approved"
PAYMENTS_BATCH = "payments.batch"
ROW_CORRECTED = "programme.row_corrected"
PERSONAL_DATA_ERASED = "programme.personal_data_erased"
ERASED_MARK = "erased:"
"""What replaces a keyed hash of an ID number once the programme's data is erased."""
LISTS_DUE = "lists.due"

SCHEDULE_ACTOR = "system.schedule"
"""actor_id of what a Schedule records on its own (the list deadline): no directory user."""

SOURCE = "programme"
"""`payments.source` of a programme's payments."""
BANK_TRIES = 3
"""A transient bank failure is tried again this often inside the batch, then the row is
listed for correction and the run goes on."""
_CHUNK = 500


def _log() -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger("casework.programmes")  # type: ignore[no-any-return]


class ProgrammeNotFound(Refused):
    def __init__(self, programme_id: str) -> None:
        super().__init__("not_found", f"未找到项目 (no such programme): {programme_id}")


class ListsNotDue(Refused):
    def __init__(self, programme_id: str, due: date) -> None:
        super().__init__(
            "lists_not_due",
            f"{programme_id} 名单上报 {due} 截止，尚未到期 (lists are not due until {due})",
            "lists_due_on",
        )


def _lists_due_event_id(programme_id: str) -> str:
    """One `lists.due` per programme: a retried or re-fired Schedule finds it stored."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{programme_id}/{LISTS_DUE}"))


class _Stale(Exception):
    """What a check read changed before its transaction: check again."""


# -- what the store answers ---------------------------------------------------------------


class ListSummary(BaseModel):
    list_id: str
    programme_id: str
    district: str
    union_name: str
    submitted_by: str
    rows: int
    accepted: int
    failed: int
    total_fen: int
    status: str
    failures: list[RowFailure]
    review_comment: str | None = None


class DistrictFigures(BaseModel):
    district: str
    budget_fen: int
    lists: int = 0
    lists_submitted: int = 0
    lists_approved: int = 0
    lists_returned: int = 0
    rows: int = 0
    failed_rows: int = 0
    listed_fen: int = 0
    recipients: dict[str, int] = {}
    """Accepted rows by status: listed, approved, paid, failed."""
    paid_fen: int = 0
    lists_overdue: bool = False
    """The lists were due and the district has none in (submitted or approved): an
    exception for its officers to chase."""


class ProgrammeSummary(BaseModel):
    programme_id: str
    name: str
    kind: str
    year: int
    status: str
    opened_by: str
    districts: list[DistrictFigures]
    progress: RunProgress
    lists_due: ListsDue | None = None
    """The list deadline as recorded when it fell due (None: not yet); beside it each
    district's live `lists_overdue`."""


class FailedPayment(BaseModel):
    recipient_id: int
    district: str
    union_name: str
    line: int
    name: str
    id_masked: str
    amount_fen: int
    attempts: int
    failure: str | None


class BatchOutcome(BaseModel):
    """One row's payment in a batch: paid with the bank's reference, or failed why."""

    recipient_id: int
    person_digest: str
    district: str
    amount_fen: int
    transfer_ref: str | None = None
    failure: str | None = None


Transfer = Callable[[str, str, int, str], str]
"""(idempotency key, account, amount in fen, reference) -> the bank's reference; raises
`TransientBankError` to be tried again, `AccountRefused` for a row to correct."""


class TransientBankError(Exception):
    """The bank could not make the transfer now."""


class AccountRefused(Exception):
    """The bank refuses the account: trying again will not help."""


def _require(actor: Actor, role: Role, what: str) -> None:
    if not actor.has_role(role):
        raise Refused("role_not_held", f"{what}需要 {role.value} 角色 (role {role.value} required)")


def _upsert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


class Programmes:
    def __init__(self, engine: Engine, keyring: Keyring | None = None) -> None:
        """`keyring` None: reading and reviewing only (nothing sealed or opened)."""
        self.engine = engine
        self.store = EventStore(engine)
        self.personal = PersonalData(engine, keyring)
        self._keyring = keyring

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            raise KeyringError("no encryption keys given: personal data cannot be sealed here")
        return self._keyring

    # -- the stream ----------------------------------------------------------------------

    def _record(
        self,
        programme_id: str,
        type_: str,
        actor: Actor,
        payload: dict[str, Any],
        also: Callable[[Connection], None],
        tries: int = 8,
    ) -> None:
        """One event and its records in one transaction, the actor checked in it; read
        again and retried when another writer got in between."""
        self.store.append_at_head(
            programme_id,
            type_,
            actor,
            payload,
            also=lambda conn, _seq: also(conn),
            tries=tries,
            retry_on=(_Stale,),
        )

    # -- opening -------------------------------------------------------------------------

    def open(self, spec: ProgrammeSpec, actor: Actor) -> str:
        """A new programme (发起): its id, its data key, its opening event."""
        _require(actor, Role.CITY_OFFICER, "发起项目")
        if actor.district != CITY:
            raise Refused("outside_jurisdiction", "项目由市总发起 (the city opens programmes)")
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            number = conn.execute(
                _upsert(conn)(case_sequences)
                .values(prefix=PROGRAMME_PREFIX, year=spec.year, last_value=1)
                .on_conflict_do_update(
                    index_elements=[case_sequences.c.prefix, case_sequences.c.year],
                    set_={"last_value": case_sequences.c.last_value + 1},
                )
                .returning(case_sequences.c.last_value)
            ).scalar_one()
            programme_id = f"{PROGRAMME_PREFIX}-{spec.year}-{number:06d}"
            self.personal.create_key(conn, programme_id)
            conn.execute(
                insert(programmes).values(
                    programme_id=programme_id,
                    kind=spec.kind.value,
                    name=spec.name,
                    year=spec.year,
                    spec=spec.model_dump_json(),
                    status="open",
                    opened_by=actor.id,
                    opened_at=now,
                )
            )
        try:
            self._record(
                programme_id,
                OPENED,
                actor,
                {"spec": spec.model_dump(mode="json")},
                also=lambda conn: None,
            )
        except Exception:
            with self.engine.begin() as conn:
                conn.execute(delete(programmes).where(programmes.c.programme_id == programme_id))
                conn.execute(delete(case_keys).where(case_keys.c.case_id == programme_id))
            raise
        _log().info("programme.opened", programme_id=programme_id, by=actor.id)
        return programme_id

    def spec(self, programme_id: str) -> ProgrammeSpec:
        with self.engine.connect() as conn:
            text = conn.scalar(
                select(programmes.c.spec).where(programmes.c.programme_id == programme_id)
            )
        if text is None:
            raise ProgrammeNotFound(programme_id)
        return ProgrammeSpec.model_validate_json(text)

    def _data_key(self, conn: Connection, programme_id: str) -> bytes:
        row = conn.execute(select(case_keys).where(case_keys.c.case_id == programme_id)).first()
        if row is None or row.wrapped_key is None:
            raise Refused("personal_data_erased", f"{programme_id}: 数据密钥已销毁 (key erased)")
        return unwrap_data_key(self.keyring, programme_id, row.master_key_id, row.wrapped_key)

    # -- lists (名单上报) ----------------------------------------------------------------

    def _digests(self, id_numbers: Sequence[str]) -> dict[str, dict[str, str]]:
        """Each number's digest under the lookup key of every master key, by key id."""
        keys = {kid: lookup_key(self.keyring.key(kid)) for kid in self.keyring.ids}
        return {n: {kid: identity_digest(k, n) for kid, k in keys.items()} for n in id_numbers}

    def _on_register(self, conn: Connection, id_numbers: list[str]) -> dict[str, str | None]:
        found = self._digests(id_numbers)
        by_digest = {d: n for n, ds in found.items() for d in ds.values()}
        category: dict[str, str | None] = dict.fromkeys(id_numbers)
        digests = list(by_digest)
        for i in range(0, len(digests), _CHUNK):
            rows = conn.execute(
                select(applicant_identities.c.digest, households.c.category)
                .select_from(
                    applicant_identities.join(
                        households, households.c.case_id == applicant_identities.c.case_id
                    )
                )
                .where(
                    applicant_identities.c.digest.in_(digests[i : i + _CHUNK]),
                    households.c.exited_at.is_(None),
                )
            ).all()
            for r in rows:
                category[by_digest[r.digest]] = r.category
        return category

    @staticmethod
    def _listed(conn: Connection, programme_id: str, digests: list[str]) -> set[str]:
        listed: set[str] = set()
        for i in range(0, len(digests), _CHUNK):
            listed.update(
                conn.scalars(
                    select(programme_recipients.c.person_digest).where(
                        programme_recipients.c.programme_id == programme_id,
                        programme_recipients.c.person_digest.in_(digests[i : i + _CHUNK]),
                    )
                )
            )
        return listed

    @staticmethod
    def _budget_left(conn: Connection, programme_id: str, district: str, budget: int) -> int:
        taken = conn.scalar(
            select(func.coalesce(func.sum(programme_lists.c.total_fen), 0)).where(
                programme_lists.c.programme_id == programme_id,
                programme_lists.c.district == district,
                programme_lists.c.status.in_(("submitted", "approved")),
            )
        )
        return budget - int(taken or 0)

    def submit(
        self, programme_id: str, data: bytes, actor: Actor, today: date | None = None
    ) -> ListSummary:
        """A union's list (名单上报), every row checked: the rows that pass are recorded
        for the district's review, the others reported with line and field. Refused
        after the programme's `lists_due_on` (Beijing time)."""
        _require(actor, Role.GRASSROOTS_OFFICER, "上报名单")
        spec = self.spec(programme_id)
        today = today or datetime.now(UTC).astimezone(CHINA_TZ).date()
        if today > spec.lists_due_on:
            raise Refused(
                "past_deadline",
                f"名单上报已于 {spec.lists_due_on} 截止 (lists were due by {spec.lists_due_on})",
                "lists_due_on",
            )
        with self.engine.connect() as conn:
            status = conn.scalar(
                select(programmes.c.status).where(programmes.c.programme_id == programme_id)
            )
        if status != "open":
            raise Refused("programme_closed", f"项目已结束 (the programme is {status})")
        district = actor.district
        budget = spec.budget_fen.get(district)
        if budget is None:
            raise Refused(
                "district_not_in_programme",
                f"{district} 不在本项目的预算中 (the programme has no budget for {district})",
            )
        rows = read_rows(data)
        for attempt in range(5):
            with self.engine.connect() as conn:
                left = self._budget_left(conn, programme_id, district, budget)

                def qualifies(ids: list[str], conn: Connection = conn) -> Mapping[str, str | None]:
                    if spec.qualifies is Qualifies.FRONTLINE:
                        return dict.fromkeys(ids, "frontline")
                    return self._on_register(conn, ids)

                def already(ids: list[str], conn: Connection = conn) -> set[str]:
                    # Under every master key: a row listed before a key rotation is
                    # found by its older digest (the unique key sees only the current).
                    by_digest = {d: n for n, ds in self._digests(ids).items() for d in ds.values()}
                    hit = self._listed(conn, programme_id, list(by_digest))
                    return {by_digest[d] for d in hit}

                checked = check_list(
                    rows,
                    spec,
                    district,
                    qualifies=qualifies,
                    already_listed=already,
                    budget_left_fen=left,
                )
            try:
                return self._record_list(programme_id, district, actor, budget, left, checked)
            except (_Stale, ConcurrencyConflict):
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _record_list(
        self,
        programme_id: str,
        district: str,
        actor: Actor,
        budget: int,
        left: int,
        checked: ListCheck,
    ) -> ListSummary:
        list_id = f"{programme_id}-L{uuid.uuid4().hex[:12]}"
        unions = sorted({r.union for r in checked.accepted}) or ["-"]
        union_name = "、".join(unions)[:100]
        failures = [f.model_dump() for f in checked.failed]
        digests = self._digests([r.id_number for r in checked.accepted])
        current = self.keyring.current_id
        now = datetime.now(UTC)
        summary = ListSummary(
            list_id=list_id,
            programme_id=programme_id,
            district=district,
            union_name=union_name,
            submitted_by=actor.id,
            rows=len(checked.accepted) + len(checked.failed),
            accepted=len(checked.accepted),
            failed=len(checked.failed),
            total_fen=checked.total_fen,
            status="submitted",
            failures=checked.failed,
        )

        def write(conn: Connection) -> None:
            conn.execute(
                select(programmes.c.programme_id)
                .where(programmes.c.programme_id == programme_id)
                .with_for_update()
            )
            if self._budget_left(conn, programme_id, district, budget) != left:
                raise _Stale()
            data_key = self._data_key(conn, programme_id)
            conn.execute(
                insert(programme_lists).values(
                    list_id=list_id,
                    programme_id=programme_id,
                    district=district,
                    union_name=union_name,
                    submitted_by=actor.id,
                    submitted_at=now,
                    rows=summary.rows,
                    accepted=summary.accepted,
                    failed=summary.failed,
                    total_fen=summary.total_fen,
                    failures=json.dumps(failures, ensure_ascii=False),
                    status="submitted",
                )
            )
            if checked.accepted:
                conn.execute(
                    insert(programme_recipients),
                    [
                        _recipient(data_key, list_id, district, r, digests[r.id_number][current])
                        | {"programme_id": programme_id, "key_id": current, "updated_at": now}
                        for r in checked.accepted
                    ],
                )

        self._record(
            programme_id,
            LIST_SUBMITTED,
            actor,
            summary.model_dump(mode="json", exclude={"failures"})
            | {
                "failures": [
                    {"line": f.line, "field": f.field, "code": f.code} for f in checked.failed
                ]
            },
            also=write,
            tries=1,
        )
        _log().info(
            "programme.list_submitted",
            programme_id=programme_id,
            list_id=list_id,
            accepted=summary.accepted,
            failed=summary.failed,
        )
        return summary

    def _cached_key(self, conn: Connection, programme_id: str) -> bytes:
        cached = getattr(self, "_key_cache", None)
        if cached is not None and cached[0] == programme_id:
            return cached[1]  # type: ignore[no-any-return]
        key = self._data_key(conn, programme_id)
        self._key_cache = (programme_id, key)
        return key

    def one_list(self, list_id: str) -> ListSummary:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(programme_lists).where(programme_lists.c.list_id == list_id)
            ).first()
        if row is None:
            raise Refused("not_found", f"未找到名单 (no such list): {list_id}")
        return _list_summary(row)

    def lists(self, programme_id: str, viewer: Actor | None = None) -> list[ListSummary]:
        self.spec(programme_id)
        query = select(programme_lists).where(programme_lists.c.programme_id == programme_id)
        if viewer is not None and viewer.district != CITY:
            query = query.where(programme_lists.c.district == viewer.district)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(programme_lists.c.submitted_at)).all()
        return [_list_summary(r) for r in rows]

    # -- review (区县审核) and approval (市总审批) ----------------------------------------

    def review(
        self, list_id: str, actor: Actor, *, approve: bool, comment: str | None = None
    ) -> ListSummary:
        """The district approves a union's list, or returns it (its rows withdrawn, so a
        corrected list can name them again)."""
        _require(actor, Role.DISTRICT_OFFICER, "审核名单")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(programme_lists).where(programme_lists.c.list_id == list_id)
            ).first()
        if row is None or not actor.covers(row.district):
            raise Refused("not_found", f"未找到名单 (no such list): {list_id}")
        if not approve and not (comment or "").strip():
            raise Refused(
                "comment_required", "退回须说明原因 (a return needs a comment)", "comment"
            )
        status = "approved" if approve else "returned"

        def write(conn: Connection) -> None:
            done = conn.execute(
                update(programme_lists)
                .where(
                    programme_lists.c.list_id == list_id, programme_lists.c.status == "submitted"
                )
                .values(
                    status=status,
                    reviewed_by=actor.id,
                    reviewed_at=datetime.now(UTC),
                    review_comment=comment,
                )
            ).rowcount
            if done != 1:
                raise Refused("already_reviewed", f"名单已审核 (the list was already {row.status})")
            if not approve:
                conn.execute(
                    delete(programme_recipients).where(programme_recipients.c.list_id == list_id)
                )

        self._record(
            row.programme_id,
            LIST_REVIEWED,
            actor,
            {"list_id": list_id, "status": status, "comment": comment},
            also=write,
        )
        return self.one_list(list_id)

    def approve_district(self, programme_id: str, district: str, actor: Actor) -> DistrictFigures:
        """The city approves a district's total: the rows of its approved lists are to
        be paid. Refused while a list of the district awaits review, or over budget."""
        _require(actor, Role.CITY_OFFICER, "审批区县")
        spec = self.spec(programme_id)
        if actor.district != CITY:
            raise Refused("outside_jurisdiction", "由市总审批 (the city approves)")
        budget = spec.budget_fen.get(district)
        if budget is None:
            raise Refused("district_not_in_programme", f"{district} 不在本项目中", "district")
        figures: dict[str, int] = {}

        def write(conn: Connection) -> None:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(programme_lists.c.status, func.count())
                    .where(
                        programme_lists.c.programme_id == programme_id,
                        programme_lists.c.district == district,
                    )
                    .group_by(programme_lists.c.status)
                ).all()
            )
            if counts.get("submitted"):
                raise Refused(
                    "lists_pending",
                    f"{district} 尚有 {counts['submitted']} 份名单待审核 "
                    "(lists of the district await review)",
                )
            approved_lists = select(programme_lists.c.list_id).where(
                programme_lists.c.programme_id == programme_id,
                programme_lists.c.district == district,
                programme_lists.c.status == "approved",
            )
            total = conn.scalar(
                select(func.coalesce(func.sum(programme_recipients.c.amount_fen), 0)).where(
                    programme_recipients.c.list_id.in_(approved_lists)
                )
            )
            if int(total or 0) > budget:
                raise Refused("over_budget", f"{district} 超出预算 (over the district's budget)")
            moved = conn.execute(
                update(programme_recipients)
                .where(
                    programme_recipients.c.list_id.in_(approved_lists),
                    programme_recipients.c.status == "listed",
                )
                .values(status="approved", updated_at=datetime.now(UTC))
            ).rowcount
            if not moved:
                raise Refused(
                    "nothing_to_approve", f"{district} 没有待审批的名单 (nothing to approve)"
                )
            figures.update(rows=moved, total_fen=int(total or 0))

        self._record(
            programme_id,
            DISTRICT_APPROVED,
            actor,
            {"district": district},
            also=write,
        )
        return next(d for d in self.summary(programme_id).districts if d.district == district)

    # -- the list deadline (名单上报截止) ------------------------------------------------

    def record_lists_due(self, programme_id: str, now: datetime | None = None) -> ListsDue:
        """At the list deadline (the Schedule at 23:59 Beijing time of `lists_due_on`):
        one `lists.due` event naming the districts of the budget with no list submitted
        or approved, with each district's counts. Recorded once: a second call (a
        retried activity, a Schedule fired again) returns what the first recorded.
        Refused before `lists_due_on` in Beijing time (`lists_not_due`), and for a
        programme that does not exist (`not_found`)."""
        spec = self.spec(programme_id)
        recorded = self.lists_due(programme_id)
        if recorded is not None:
            return recorded
        now = now or datetime.now(UTC)
        if now.astimezone(CHINA_TZ).date() < spec.lists_due_on:
            raise ListsNotDue(programme_id, spec.lists_due_on)
        for attempt in range(5):
            head = self.store.head(programme_id)
            districts = self._at_deadline(programme_id, spec)
            overdue = [d.district for d in districts if not d.lists_submitted + d.lists_approved]
            event = NewEvent(
                event_id=_lists_due_event_id(programme_id),
                case_id=programme_id,
                type=LISTS_DUE,
                payload={
                    "lists_due_on": spec.lists_due_on.isoformat(),
                    "overdue_districts": overdue,
                    "districts": [d.model_dump() for d in districts],
                },
                actor_id=SCHEDULE_ACTOR,
                occurred_at=now,
            )
            try:
                stored = self.store.append(programme_id, head, [event])[0]
                break
            except ConcurrencyConflict:  # a list came in meanwhile: count again
                if attempt == 4:
                    raise
                time.sleep(0.01 * (attempt + 1))
        due = _lists_due(programme_id, stored.payload, stored.occurred_at)
        if stored.occurred_at == now.astimezone(UTC):  # recorded by this call: tell once
            for district in due.overdue_districts:
                _log().warning(
                    "programme.lists_overdue", programme_id=programme_id, district=district
                )
        return due

    def lists_due(self, programme_id: str) -> ListsDue | None:
        """The programme's `lists.due` event, if its deadline has been recorded."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(case_events.c.payload, case_events.c.occurred_at).where(
                    case_events.c.event_id == _lists_due_event_id(programme_id)
                )
            ).first()
        if row is None:
            return None
        return _lists_due(programme_id, json.loads(row.payload), row.occurred_at)

    def _at_deadline(self, programme_id: str, spec: ProgrammeSpec) -> list[DistrictAtDeadline]:
        with self.engine.connect() as conn:
            lists = conn.execute(
                select(
                    programme_lists.c.district,
                    programme_lists.c.status,
                    func.count(),
                    func.coalesce(func.sum(programme_lists.c.accepted), 0),
                )
                .where(programme_lists.c.programme_id == programme_id)
                .group_by(programme_lists.c.district, programme_lists.c.status)
            ).all()
        found = {d: DistrictAtDeadline(district=d) for d in spec.budget_fen}
        for district, status, n, accepted in lists:
            d = found.get(district)
            if d is None:
                continue
            setattr(d, f"lists_{status}", n)
            if status == "submitted":
                d.rows_awaiting_review = int(accepted)
        return list(found.values())

    # -- reading -------------------------------------------------------------------------

    def summary(
        self, programme_id: str, viewer: Actor | None = None, today: date | None = None
    ) -> ProgrammeSummary:
        """Per district: lists, rows, failed rows, amounts, whether its lists are overdue;
        and the payment run's figures."""
        spec = self.spec(programme_id)
        today = today or datetime.now(UTC).astimezone(CHINA_TZ).date()
        with self.engine.connect() as conn:
            head = conn.execute(
                select(programmes).where(programmes.c.programme_id == programme_id)
            ).one()
            lists = conn.execute(
                select(
                    programme_lists.c.district,
                    programme_lists.c.status,
                    func.count(),
                    func.sum(programme_lists.c.rows),
                    func.sum(programme_lists.c.failed),
                    func.sum(programme_lists.c.total_fen),
                )
                .where(programme_lists.c.programme_id == programme_id)
                .group_by(programme_lists.c.district, programme_lists.c.status)
            ).all()
            recipients = conn.execute(
                select(
                    programme_recipients.c.district,
                    programme_recipients.c.status,
                    func.count(),
                )
                .where(programme_recipients.c.programme_id == programme_id)
                .group_by(programme_recipients.c.district, programme_recipients.c.status)
            ).all()
            paid = conn.execute(
                select(payments.c.district, func.sum(payments.c.amount_fen))
                .where(payments.c.run_id == programme_id)
                .group_by(payments.c.district)
            ).all()
        districts = {
            d: DistrictFigures(district=d, budget_fen=b) for d, b in spec.budget_fen.items()
        }
        for district, status, n, rows, failed, total in lists:
            d = districts[district]
            d.lists += n
            setattr(d, f"lists_{status}", getattr(d, f"lists_{status}") + n)
            d.rows += int(rows or 0)
            d.failed_rows += int(failed or 0)
            if status != "returned":
                d.listed_fen += int(total or 0)
        for district, status, n in recipients:
            districts[district].recipients = {**districts[district].recipients, status: n}
        for district, amount in paid:
            districts[district].paid_fen = int(amount or 0)
        for d in districts.values():
            d.lists_overdue = today > spec.lists_due_on and not (
                d.lists_submitted + d.lists_approved
            )
        shown = [d for d in districts.values() if viewer is None or viewer.covers(d.district)]
        due = self.lists_due(programme_id)
        if due is not None and viewer is not None:
            due.overdue_districts = [d for d in due.overdue_districts if viewer.covers(d)]
            due.districts = [d for d in due.districts if viewer.covers(d.district)]
        return ProgrammeSummary(
            programme_id=programme_id,
            name=head.name,
            kind=head.kind,
            year=head.year,
            status=head.status,
            opened_by=head.opened_by,
            districts=shown,
            progress=self.progress(programme_id),
            lists_due=due,
        )

    def progress(self, programme_id: str, cursor: int = 0, batches: int = 0) -> RunProgress:
        """The payment run as its committed rows say (never added up in memory)."""
        with self.engine.connect() as conn:
            counts: dict[str, int] = dict(
                conn.execute(
                    select(programme_recipients.c.status, func.count())
                    .where(
                        programme_recipients.c.programme_id == programme_id,
                        programme_recipients.c.status.in_(("approved", "paid", "failed")),
                    )
                    .group_by(programme_recipients.c.status)
                ).all()
            )
            amount = conn.scalar(
                select(func.coalesce(func.sum(payments.c.amount_fen), 0)).where(
                    payments.c.run_id == programme_id
                )
            )
        done = counts.get("paid", 0) + counts.get("failed", 0)
        return RunProgress(
            total=done + counts.get("approved", 0),
            done=done,
            counts={k: v for k, v in counts.items() if k != "approved"},
            amount_fen=int(amount or 0),
            cursor=cursor,
            batches=batches,
            finished=counts.get("approved", 0) == 0,
        )

    def failed_payments(
        self, programme_id: str, viewer: Actor | None = None
    ) -> list[FailedPayment]:
        """The rows the payment run could not pay: a person's work (the district's)."""
        self.spec(programme_id)
        query = select(programme_recipients).where(
            programme_recipients.c.programme_id == programme_id,
            programme_recipients.c.status == "failed",
        )
        if viewer is not None and viewer.district != CITY:
            query = query.where(programme_recipients.c.district == viewer.district)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(programme_recipients.c.recipient_id)).all()
        return [
            FailedPayment(
                recipient_id=r.recipient_id,
                district=r.district,
                union_name=r.union_name,
                line=r.line,
                name=r.name,
                id_masked=r.id_masked,
                amount_fen=r.amount_fen,
                attempts=r.attempts,
                failure=r.failure,
            )
            for r in rows
        ]

    def correct(
        self, programme_id: str, recipient_id: int, bank_account: str, actor: Actor
    ) -> FailedPayment:
        """A failed row's bank account corrected by its district: to be paid again by the
        next run."""
        _require(actor, Role.DISTRICT_OFFICER, "更正发放信息")
        if not bank_account_ok(bank_account):
            raise Refused(
                "invalid_bank_account",
                "银行账号须为 8 至 30 位数字 (8 to 30 digits)",
                "bank_account",
            )
        with self.engine.connect() as conn:
            row = conn.execute(
                select(programme_recipients).where(
                    programme_recipients.c.programme_id == programme_id,
                    programme_recipients.c.recipient_id == recipient_id,
                )
            ).first()
        if row is None or not actor.covers(row.district):
            raise Refused("not_found", f"未找到名单行 (no such row): {recipient_id}")
        if row.status != "failed":
            raise Refused(
                "not_failed", f"该行状态为 {row.status}，无需更正 (the row is {row.status})"
            )

        def write(conn: Connection) -> None:
            data_key = self._data_key(conn, programme_id)
            aad = _aad(programme_id, row.person_digest)
            sealed = {k: SealedValue.model_validate(v) for k, v in json.loads(row.sealed).items()}
            id_number = unseal(data_key, aad, "id_number", sealed["id_number"])
            fresh = seal_fields(
                data_key, aad, {"id_number": id_number, "bank_account": bank_account}
            )
            done = conn.execute(
                update(programme_recipients)
                .where(
                    programme_recipients.c.recipient_id == recipient_id,
                    programme_recipients.c.status == "failed",
                )
                .values(
                    sealed=json.dumps({k: v.model_dump() for k, v in fresh.items()}),
                    status="approved",
                    failure=None,
                    updated_at=datetime.now(UTC),
                )
            ).rowcount
            if done != 1:
                raise _Stale()

        self._record(
            programme_id,
            ROW_CORRECTED,
            actor,
            {"recipient_id": recipient_id, "field": "bank_account"},
            also=write,
        )
        return FailedPayment(
            recipient_id=row.recipient_id,
            district=row.district,
            union_name=row.union_name,
            line=row.line,
            name=row.name,
            id_masked=row.id_masked,
            amount_fen=row.amount_fen,
            attempts=row.attempts,
            failure=None,
        )

    # -- the payment run (发放) ----------------------------------------------------------

    def pay_batch(
        self, programme_id: str, cursor: int, transfer: Transfer, actor: Actor, size: int = 500
    ) -> int | None:
        """Pay the next `size` approved rows after `cursor`, commit them in one
        transaction with one event; the last key done, or None when none are left."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    programme_recipients.c.recipient_id,
                    programme_recipients.c.person_digest,
                    programme_recipients.c.district,
                    programme_recipients.c.amount_fen,
                    programme_recipients.c.sealed,
                )
                .where(
                    programme_recipients.c.programme_id == programme_id,
                    programme_recipients.c.status == "approved",
                    programme_recipients.c.recipient_id > cursor,
                )
                .order_by(programme_recipients.c.recipient_id)
                .limit(size)
            ).all()
            if not rows:
                return None
            data_key = self._cached_key(conn, programme_id)
        outcomes = [self._pay_one(programme_id, data_key, r, transfer) for r in rows]
        year = int(programme_id.split("-")[1])
        seq = self.store.head(programme_id) + 1
        now = datetime.now(UTC)
        paid = [o for o in outcomes if o.transfer_ref is not None]
        failed = [o for o in outcomes if o.transfer_ref is None]

        def write(conn: Connection) -> None:
            # Each row done, paid or failed, in one statement: only rows still to pay
            # change, so a row another attempt already did makes this one stale.
            done = conn.execute(
                update(programme_recipients)
                .where(
                    programme_recipients.c.recipient_id == bindparam("rid"),
                    programme_recipients.c.status == "approved",
                )
                .values(
                    status=bindparam("to"),
                    transfer_ref=bindparam("ref"),
                    failure=bindparam("why"),
                    attempts=programme_recipients.c.attempts + 1,
                    updated_at=now,
                ),
                [
                    {
                        "rid": o.recipient_id,
                        "to": "failed" if o.transfer_ref is None else "paid",
                        "ref": o.transfer_ref,
                        "why": o.failure,
                    }
                    for o in outcomes
                ],
            ).rowcount
            if done != len(outcomes):
                raise _Stale()  # another attempt got here first: its commit stands
            if paid:
                conn.execute(
                    insert(payments),
                    [
                        {
                            "run_id": programme_id,
                            "payee_key": o.person_digest,
                            "source": SOURCE,
                            "district": o.district,
                            "year": year,
                            "amount_fen": o.amount_fen,
                            "idempotency_key": _idempotency_key(programme_id, o.person_digest),
                            "transfer_ref": o.transfer_ref,
                            "seq": seq,
                            "paid_at": now,
                        }
                        for o in paid
                    ],
                )

        self.store.append(
            programme_id,
            seq - 1,
            [
                run_event(
                    programme_id,
                    PAYMENTS_BATCH,
                    actor,
                    {
                        "first": rows[0].recipient_id,
                        "last": rows[-1].recipient_id,
                        "paid": [o.recipient_id for o in paid],
                        "failed": [o.recipient_id for o in failed],
                        "amount_fen": sum(o.amount_fen for o in paid),
                    },
                )
            ],
            also=write,
            actors=[actor],
        )
        return int(rows[-1].recipient_id)

    @staticmethod
    def _pay_one(programme_id: str, data_key: bytes, row: Any, transfer: Transfer) -> BatchOutcome:
        outcome = BatchOutcome(
            recipient_id=row.recipient_id,
            person_digest=row.person_digest,
            district=row.district,
            amount_fen=row.amount_fen,
        )
        sealed = json.loads(row.sealed)
        if "bank_account" not in sealed:
            outcome.failure = "未登记银行账号 (no bank account)"
            return outcome
        account = unseal(
            data_key,
            _aad(programme_id, row.person_digest),
            "bank_account",
            SealedValue.model_validate(sealed["bank_account"]),
        )
        key = _idempotency_key(programme_id, row.person_digest)
        for attempt in range(BANK_TRIES):
            try:
                outcome.transfer_ref = transfer(key, account, row.amount_fen, programme_id)
                return outcome
            except AccountRefused as exc:
                outcome.failure = str(exc)[:200]
                return outcome
            except TransientBankError as exc:
                outcome.failure = str(exc)[:200]
                if attempt < BANK_TRIES - 1:
                    time.sleep(0.05 * (attempt + 1))
        return outcome

    def finish(self, programme_id: str, today: date | None = None) -> bool:
        """After a run that left no approved row: the programme is `paid` (closed to new
        lists) once its lists are due and none awaits review or approval; until then
        districts may still send lists and later runs pay them. Whether it closed."""
        spec = self.spec(programme_id)
        today = today or datetime.now(UTC).astimezone(CHINA_TZ).date()
        if today <= spec.lists_due_on:
            return False
        with self.engine.begin() as conn:
            waiting = conn.scalar(
                select(func.count())
                .select_from(programme_recipients)
                .where(
                    programme_recipients.c.programme_id == programme_id,
                    programme_recipients.c.status.in_(("listed", "approved")),
                )
            ) or conn.scalar(
                select(func.count())
                .select_from(programme_lists)
                .where(
                    programme_lists.c.programme_id == programme_id,
                    programme_lists.c.status == "submitted",
                )
            )
            if waiting:
                return False
            conn.execute(
                update(programmes)
                .where(programmes.c.programme_id == programme_id, programmes.c.status == "open")
                .values(status="paid", closed_at=datetime.now(UTC))
            )
        return True

    # -- erasing (crypto-shredding, as for a case: casework.store.personal) -----------

    def erase_personal(
        self,
        programme_id: str,
        admin: Actor,
        *,
        retention_years: int,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> StoredEvent:
        """Destroy the programme's data key (its recipients' ID numbers and bank
        accounts become ciphertext nobody can open) and the keyed hashes that would
        find a person among its recipients and payments again, recording who did it
        and why, in one transaction. Only an administrator, only for a closed (paid)
        programme, and only `retention_years` after it closed. Names, amounts, districts
        and the bank's transfer references stay: they are the payment record."""
        now = now or utc_now()
        require_admin(admin)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(programmes.c.status, programmes.c.closed_at).where(
                    programmes.c.programme_id == programme_id
                )
            ).first()
        if row is None:
            raise ProgrammeNotFound(programme_id)
        if row.status == "open" or row.closed_at is None:
            raise Refused(
                "programme_open",
                f"项目 {programme_id} 尚未结束，不能销毁个人信息 (the programme is still open)",
            )
        until = years_after(row.closed_at, retention_years)
        if now < until:
            raise Refused(
                "retention_period",
                f"档案保存期至 {until:%Y-%m-%d}（项目结束后 {retention_years} 年），期满前不得销毁 "
                f"(kept until {until:%Y-%m-%d}, {retention_years} years after the programme closed)",
            )

        def destroy(conn: Connection, _seq: int) -> None:
            destroyed = conn.execute(
                update(case_keys)
                .where(case_keys.c.case_id == programme_id, case_keys.c.wrapped_key.is_not(None))
                .values(wrapped_key=None, legacy_personal=None, erased_at=now)
            ).rowcount
            if destroyed != 1:
                raise Refused(
                    "already_erased",
                    f"项目 {programme_id} 的个人信息已销毁 (already erased)",
                )
            # The keyed hash of each ID number (one person, one row per programme) and
            # the bank's idempotency keys built from it: replaced by markers that keep
            # the rows unique and link to nobody.
            conn.execute(
                update(programme_recipients)
                .where(programme_recipients.c.programme_id == programme_id)
                .values(
                    person_digest=literal(ERASED_MARK, String)
                    + cast(programme_recipients.c.recipient_id, String),
                    id_masked=ERASED,
                )
            )
            keys = conn.execute(
                select(payments.c.payee_key)
                .where(payments.c.run_id == programme_id)
                .order_by(payments.c.paid_at, payments.c.payee_key)
            ).scalars()
            renamed = [
                {"old": key, "new": f"{ERASED_MARK}{n}"} for n, key in enumerate(keys, start=1)
            ]
            if renamed:
                conn.execute(
                    update(payments)
                    .where(
                        payments.c.run_id == programme_id,
                        payments.c.payee_key == bindparam("old"),
                    )
                    .values(payee_key=bindparam("new"), idempotency_key=bindparam("new")),
                    renamed,
                )

        stored = self.store.append_at_head(
            programme_id,
            PERSONAL_DATA_ERASED,
            admin,
            {
                "fields": ["id_number", "bank_account"],
                "reason": reason,
                "retention_years": retention_years,
                "closed_at": row.closed_at.isoformat(),
            },
            also=destroy,
        )
        if getattr(self, "_key_cache", (None,))[0] == programme_id:
            del self._key_cache
        _log().warning("personal_data.erased", programme_id=programme_id, actor=admin.id)
        return stored

    def due_for_erasure(
        self, retention_years: int, *, now: datetime | None = None, limit: int | None = None
    ) -> list[str]:
        """The closed programmes past `retention_years` whose data key still exists,
        oldest first: what a sweep would erase (reads only)."""
        cutoff = years_after(now or utc_now(), -retention_years)
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(programmes.c.programme_id)
                    .join(case_keys, case_keys.c.case_id == programmes.c.programme_id)
                    .where(
                        programmes.c.status != "open",
                        programmes.c.closed_at <= cutoff,
                        case_keys.c.wrapped_key.is_not(None),
                    )
                    .order_by(programmes.c.closed_at, programmes.c.programme_id)
                    .limit(limit)
                ).scalars()
            )

    def sweep_personal(
        self,
        admin: Actor,
        *,
        retention_years: int,
        now: datetime | None = None,
        dry_run: bool = False,
        limit: int | None = None,
        reason: str | None = None,
    ) -> list[SweepLine]:
        """`erase_personal` for every closed programme past its retention period,
        oldest first, one transaction each (the programmes' part of `privacy sweep`)."""
        now = now or utc_now()
        require_admin(admin)
        due = self.due_for_erasure(retention_years, now=now, limit=limit)
        return sweep_lines(
            due,
            dry_run,
            lambda programme_id: self.erase_personal(
                programme_id, admin, retention_years=retention_years, now=now, reason=reason
            ),
        )


def _lists_due(programme_id: str, payload: dict[str, Any], at: datetime) -> ListsDue:
    return ListsDue(
        programme_id=programme_id,
        lists_due_on=date.fromisoformat(payload["lists_due_on"]),
        recorded_at=at.astimezone(UTC),
        overdue_districts=payload["overdue_districts"],
        districts=[DistrictAtDeadline.model_validate(d) for d in payload["districts"]],
    )


def _aad(programme_id: str, digest: str) -> str:
    """What a recipient's sealed fields are bound to: no swapping rows."""
    return f"{programme_id}/{digest}"


def _idempotency_key(programme_id: str, digest: str) -> str:
    """The bank's key for one payee of one run (docs/batch-runs.md)."""
    return f"{programme_id}:{digest}"


def _recipient(
    data_key: bytes, list_id: str, district: str, row: Row, digest: str
) -> dict[str, Any]:
    """An accepted row as `programme_recipients` keeps it (`programme_id` set by the caller)."""
    programme_id = list_id.split("-L", 1)[0]
    sealed = seal_fields(
        data_key,
        _aad(programme_id, digest),
        {"id_number": row.id_number, "bank_account": row.bank_account},
    )
    return {
        "list_id": list_id,
        "district": district,
        "union_name": row.union,
        "line": row.line,
        "person_digest": digest,
        "name": row.name,
        "id_masked": mask(row.id_number),
        "sealed": json.dumps({k: v.model_dump() for k, v in sealed.items()}),
        "category": row.category.value,
        "amount_fen": row.amount_fen,
        "status": "listed",
        "attempts": 0,
    }


def _list_summary(r: Any) -> ListSummary:
    return ListSummary(
        list_id=r.list_id,
        programme_id=r.programme_id,
        district=r.district,
        union_name=r.union_name,
        submitted_by=r.submitted_by,
        rows=r.rows,
        accepted=r.accepted,
        failed=r.failed,
        total_fen=r.total_fen,
        status=r.status,
        failures=[RowFailure.model_validate(f) for f in json.loads(r.failures)],
        review_comment=r.review_comment,
    )
