"""Every case type casework runs. Adding a type: a domain module that describes it with
a `CaseType` (casework.domain.case_type), its workflow, and one line here; every edge
reads this list (tests/test_registry.py fails for an edge that misses a type)."""

from __future__ import annotations

from casework.domain.audit import AUDIT
from casework.domain.case_type import CaseType, UnknownCaseType
from casework.domain.hardship import HARDSHIP
from casework.domain.legal_aid import LEGAL_AID

CASE_TYPES: dict[str, CaseType] = {t.name: t for t in (HARDSHIP, LEGAL_AID, AUDIT)}


def case_type(name: str) -> CaseType:
    """The case type called `name`; UnknownCaseType (a refusal naming the field
    `case_type` and the types there are) otherwise."""
    found = CASE_TYPES.get(name)
    if found is None:
        raise UnknownCaseType(name, list(CASE_TYPES))
    return found


def by_config_key(key: str) -> CaseType:
    for t in CASE_TYPES.values():
        if t.config_key == key or t.name == key:
            return t
    raise UnknownCaseType(key, list(CASE_TYPES))
