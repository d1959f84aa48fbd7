"""What a case type is: everything the edges need to know about a process, in one value.

A process module (casework/domain/hardship.py, legal_aid.py, ...) describes itself with
a `CaseType`; `casework.domain.registry` lists them; the CLI (`case open TYPE`), the
service, the API (`POST /api/cases/{type}`), the web (an open-case form per type), the
projections, supervision, privacy, configuration and the worker read the registry and
nothing else about a type. Pure: safe to import inside workflows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from pydantic import BaseModel

from casework.domain.case import Action, CaseState, Process, Refused
from casework.domain.events import JsonDict
from casework.domain.org import Actor, Role
from casework.domain.personal import SealedFields

Pair = tuple[str, str]
"""(中文, English)."""


class Application(Protocol):
    """What an application file of any case type offers the edges."""

    def case_district(self) -> str:
        """The district whose officers handle the case (its jurisdiction)."""
        ...

    def masked(self) -> BaseModel:
        """What may enter Temporal history and the event store: no clear personal data."""
        ...

    def personal_fields(self) -> dict[str, str | None]:
        """The fields kept only encrypted with the case's data key."""
        ...

    def identity(self) -> str | None:
        """The applicant's ID number, for types where one person may hold one
        application or file at a time (None otherwise)."""
        ...


class ProcessSettings(Protocol):
    """What every case type's configuration section has."""

    retention_years: int


@dataclass(frozen=True)
class CaseType:
    name: str
    """As typed and sent: `hardship`, `legal-aid` (the CLI argument, the API path, the
    `case_type` of its events)."""
    prefix: str
    """Case numbers: `HR-2026-000123`."""
    label: Pair
    config_key: str
    """Its section of the configuration file (`[hardship]`, `[legal_aid]`)."""
    config_model: type[BaseModel]
    process: Callable[[Any], Process]
    """The process object for a configuration (a fresh one per case workflow)."""
    application_model: type[BaseModel]
    """Validates the application file; instances implement `Application`."""
    application_example: JsonDict
    workflow_name: str
    """The Temporal workflow type that runs a case."""
    workflow_class: str
    """`module:Class` of the workflow, which the worker imports (domain code never
    imports workflows)."""
    start_input: Callable[[str, Actor, Any, SealedFields | None], BaseModel]
    """The workflow's input from (case id, opener, masked application, sealed fields)."""
    check_opener: Callable[[Actor, Any], None]
    """Refused unless `actor` may open this application (role, jurisdiction)."""
    opener_role: Role
    who_sees: Mapping[str, frozenset[Role]]
    """Personal field -> the roles whose work on this type needs it in clear."""
    stage_labels: Mapping[str, Pair]
    event_labels: Mapping[str, Pair] = field(default_factory=dict)
    """Words for the events only this process records (the shared ones are the web's)."""
    amount_fact: str | None = None
    """The fact holding the case's money figure, for lists and the `cases` row."""
    one_file_per_person: bool = False
    """Whether a person may hold only one open application or file of this type."""
    choices: Mapping[str, Mapping[str, Pair]] = field(default_factory=dict)
    """Words for the values of its application's choice fields, by field name (the
    open-case form's selects): legal aid's stations by id; and of its action data's
    choice fields (a step's `kind`, a closing report's `result`)."""
    action_labels: Mapping[str, Pair] = field(default_factory=dict)
    """Words for the verbs only this process has (`Process.own_actions`; the shared
    `Action`s' are the web's). tests/test_registry.py checks every verb has them."""
    field_labels: Mapping[str, Pair] = field(default_factory=dict)
    """Words for its application's and its action data's fields, by the field's dotted
    path (`employer.name`), `action.name` (`record-step.recovered_fen`) or name; amounts
    (`*_fen`) are typed in yuan: say 元. A name two types share has one meaning and the
    same words (tests/test_registry.py)."""
    field_hints: Mapping[str, Pair] = field(default_factory=dict)
    """What to type into those fields, keyed as `field_labels`."""
    approval_models: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    """Stage -> the data an approval at that stage carries, as the process validates it
    (`Process.approval_data`): what the action forms of the edges ask for. A stage not
    here takes no data."""
    action_models: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    """A process-specific action (`record-step`) -> the data it carries."""
    person_fields: Mapping[str, Role] = field(default_factory=dict)
    """A field of that data naming a user (an assignment's `lawyer`) -> the role they
    must hold: the edges offer the people with it in the case's jurisdiction."""
    sealed_action_data: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """An action -> the fields of its data that are personal (an objector's real name):
    the service seals them with the case's data key before the Update, so they reach
    history and the event store as ciphertext only."""
    after_close: Mapping[str, str] = field(default_factory=dict)
    """Its own verbs that act on a closed case (a title revoked, 撤销称号) -> the Temporal
    workflow that records one: the case's own workflow has ended, so the service starts
    that workflow (input: the process's request with case id, actor, reason, event id)."""
    has_review_sheet: bool = False
    """Whether `casework.domain.review`'s sheet (categories, amounts, the relief fund)
    describes its cases."""
    sheet_lines: Callable[[CaseState, Sequence[Any]], list[Pair]] | None = None
    """What `casework case show` prints of the case's own matter: (label, text) rows in
    both languages, from its state and its recorded events (each with `type`,
    `actor_id`, `occurred_at`, `payload`; only named payload fields are read). None:
    nothing of its own (the review sheet, `has_review_sheet`, is hardship's)."""

    def data_model(self, action: str, stage: str | None) -> type[BaseModel] | None:
        """The model of the data `action` carries at `stage` (None: no data)."""
        if action == Action.APPROVE:
            return self.approval_models.get(stage or "")
        return self.action_models.get(action)

    @cached_property
    def own_actions(self) -> tuple[str, ...]:
        """The verbs only this process has (`Process.own_actions`)."""
        return tuple(str(a) for a in self.new_process().own_actions)

    def new_process(self) -> Process:
        return self.process(self.config_model())

    def personal_fields(self) -> tuple[str, ...]:
        return tuple(self.who_sees)

    def visible_fields(self, actor: Actor | None, case_district: str) -> tuple[str, ...]:
        """The personal fields of a case in `case_district` that `actor` may see in clear."""
        if actor is None or not actor.covers(case_district):
            return ()
        return tuple(
            f for f, roles in self.who_sees.items() if any(actor.has_role(r) for r in roles)
        )


def after_close_event_id(action: str, case_id: str, key: str) -> str:
    """The event id of an action on a closed case (`CaseType.after_close`), the same for
    every sending of one request (its idempotency key): a retry finds it stored."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{action}:{case_id}:{key}"))


def check_district_opener(actor: Actor, district: str, whose: str) -> None:
    """Refused unless `actor` is a district officer whose jurisdiction covers `district`:
    who opens a follow-up case by hand (a re-verification, a refund review). `whose`
    names, in Chinese, what lies in the district (家庭, 企业)."""
    if not actor.has_role(Role.DISTRICT_OFFICER):
        raise Refused("role_not_held", "立案需要 district_officer 角色 (role required)")
    if not actor.covers(district):
        raise Refused(
            "outside_jurisdiction",
            f"{whose}所在区县 {district} 不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
            "district",
        )


class UnknownAction(Refused):
    def __init__(self, name: str, known: Sequence[str]) -> None:
        super().__init__(
            "unknown_action",
            f"未知动作 (unknown action) {name[:50]!r}; one of: {', '.join(known)}",
            "action",
        )


class UnknownCaseType(Refused):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            "unknown_case_type",
            f"未知案件类型 (unknown case type) {name!r}; one of: {', '.join(known)}",
            "case_type",
        )
