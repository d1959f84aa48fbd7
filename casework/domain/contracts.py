"""Activity names and their inputs/outputs: the only part of `activities/` workflows see."""

from __future__ import annotations

from pydantic import BaseModel

from casework.domain.events import NewEvent

RECORD_EVENTS = "record_events"
CHECK_CIVIL_AFFAIRS = "check_civil_affairs"
DISBURSE = "disburse"
PROCESS_CONFIG = "process_config"

FUNDS_UNAVAILABLE = "FundsUnavailable"
CONCURRENCY_CONFLICT = "ConcurrencyConflict"
ACCOUNT_REJECTED = "AccountRejected"
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
