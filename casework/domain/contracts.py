"""Activity names and their inputs/outputs: the only part of `activities/` workflows see."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from casework.domain.eligibility import EligibilityRules
from casework.domain.events import NewEvent
from casework.domain.org import Actor
from casework.domain.register import ExitRequest

RECORD_EVENTS = "record_events"
CHECK_CIVIL_AFFAIRS = "check_civil_affairs"
DISBURSE = "disburse"
PROCESS_CONFIG = "process_config"
RECORD_HOUSEHOLD_EXIT = "record_household_exit"
DRAW_AUDIT_SAMPLE = "draw_audit_sample"
"""An audit's sample of closed hardship cases, drawn and checked (input
`casework.domain.audit_sample.SampleQuery`, answer `SampleDraw`)."""

FUNDS_UNAVAILABLE = "FundsUnavailable"
CONCURRENCY_CONFLICT = "ConcurrencyConflict"
ACCOUNT_REJECTED = "AccountRejected"
ACTOR_REFUSED = "ActorRefused"
"""record_events refused: an actor the events name does not match the directory
(details: {"code": unknown_actor | actor_disabled | actor_mismatch, "field"})."""
NO_IDENTITY = "NoIdentityOnFile"
CIVIL_AFFAIRS_UNAVAILABLE = "CivilAffairsUnavailable"


class FundReservation(BaseModel):
    district: str
    year: int
    amount_fen: int


class RecordEvents(BaseModel):
    case_id: str
    expected_seq: int
    events: list[NewEvent]
    fund_check: FundReservation | None = None
    actor: Actor | None = None
    """The person whose action (or opening) these events record, as the Update or the
    workflow's start claimed them: checked against the directory in the append's
    transaction. None for the workflow's own events (timers, checks, payments)."""
    named: dict[str, Actor] = Field(default_factory=dict)
    """Other people the request names, by the field that names them (a reassignment's
    `data.to`): checked the same way."""


class Recorded(BaseModel):
    last_seq: int
    last_position: int
    stored: list[NewEvent] | None = None
    """Set when the log already held these decisions as first made (a retried workflow
    task re-decided them at a later time): the workflow adopts the stored version."""


class CivilAffairsQuery(BaseModel):
    """What the workflow asks the civil-affairs (民政) records check about: the case and
    its household figures, nothing identifying. The activity adds the applicant's ID
    number, decrypted there from the case's sealed fields."""

    case_id: str
    district: str
    household_size: int
    monthly_income_fen: int
    """As declared by cases opened before eligibility was computed; 0 since."""
    income_per_head_fen: int | None = None
    """Monthly income per head as the case computed it (None in older cases)."""


class CivilAffairsAnswer(BaseModel):
    match: bool
    detail: str


class DisburseRequest(BaseModel):
    case_id: str
    district: str
    amount_fen: int
    idempotency_key: str


class DisburseResult(BaseModel):
    transfer_ref: str


class RecordHouseholdExit(BaseModel):
    """`record_household_exit`: take a household off the register (append its
    `household.exited` to the filing case's stream), if the rules and the directory
    allow it at `reported_at`. Refusals fail for good, typed by their code, with
    details {"code", "field"}."""

    case_id: str
    actor: Actor
    request: ExitRequest
    rules: EligibilityRules
    reported_at: datetime
    event_id: str


DOCTOR_REPORT = "doctor_report"


class DoctorReport(BaseModel):
    """`doctor_report`: the scheduled, report-only doctor's outcome: how many open cases
    it looked at and how many findings of each kind (`casework.doctor.Finding.kind`)."""

    open_cases: int
    findings: dict[str, int] = Field(default_factory=dict)


PRIVACY_DUE_REPORT = "privacy_due_report"


class PrivacyDueReport(BaseModel):
    """`privacy_due_report`: the scheduled, report-only retention check's outcome: how
    many closed cases (by case type) and relief programmes are past their retention
    period with their personal data still readable. Erasing stays an administrator's
    act (`casework privacy sweep`)."""

    cases: dict[str, int] = Field(default_factory=dict)
    programmes: int = 0
