"""The civil-affairs (民政) records check of a household's reported income.

The data exchange identifies a household by the applicant's ID number. The workflow
sends only the case id and the household figures; the ID number is decrypted here,
from the case's sealed fields, for the registry alone: it enters neither Temporal
history nor any log line.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from casework.domain.contracts import (
    CHECK_CIVIL_AFFAIRS,
    CIVIL_AFFAIRS_UNAVAILABLE,
    NO_IDENTITY,
    CivilAffairsAnswer,
    CivilAffairsQuery,
)
from casework.store.personal import PersonalData, PersonalDataErased


@dataclass(frozen=True)
class CivilAffairsRequest:
    """What the registry is asked: the household, identified by the applicant's ID."""

    case_id: str
    district: str
    id_number: str
    household_size: int
    monthly_income_fen: int
    income_per_head_fen: int | None = None

    def __repr__(self) -> str:  # never the number in clear, whoever prints a request
        return f"CivilAffairsRequest(case_id={self.case_id!r}, district={self.district!r})"


class RegistryUnavailable(Exception):
    """The data exchange did not answer now; asking again later may succeed."""


class CivilAffairsRegistry(Protocol):
    """What a real integration with the civil-affairs data exchange implements."""

    def check(self, request: CivilAffairsRequest) -> CivilAffairsAnswer: ...


class FakeCivilAffairs:
    """Stand-in registry: matches every household except the case ids it is told about;
    never answers for the case ids in `unanswered_cases`. Remembers what it was asked."""

    def __init__(self, mismatched_cases: set[str] | None = None) -> None:
        self.mismatched_cases = mismatched_cases if mismatched_cases is not None else set()
        self.unanswered_cases: set[str] = set()
        self.asked: list[CivilAffairsRequest] = []
        self._lock = threading.Lock()

    def check(self, request: CivilAffairsRequest) -> CivilAffairsAnswer:
        with self._lock:
            self.asked.append(request)
        if request.case_id in self.unanswered_cases:
            raise RegistryUnavailable(
                "民政数据交换平台无响应 (civil-affairs exchange not answering)"
            )
        if request.case_id in self.mismatched_cases:
            return CivilAffairsAnswer(match=False, detail="民政记录的家庭收入与申报不一致")
        return CivilAffairsAnswer(match=True, detail="民政记录与申报一致")


class CivilAffairsCheck:
    def __init__(self, registry: CivilAffairsRegistry, personal: PersonalData) -> None:
        self.registry = registry
        self.personal = personal

    @activity.defn(name=CHECK_CIVIL_AFFAIRS)
    def check_civil_affairs(self, query: CivilAffairsQuery) -> CivilAffairsAnswer:
        try:
            id_number = self.personal.id_number(query.case_id)
        except PersonalDataErased:
            id_number = None
        if id_number is None:
            raise ApplicationError(
                "申请人身份证号无记录，无法核对 (no ID number on file: nothing to check against)",
                type=NO_IDENTITY,
                non_retryable=True,
                category=ApplicationErrorCategory.BENIGN,  # expected: one log line
            )
        request = CivilAffairsRequest(
            case_id=query.case_id,
            district=query.district,
            id_number=id_number,
            household_size=query.household_size,
            monthly_income_fen=query.monthly_income_fen,
            income_per_head_fen=query.income_per_head_fen,
        )
        try:
            return self.registry.check(request)
        except RegistryUnavailable as exc:  # retried until the case's deadline for it
            raise ApplicationError(str(exc), type=CIVIL_AFFAIRS_UNAVAILABLE) from None
