"""Every case type casework runs. Adding a type: a domain module that describes it with
a `CaseType` (casework.domain.case_type) and its process (its own verbs, refusal codes
and words included), its workflow, and one line here; every edge reads this list
(tests/test_registry.py fails for an edge that misses a type)."""

from __future__ import annotations

from casework.domain.audit import AUDIT
from casework.domain.case import Action
from casework.domain.case_type import CaseType, UnknownAction, UnknownCaseType
from casework.domain.hardship import HARDSHIP
from casework.domain.intake import Intake
from casework.domain.legal_aid import LEGAL_AID
from casework.domain.nomination import NOMINATION
from casework.domain.refund import REFUND_INTAKE
from casework.domain.refund_review import REFUND_REVIEW
from casework.domain.reverification import REVERIFICATION

CASE_TYPES: dict[str, CaseType] = {
    t.name: t for t in (HARDSHIP, LEGAL_AID, AUDIT, REVERIFICATION, NOMINATION, REFUND_REVIEW)
}

INTAKES: dict[str, Intake] = {i.name: i for i in (REFUND_INTAKE,)}
"""Applications that are rows of a volume run, not cases (`case open refund`): the
edges take them as they take a case type's application, and hand them to the intake's
receiver; only the run's exceptions become cases. A name is a case type or an intake,
never both."""
assert not set(INTAKES) & set(CASE_TYPES)

ACTION_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(
        [str(a) for a in Action] + [v for t in CASE_TYPES.values() for v in t.own_actions]
    )
)
"""Every verb there is: the shared ones (`Action`), then every type's own, as listed."""


def known_action(name: str) -> Action | str:
    """The shared verb `name` as its `Action`, or a registered type's own verb as it is;
    UnknownAction (a refusal naming the field `action` and the verbs there are)
    otherwise. Whether the case's process has it is `decide`'s to say."""
    try:
        return Action(name)
    except ValueError:
        pass
    if name not in ACTION_NAMES:
        raise UnknownAction(name, ACTION_NAMES)
    return name


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
