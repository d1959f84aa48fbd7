"""The civil-affairs (民政) records check of a household's reported income."""

from __future__ import annotations

from typing import Protocol

from temporalio import activity

from casework.domain.contracts import CHECK_CIVIL_AFFAIRS, CivilAffairsAnswer, CivilAffairsQuery


class CivilAffairsRegistry(Protocol):
    """What a real integration with the civil-affairs data exchange implements."""

    def check(self, query: CivilAffairsQuery) -> CivilAffairsAnswer: ...


class FakeCivilAffairs:
    """Stand-in registry: matches every household except the case ids it is told about."""

    def __init__(self, mismatched_cases: set[str] | None = None) -> None:
        self.mismatched_cases = mismatched_cases if mismatched_cases is not None else set()

    def check(self, query: CivilAffairsQuery) -> CivilAffairsAnswer:
        if query.case_id in self.mismatched_cases:
            return CivilAffairsAnswer(match=False, detail="民政记录的家庭收入与申报不一致")
        return CivilAffairsAnswer(match=True, detail="民政记录与申报一致")


class CivilAffairsCheck:
    def __init__(self, registry: CivilAffairsRegistry) -> None:
        self.registry = registry

    @activity.defn(name=CHECK_CIVIL_AFFAIRS)
    def check_civil_affairs(self, query: CivilAffairsQuery) -> CivilAffairsAnswer:
        return self.registry.check(query)
