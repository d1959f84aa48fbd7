"""Acting on a case from a page: the form's fields into an action, sent through the
case service, and the refusal placed beside the field it names. Shared by the case page
and the supervisors' stuck list.

The data an action carries comes from the registry (`CaseType.approval_models` by
stage, `action_models` by action): its fields are generated from the model
(casework.web.application_form), a field naming a person (`CaseType.person_fields`) is
a choice of the people who may be named. Nothing here knows a case type or a stage."""

from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from casework.domain.case import Action, CaseState
from casework.domain.case_type import CaseType, UnknownAction
from casework.domain.org import Role
from casework.domain.registry import CASE_TYPES, known_action
from casework.service import ActionPending, ActionRefused, CaseNotFound
from casework.store.directory import UnknownUser, User, UserDisabled
from casework.store.queries import Queries, UnknownCase
from casework.web import home_visit
from casework.web.application_form import (
    FORM_WIDE,
    ApplicationForm,
    FormField,
    action_form,
    choice_words,
    hint,
    label,
)
from casework.web.forms import parse_date, parse_json_object
from casework.web.site import directory, log, service, texts

DEADLINE_ACTIONS = (Action.INTERRUPT_DEADLINE, Action.SUSPEND_DEADLINE, Action.RESUME_DEADLINE)
MAX_COMMENT = 2000
"""As the `act` Update's input allows (ActRequest.comment)."""
ACT_WAIT_SECONDS = 30.0
"""How long a page waits for an action's outcome before saying "sent, not confirmed"."""

REFUSAL_FIELDS = {
    "comment": "comment",
    "data.to": "to",
    "data.objector": "objector",
    "data.until": "until",
    "data.deadline": "deadline",
    "data.on": "on",
}
"""Where a refusal naming a field of the shared actions' data is shown (an action whose
data has a model: beside that model's field)."""

HAND_WRITTEN: dict[type[BaseModel], str] = {home_visit.MODEL: home_visit.FORM}
"""Data models with a form of their own instead of a generated one, by the name the
case page's template knows it by."""


def visible_state(request: Request, me: User, case_id: str) -> CaseState:
    """The case if it lies in the user's jurisdiction; 404 otherwise, the same answer
    as for a case that does not exist (ids cannot be probed)."""
    try:
        state = Queries(request.app.state.engine).case_state(case_id)
    except UnknownCase:
        state = None
    if state is None or not me.covers(state.district):
        raise HTTPException(404)
    return state


# -- the forms of an action's data -------------------------------------------------------


@dataclass(frozen=True)
class ShownField:
    """One input of an action's form, with its words."""

    field: FormField
    label: str
    hint: str | None = None
    options: list[tuple[str, str]] = dataclass_field(default_factory=list)
    """A select's (value, words)."""


@dataclass(frozen=True)
class ActionForm:
    """The fields of the data one offered action carries, generated from its model."""

    action: str
    legend: str
    fields: list[ShownField]


def people_for(request: Request, role: Role, state: CaseState) -> list[User]:
    """Who may be named in a field asking for `role`: the enabled users holding it whose
    jurisdiction covers the case (the worker checks it again when it records)."""
    return [
        u
        for u in directory(request).list()
        if not u.disabled and role in u.roles and u.covers(state.district)
    ]


def _people_ids(request: Request, role: Role, state: CaseState) -> set[str]:
    return {u.id for u in people_for(request, role, state)}


def _person_role(f: FormField, kind: CaseType) -> Role | None:
    return kind.person_fields.get(f.name) if f.kind == "text" else None


def _generated(
    kind: CaseType | None, state: CaseState, action: Action | str, stage: str | None = None
) -> ApplicationForm | None:
    """The generated form of `action`'s data at the case's stage (`stage`: that of the
    task acted on, one of several open), if it has a model and no form of its own."""
    model = None if kind is None else kind.data_model(action, stage or state.stage)
    if model is None or model in HAND_WRITTEN:
        return None
    spec = action_form(model, str(action))
    if stage is None:
        return spec
    # On one of several open tasks the task names what the action is about: a field
    # naming it again (another finding's id) is neither shown nor read.
    kept = tuple(
        m for m in spec.members if not (isinstance(m, FormField) and m.name in NAMED_BY_TASK)
    )
    return ApplicationForm(spec.model, kept, spec.prefix)


NAMED_BY_TASK = frozenset({"finding_id"})
"""Fields of an action's data that the task it is on already determines (an audit
check's finding)."""


def action_forms(
    request: Request,
    kind: CaseType | None,
    state: CaseState,
    offered: list[Action | str],
    stage: str | None = None,
) -> list[ActionForm]:
    """The generated forms of the offered actions whose data has a model (`stage`: the
    stage of the task they act on, where it is one of several open)."""
    words = texts(request)
    found: list[ActionForm] = []
    for action in offered:
        spec = _generated(kind, state, action, stage)
        if spec is None or kind is None:
            continue
        shown: list[ShownField] = []
        for f in spec.fields():
            options: list[tuple[str, str]] = []
            role = _person_role(f, kind)
            if role is not None:
                options = [(u.id, f"{u.name} ({u.id})") for u in people_for(request, role, state)]
                f = replace(f, kind="select")
            elif f.kind == "select":
                options = choice_words(f, words)
            shown.append(ShownField(f, label(f, words), hint(f, words), options))
        legend = (
            words.stage(stage or state.stage) if action is Action.APPROVE else words.action(action)
        )
        found.append(ActionForm(str(action), legend, shown))
    return found


def hand_written_form(kind: CaseType | None, state: CaseState, offered: list[Action | str]) -> str:
    """The name of the form of its own an offered approval takes here ('' if none)."""
    if kind is None or Action.APPROVE not in offered:
        return ""
    model = kind.data_model(Action.APPROVE, state.stage)
    return "" if model is None else HAND_WRITTEN.get(model, "")


def _generated_data(
    request: Request,
    kind: CaseType,
    state: CaseState,
    spec: ApplicationForm,
    form: dict[str, str],
    errors: dict[str, str],
) -> dict[str, Any]:
    """An action's data from its generated fields, checked against its model (each
    problem beside its field), as JSON for the `act` Update."""
    words = texts(request)
    data, problems = spec.read(form, words)
    errors.update(problems)
    for f in spec.fields():
        role = _person_role(f, kind)
        named = data.get(f.path[-1])
        if role is not None and named and named not in _people_ids(request, role, state):
            errors[f.id] = words.t("bad_choice")
    try:
        checked = spec.model.model_validate(data)
    except ValidationError as exc:
        spec.explain(exc, words, errors)
        return data
    return checked.model_dump(mode="json", exclude_none=True)


def _place(
    refused: ActionRefused, spec: ApplicationForm | None, visiting: bool, raw: str
) -> str | None:
    """The form field beside which a refusal is shown (None: above the form)."""
    field = refused.field or ""
    if field == "data" and raw:
        return "data"  # the JSON typed in
    if spec is not None and field.startswith("data."):
        place = spec.place(field.removeprefix("data."))
        if place != FORM_WIDE:
            return place
    if visiting and field in home_visit.PLACES:
        return home_visit.PLACES[field]
    return REFUSAL_FIELDS.get(field)


# -- sending it --------------------------------------------------------------------------


async def perform(
    request: Request, me: User, state: CaseState, form: dict[str, str]
) -> tuple[Action | str | None, dict[str, str], tuple[str, str] | None, int]:
    """Send the action a form asks for. Returns (the action, problems by form field, a
    banner, status): no problems and no banner means done. Shared by the case page and
    the supervisors' stuck list."""
    words = texts(request)
    errors: dict[str, str] = {}
    try:
        chosen = known_action(form.get("action", "")[:50])
    except UnknownAction:
        errors["action"] = words.t("bad_choice")
        return None, errors, None, 422
    kind = CASE_TYPES.get(state.case_type)
    # The task acted on, where the case has several open (its form says which); the
    # stage's task otherwise. The rules refuse a task the case no longer holds.
    task_id = form.get("task_id", "").strip()[:100] or None
    parallel = state.parallel.get(task_id) if task_id else None
    spec = _generated(kind, state, chosen, parallel.stage if parallel else None)
    visiting = parallel is None and hand_written_form(kind, state, [chosen]) == home_visit.FORM
    data: dict[str, Any] = {}
    raw = form.get("data", "").strip()
    if raw:  # the JSON fallback, used as is
        parsed, problem = parse_json_object(raw)
        if problem:
            errors["data"] = words.t(problem)
        data = parsed or {}
    elif visiting:
        found = home_visit.companions(request, me, state)
        data = home_visit.findings(form, me, found, errors, words)
    elif spec is not None and kind is not None:
        data = _generated_data(request, kind, state, spec, form, errors)
    elif chosen is Action.REASSIGN:
        if not form.get("to"):
            errors["to"] = words.t("required")
        data = {"to": form.get("to", "")}
    elif chosen is Action.OBJECT:
        # The objector's real name, or anonymous (recorded either way); the domain
        # refuses an objection that says neither, beside this field.
        if form.get("anonymous"):
            data = {"anonymous": True}
        elif form.get("objector", "").strip():
            data = {"objector": form["objector"].strip()}
    elif chosen is Action.EXTEND:
        until, problem = parse_date(form.get("until", ""))
        if problem:
            errors["until"] = words.t(problem)
        data = {"until": until}
    elif chosen in DEADLINE_ACTIONS:
        # Which case deadline; for an interruption, the day of the interrupting fact
        # (the domain says today when none is given).
        data = {"deadline": form.get("deadline", "")}
        if chosen is Action.INTERRUPT_DEADLINE and form.get("on", "").strip():
            on, problem = parse_date(form.get("on", ""))
            if problem:
                errors["on"] = words.t(problem)
            data["on"] = on
    if chosen is Action.REASSIGN and data.get("to") and not errors:
        # Said beside the field at once; the service resolves the user again when it acts.
        try:
            directory(request).active(str(data["to"]))
        except (UnknownUser, UserDisabled):
            errors["to"] = words.t("unknown_user")
    if len(form.get("comment", "")) > MAX_COMMENT:
        errors["comment"] = words.t("too_long", n=MAX_COMMENT)
    if errors:
        return chosen, errors, None, 422
    try:
        await service(request).act(
            state.case_id,
            me.actor(),
            chosen,
            form.get("comment") or None,
            data,
            form.get("key", "")[:200] or None,  # the form's key makes a double submit act once
            form.get("stage") or None,  # the stage the officer was looking at
            ACT_WAIT_SECONDS,
            task_id=task_id,
        )
    except ActionRefused as refused:
        message = f"{words.t('refused')} ({refused.code}): {refused.message}"
        field = _place(refused, spec, visiting, raw)
        if field:
            return chosen, {field: message}, None, 409
        return chosen, {}, ("error", message), 409
    except CaseNotFound:
        return chosen, {}, ("error", words.t("closed_meanwhile")), 409
    except ActionPending:
        return chosen, {}, ("error", words.t("pending_outcome")), 503
    except RPCError:
        log.exception("web.temporal_unavailable", case_id=state.case_id)
        return chosen, {}, ("error", words.t("unavailable")), 503
    return chosen, {}, None, 200
