"""Tables: the event log, the read models projected from it, and reference data.

Alembic migrations (casework/store/migrations) own the schema; this module is the
SQLAlchemy Core description both the migrations and the queries use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite stores them naive (always UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; casework stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Position = BigInteger().with_variant(Integer(), "sqlite")

# Partial indexes behind the supervisor's views (casework.store.supervision). Their
# predicates are literal SQL, and the queries repeat them word for word: SQLite (and a
# generic PostgreSQL plan) only uses a partial index whose predicate the query's WHERE
# visibly implies.
OPEN_TASK_SQL = "status IN ('open', 'waiting_info')"
"""A task someone still has to work on (case_tasks)."""
RUNNING_CLOCK_SQL = f"{OPEN_TASK_SQL} AND paused = 0"
"""An open task whose clock runs: it can fall due."""
ESCALATED_SQL = f"{OPEN_TASK_SQL} AND escalated = 1"
HAS_TASK_SQL = "task_role IS NOT NULL"
"""A case with an open human task (cases; closed cases have none)."""
ON_REGISTER_SQL = "exited_at IS NULL"
"""A household still on the register (households)."""
LISTED_DEADLINE_SQL = "listed_from IS NOT NULL"
"""A case deadline supervisors may have to see: running or passed, in an open case."""
AWAITING_FUNDS_SQL = "stage = 'awaiting_funds'"
"""A case waiting for its district's fund to be topped up (casework.domain.funds): a
literal, so that SQLite sees a query's predicate imply the partial index's."""
ACTIVE_DEADLINE_SQL = "active = 1"
"""A case deadline someone still minds: running, suspended or passed, in an open case."""


def _partial(name: str, predicate: str, *columns: str, **kw: Any) -> Index:
    where = text(predicate)
    return Index(name, *columns, sqlite_where=where, postgresql_where=where, **kw)


case_events = Table(
    "case_events",
    metadata,
    # A single-writer SQLite makes rowid order commit order; PostgreSQL appends take
    # an EXCLUSIVE table lock, so there too positions follow commit order.
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("case_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("case_id", "seq"),
    UniqueConstraint("event_id"),
    sqlite_autoincrement=True,
)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(32), primary_key=True),
    Column("case_type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16)),
    Column("stage", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("applicant_name", String(50)),
    Column("amount_fen", BigInteger),
    Column("task_role", String(32)),
    Column("task_district", String(32)),
    Column("assignee", String(64)),
    Column("due_at", UTCDateTime),
    Column("waiting_info", Integer, nullable=False, default=0),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_reason", Text),
    Column("last_seq", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Index(None, "status", "district", "stage"),
    Index(None, "case_type", "status"),
    # GET /api/cases: the cases of a district and/or status in case-id order
    Index(None, "district", "case_id"),
    Index(None, "status", "case_id"),
    Index(None, "status", "district", "case_id"),
    # stuck --idle-days: open tasks by last event, city-wide and per queue
    _partial("ix_cases_task_idle", HAS_TASK_SQL, "updated_at", "case_id"),
    _partial("ix_cases_task_idle_queue", HAS_TASK_SQL, "task_district", "updated_at", "case_id"),
    # stuck: the cases waiting for their fund (few), beside the tasks on every call
    _partial("ix_cases_awaiting_funds", AWAITING_FUNDS_SQL, "updated_at", "case_id"),
)

case_tasks = Table(
    "case_tasks",
    metadata,
    Column("task_id", String(36), primary_key=True),
    Column("case_id", String(32), nullable=False),
    Column("case_type", String(32), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("role", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("assignee", String(64)),
    Column("status", String(16), nullable=False),  # open | waiting_info | done | cancelled
    Column("outcome", String(16)),  # approved | rejected | returned | cancelled
    Column("closed_by", String(64)),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("paused", Integer, nullable=False, default=0, server_default="0"),
    Column("overdue", Integer, nullable=False, default=0, server_default="0"),
    Column("escalated", Integer, nullable=False, default=0, server_default="0"),
    Index(None, "status", "role", "district", "due_at"),
    Index(None, "assignee", "status"),
    Index(None, "case_id"),
    # stuck: running clocks by deadline, city-wide and per queue
    _partial("ix_case_tasks_clock", RUNNING_CLOCK_SQL, "due_at", "case_id"),
    _partial("ix_case_tasks_clock_queue", RUNNING_CLOCK_SQL, "district", "due_at", "case_id"),
    # board, per queue and stage: open tasks in age order (each group's middle tasks,
    # looked up inside one day), past due, escalated. The predicate's columns ride
    # along so that SQLite answers from the index alone (it checks them again). The
    # included columns served PostgreSQL's earlier grouped pass over every open task.
    _partial(
        "ix_case_tasks_open_age",
        OPEN_TASK_SQL,
        "district",
        "stage",
        "opened_at",
        "status",
        postgresql_include=["due_at", "paused", "escalated"],
    ),
    _partial(
        "ix_case_tasks_clock_stage",
        RUNNING_CLOCK_SQL,
        "district",
        "stage",
        "due_at",
        "status",
        "paused",
    ),
    _partial("ix_case_tasks_escalated", ESCALATED_SQL, "district", "stage", "status", "escalated"),
)

relief_fund_ledger = Table(
    "relief_fund_ledger",
    metadata,
    Column("case_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("district", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("entry", String(16), nullable=False),  # reserved | released | disbursed
    Column("amount_fen", BigInteger, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("case_id", "seq"),
    Index(None, "district", "year"),
)

notifications = Table(
    "notifications",
    metadata,
    # The outbox people read (inbox banners, supervisor queue); delivery channels such
    # as SMS are out of scope. Written with the event that causes it.
    Column("case_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("recipient", String(64), nullable=False),  # a user id, or role@district
    Column("kind", String(32), nullable=False),  # task.overdue | task.escalated
    Column("message", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("case_id", "seq", "recipient"),
    Index(None, "recipient", "created_at"),
)

open_task_days = Table(
    "open_task_days",
    metadata,
    # How many open tasks each queue and stage holds, by the UTC day they opened:
    # the supervisor's board reads these few rows instead of every open task, and
    # finds each group's median age inside one day's stretch of the age index.
    # A day whose count falls to zero is deleted (a rebuild writes no zero rows).
    Column("district", String(32), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("day", String(10), nullable=False),  # YYYY-MM-DD, UTC
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("district", "stage", "day"),
)

households = Table(
    "households",
    metadata,
    # The household register (建档): one row per household a hardship case filed
    # (`household.filed`), keyed by that case, until it leaves (`household.exited`,
    # appended to the same case's stream). casework.domain.register.
    Column("case_id", String(32), primary_key=True),
    Column("district", String(32), nullable=False),
    Column("applicant_name", String(50)),
    Column("category", String(16)),
    Column("national_ref", String(100)),
    Column("filed_at", UTCDateTime, nullable=False),
    Column("filed_by", String(64), nullable=False),
    Column("exited_at", UTCDateTime),
    Column("exit_kind", String(16)),  # income | annual_review
    Column("exit_reason", Text),
    Column("exited_by", String(64)),
    # households list: a district's files in case-id order; the annual review (and the
    # retention sweep) walk those still on the register.
    Index(None, "district", "case_id"),
    _partial("ix_households_on_register", ON_REGISTER_SQL, "district", "case_id"),
)


case_deadlines = Table(
    "case_deadlines",
    metadata,
    # The named deadlines of cases (casework.domain.deadlines), one row each, as the
    # case's state has them after their last event: what `stuck` and `board` list
    # beside task deadlines.
    Column("case_id", String(32), nullable=False),
    Column("name", String(32), nullable=False),
    Column("case_type", String(32), nullable=False),
    Column("district", String(32), nullable=False),  # the case's: whose supervisors see it
    Column("label_zh", String(100), nullable=False),
    Column("label_en", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # running|suspended|passed|met|cleared
    Column("active", Integer, nullable=False, default=0, server_default="0"),
    Column("due_at", UTCDateTime, nullable=False),
    # From when supervisors see it (its first warning, or passed): running or passed in
    # an open case; NULL otherwise (suspended, met, cleared, the case closed).
    Column("listed_from", UTCDateTime),
    Column("warned_days_before", Integer),
    Column("escalated", Integer, nullable=False, default=0, server_default="0"),
    Column("set_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("case_id", "name"),
    # stuck: deadlines listed as of a moment, city-wide and per district
    _partial("ix_case_deadlines_listed", LISTED_DEADLINE_SQL, "listed_from", "case_id"),
    _partial(
        "ix_case_deadlines_listed_queue",
        LISTED_DEADLINE_SQL,
        "district",
        "listed_from",
        "case_id",
    ),
    # board: the active deadlines per district and name
    _partial("ix_case_deadlines_active", ACTIVE_DEADLINE_SQL, "district", "name"),
)

relief_fund_budgets = Table(
    "relief_fund_budgets",
    metadata,
    # Each district's relief fund for a year: the projection of the movements on the
    # year's funds ledger stream (`FD-YYYY`, casework.store.funds).
    Column("district", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("budget_fen", BigInteger, nullable=False),
    PrimaryKeyConstraint("district", "year"),
)

PROJECTION_TABLES = (
    cases,
    case_tasks,
    relief_fund_ledger,
    notifications,
    open_task_days,
    households,
    case_deadlines,
    relief_fund_budgets,
)

case_keys = Table(
    "case_keys",
    metadata,
    # Each case's data key, wrapped (AES-GCM) by the master key `master_key_id`. The
    # personal fields of the case are encrypted with it in the event log and in Temporal
    # history. Erasing the case's personal data sets `wrapped_key` to NULL: the fields
    # stay in the log as ciphertext nobody can open (casework.store.personal).
    Column("case_id", String(32), primary_key=True),
    Column("master_key_id", String(64), nullable=False),
    Column("wrapped_key", String(128)),
    Column("legacy_personal", Text),
    # Sealed personal fields of cases opened before they went into the event log
    # (migration 0004 moved them here, encrypted, from the clear-text claim-check table).
    Column("created_at", UTCDateTime, nullable=False),
    Column("erased_at", UTCDateTime),
)

case_requests = Table(
    "case_requests",
    metadata,
    # Openings sent with an idempotency key: the case each key opened, so that sending
    # the same opening again (a timeout, a lost answer) finds that case instead of
    # opening a second one. `fingerprint`: sha256 of what was asked (the type, the
    # opener and the application with its personal fields masked), to refuse a key
    # reused for another application.
    Column("idempotency_key", String(200), primary_key=True),
    Column("case_id", String(32), nullable=False, unique=True),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

case_sequences = Table(
    "case_sequences",
    metadata,
    Column("prefix", String(8), nullable=False),
    Column("year", Integer, nullable=False),
    Column("last_value", Integer, nullable=False),
    PrimaryKeyConstraint("prefix", "year"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("roles", Text, nullable=False),  # JSON list of role names
    Column("district", String(32), nullable=False),
    # 联审 vetting officers: the department they answer for (casework.domain.award's
    # VettingDepartment); NULL for everyone else.
    Column("department", String(32)),
    # Argon2id hash (argon2-cffi's encoded form); NULL: no password sign-in (a user who
    # signs in through the federation's OIDC provider or a trusted proxy only).
    Column("password_hash", Text),
    # Set when an administrator disables the user: every session and token of theirs
    # stops working at once, and the worker refuses actions in their name.
    Column("disabled_at", UTCDateTime),
    Column("password_changed_at", UTCDateTime),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    # Browser sign-ins. The cookie holds a random id; only its sha256 is stored, so a
    # copy of this table signs nobody in. `csrf_token` goes into every form of the
    # session and is compared on every POST.
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("via", String(16), nullable=False),  # password | oidc | proxy
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("address", String(64)),
    Index(None, "user_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    # Personal access tokens for the HTTP API (`Authorization: Bearer cw_<id>_<secret>`).
    # The secret is 256 random bits; only its sha256 is stored.
    Column("id", String(16), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Index(None, "user_id"),
)

sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    # Failed sign-ins in the recent window, per account and per address: the rate limit
    # counts them here so that every API process sees the same count.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(128), nullable=False),  # user:<id> | address:<ip>
    Column("at", UTCDateTime, nullable=False),
    Index(None, "subject", "at"),
)

oidc_logins = Table(
    "oidc_logins",
    metadata,
    # Sign-ins through the federation's OIDC provider that have left for the provider
    # and not come back yet: state, nonce and the PKCE verifier, used once.
    Column("state", String(64), primary_key=True),
    Column("nonce", String(64), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

applicant_identities = Table(
    "applicant_identities",
    metadata,
    # One person, one hardship file: a keyed hash (HMAC-SHA256, key derived from master
    # key `key_id`) of each hardship applicant's normalised ID number, written at intake,
    # so that an opening finds the person's open application or file without the ID
    # number in clear (casework.store.identities). Deleted with the case's personal
    # data (erasure) or its registration (discard).
    Column("case_id", String(32), primary_key=True),
    Column("key_id", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "digest"),
)

# -- Runs at volume: programmes, the annual register review, the year-end report ------
# (docs/batch-runs.md). Each run is a stream of its own in `case_events` (programme
# `PG-YYYY-NNNNNN`, annual review `AR-YYYY`), whose events record every batch; these
# tables are the run's records, written in the same transaction as the batch's event.
# They are not projections: `projections rebuild` leaves them as they are.

programmes = Table(
    "programmes",
    metadata,
    # A relief programme (送温暖, 夏季安康"三送"), processes.md 1b. `spec`: the opened
    # ProgrammeSpec as JSON. Its personal fields (recipients' ID numbers and bank
    # accounts) are sealed with the programme's own data key (`case_keys`, keyed by
    # `programme_id`), so erasing them is destroying one key.
    Column("programme_id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("year", Integer, nullable=False),
    Column("spec", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Index(None, "year", "kind"),
)

programme_lists = Table(
    "programme_lists",
    metadata,
    # One union's submitted list (名单上报) and what became of it: checked on
    # submission, approved or returned by the district. `failures`: JSON list of
    # {line, field, code, message}, no personal data.
    Column("list_id", String(40), primary_key=True),
    Column("programme_id", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("union_name", String(100), nullable=False),
    Column("submitted_by", String(64), nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("accepted", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("failures", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reviewed_by", String(64)),
    Column("reviewed_at", UTCDateTime),
    Column("review_comment", Text),
    Index(None, "programme_id", "district"),
)

programme_recipients = Table(
    "programme_recipients",
    metadata,
    # Every accepted row of a list: one person, one row per programme, across all
    # unions (the unique key on the keyed hash of the ID number, casework.privacy.lookup).
    # `sealed`: the ID number and bank account (SealedFields JSON) under the programme's
    # data key. `status`: listed (its list awaits review) | approved (to pay) | paid |
    # failed (listed for the union to correct) | withdrawn (its list was returned).
    Column("recipient_id", Position, primary_key=True, autoincrement=True),
    Column("programme_id", String(32), nullable=False),
    Column("list_id", String(40), nullable=False),
    Column("district", String(32), nullable=False),
    Column("union_name", String(100), nullable=False),
    Column("line", Integer, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("person_digest", String(64), nullable=False),
    Column("name", String(50), nullable=False),
    Column("id_masked", String(32), nullable=False),
    Column("sealed", Text, nullable=False),
    Column("category", String(16), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("transfer_ref", String(64)),
    Column("failure", String(200)),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("programme_id", "person_digest"),
    Index(None, "programme_id", "status", "recipient_id"),
    Index(None, "list_id"),
    sqlite_autoincrement=True,
)

payments = Table(
    "payments",
    metadata,
    # Money paid by a run at volume, one row per payee and run: the primary key is the
    # store's promise that nobody is paid twice by one programme (`run_id` the
    # programme id, `payee_key` the recipient's person digest) or, later, one year's
    # dues refunds (the firm's credit code). Inserted in the batch's transaction, with
    # the bank's idempotency key the bank saw; `seq` is the batch event on the run's
    # stream that recorded it.
    Column("run_id", String(32), nullable=False),
    Column("payee_key", String(64), nullable=False),
    Column("source", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("idempotency_key", String(100), nullable=False),
    Column("transfer_ref", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("run_id", "payee_key"),
    Index(None, "year", "source", "district"),
)

register_reviews = Table(
    "register_reviews",
    metadata,
    # The annual review (年度复核) of one household on the register, one row per year
    # and file: renewed | exit_proposed | reverify, the reason's codes (no personal
    # data), whether it was drawn for a spot-check home visit, and the case opened to
    # follow it up (re-verification or spot check). `resolution`: what became of an
    # exit proposal or a re-verification (null while open).
    Column("year", Integer, nullable=False),
    Column("case_id", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("reasons", Text, nullable=False),
    Column("spot_check", Integer, nullable=False, server_default="0"),
    Column("follow_up_case_id", String(32)),
    Column("resolution", String(16)),
    Column("seq", Integer, nullable=False),
    Column("reviewed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("year", "case_id"),
    Index(None, "year", "outcome", "district"),
)

annual_reports = Table(
    "annual_reports",
    metadata,
    # The year-end report (`casework report annual`), stored by its scheduled run and
    # readable later: the figures (JSON) and the Markdown in the report's own words.
    Column("year", Integer, primary_key=True),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("computed_by", String(64), nullable=False),
    Column("figures", Text, nullable=False),
    Column("markdown", Text, nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    # An award campaign (评选活动, processes.md section 3): one award in one year. `spec`:
    # the opened CampaignSpec as JSON. `places`: the award's places all districts share
    # (at most the sum of the quotas); `forwarded`: how many of them are taken. Both
    # counters move only by a conditional update (casework.store.campaigns.forward).
    Column("campaign_id", String(32), primary_key=True),
    Column("award", String(32), nullable=False),
    Column("year", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("spec", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("places", Integer, nullable=False),
    Column("forwarded", Integer, nullable=False, server_default="0"),
    Column("opened_by", String(64), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Index(None, "year", "award"),
)

campaign_quotas = Table(
    "campaign_quotas",
    metadata,
    # A district's quota (名额) in a campaign and how many it has forwarded.
    Column("campaign_id", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("quota", Integer, nullable=False),
    Column("forwarded", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("campaign_id", "district"),
)

campaign_nominations = Table(
    "campaign_nominations",
    metadata,
    # One row per nomination case. Inserted, and its stage and outcome kept, by the
    # nomination case's projection in its append's transaction; `forwarded_at` and the
    # vote's columns are written by the campaign's own steps (the forward, the vote) in
    # theirs. The nominee's name and unit are public (the honour list); the categories
    # are what the ratio rules count. No ID number.
    Column("case_id", String(32), primary_key=True),
    Column("campaign_id", String(32), nullable=False),
    Column("district", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("unit", String(100), nullable=False),
    Column("frontline_or_technical", Integer, nullable=False, server_default="0"),
    Column("enterprise_head", Integer, nullable=False, server_default="0"),
    Column("industrial_worker", Integer, nullable=False, server_default="0"),
    Column("migrant_worker", Integer, nullable=False, server_default="0"),
    Column("non_public_enterprise", Integer, nullable=False, server_default="0"),
    Column("stage", String(32), nullable=False),
    Column("outcome", String(16)),
    Column("outcome_reason", Text),
    Column("forwarded_at", UTCDateTime),
    Column("forward_seq", Integer),
    Column("votes_for", Integer),
    Column("vote_passed", Integer),
    Column("vote_message", Text),
    Column("vote_seq", Integer),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "campaign_id", "district", "stage"),
)

dues_payment_records = Table(
    "dues_payment_records",
    metadata,
    # A district's dues payment file (工会经费缴纳记录), one row per year and firm (its
    # unified social credit code): what the firm's union paid that year, the union's own
    # account sealed under the year's data key (`case_keys`, keyed `RD-YYYY`) and masked.
    Column("year", Integer, nullable=False),
    Column("credit_code", String(18), nullable=False),
    Column("firm", String(100), nullable=False),
    Column("district", String(32), nullable=False),
    Column("account_masked", String(40)),
    Column("sealed", Text),
    Column("dues_fen", BigInteger, nullable=False),
    Column("period", String(16), nullable=False),
    Column("line", Integer, nullable=False),
    Column("imported_by", String(64), nullable=False),
    Column("imported_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("year", "credit_code"),
    CheckConstraint("dues_fen > 0", name="ck_dues_payment_records_dues_positive"),
)

refund_applications = Table(
    "refund_applications",
    metadata,
    # One firm union's application for a year's refund (not a case): `status` received
    # (to match) | paid | exception (a review case: `review_case_id`, `reasons` the
    # exception codes) | failed (the bank refused the account). Firm data only.
    Column("application_no", Position, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("credit_code", String(18), nullable=False),
    Column("firm", String(100), nullable=False),
    Column("district", String(32), nullable=False),
    Column("claimed_fen", BigInteger, nullable=False),
    Column("employees", Integer, nullable=False),
    Column("small_scale", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reasons", String(200), nullable=False, server_default=""),
    Column("refund_fen", BigInteger),
    Column("transfer_ref", String(64)),
    Column("review_case_id", String(32)),
    Column("received_by", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "year", "status", "application_no"),
    Index(None, "year", "credit_code"),
    sqlite_autoincrement=True,
)

dues_refunds = Table(
    "dues_refunds",
    metadata,
    # A refund paid (返还): at most one per year and firm (the primary key), never above
    # the dues the payment record says were paid (the CHECK, with `dues_fen` copied from
    # that record by the insert itself). Written in the run's batch transaction beside
    # its `payments` row.
    Column("year", Integer, nullable=False),
    Column("credit_code", String(18), nullable=False),
    Column("application_no", Position, nullable=False),
    Column("district", String(32), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("dues_fen", BigInteger, nullable=False),
    Column("transfer_ref", String(64), nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("year", "credit_code"),
    UniqueConstraint("application_no"),
    CheckConstraint(
        "amount_fen > 0 AND amount_fen <= dues_fen", name="ck_dues_refunds_within_dues"
    ),
)
