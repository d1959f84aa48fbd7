"""Acting on a case from a page: the form's fields into an action, sent through the
case service, and the refusal placed beside the field it names. Shared by the case page
and the supervisors' stuck list."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from temporalio.service import RPCError

from casework.domain.case import Action, CaseState
from casework.domain.hardship import REVIEW_STAGES, Stage
from casework.domain.org import Role
from casework.service import ActionPending, ActionRefused, CaseNotFound
from casework.store.directory import UnknownUser, User, UserDisabled
from casework.store.queries import Queries, UnknownCase
from casework.web.forms import parse_date, parse_json_object, parse_whole, parse_yuan
from casework.web.i18n import Texts
from casework.web.site import directory, log, service, texts

DEADLINE_ACTIONS = (Action.INTERRUPT_DEADLINE, Action.SUSPEND_DEADLINE, Action.RESUME_DEADLINE)
MAX_COMMENT = 2000
"""As the `act` Update's input allows (ActRequest.comment)."""
ACT_WAIT_SECONDS = 30.0
"""How long a page waits for an action's outcome before saying "sent, not confirmed"."""


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


def companions(request: Request, me: User, state: CaseState) -> list[User]:
    """Who may have visited the home with `me`: the district's grassroots officers."""
    return [
        u
        for u in directory(request).list()
        if not u.disabled
        and u.id != me.id
        and Role.GRASSROOTS_OFFICER in u.roles
        and u.covers(state.district)
    ]


REFUSAL_FIELDS = {
    "comment": "comment",
    "data.to": "to",
    "data.objector": "objector",
    "data.until": "until",
    "data.visitors": "companion",
    "data.explanation": "visit_explanation",
    "data.household_size": "visit_household_size",
    "data.yearly_income_fen": "visit_yearly_income",
    "data.medical_expenses_fen": "visit_medical",
    "data.schooling_expenses_fen": "visit_schooling",
    "data.approved_amount_fen": "approved_amount",
    "data.national_ref": "national_ref",
    "data.assets": "visit_assets",
    "data.cause": "visit_cause",
    "data.deadline": "deadline",
    "data.on": "on",
}
"""Where a refusal naming a field is shown on the action form."""


def _visit_findings(
    form: dict[str, str], me: User, companions: list[User], errors: dict[str, str], words: Texts
) -> dict[str, Any]:
    """The home-visit findings from the form's named fields."""
    companion = form.get("companion", "")
    if not companion:
        errors["companion"] = words.t("required")
    elif companion not in {u.id for u in companions}:
        errors["companion"] = words.t("bad_choice")
    size, problem = parse_whole(form.get("visit_household_size", ""), bad="bad_count")
    if problem:
        errors["visit_household_size"] = words.t(problem)
    elif size is not None and not 1 <= size <= 30:
        errors["visit_household_size"] = words.t("between", lo=1, hi=30)
    findings: dict[str, Any] = {"visitors": [me.id, companion], "household_size": size}
    for name, key, required in (
        ("visit_yearly_income", "yearly_income_fen", True),
        ("visit_medical", "medical_expenses_fen", False),
        ("visit_schooling", "schooling_expenses_fen", False),
    ):
        raw = form.get(name, "").strip()
        if not raw and not required:
            continue
        amount, problem = parse_yuan(raw, maximum_fen=10**11)
        if problem:
            errors[name] = words.t(problem)
        findings[key] = amount
    for name in ("assets", "cause"):
        text = form.get(f"visit_{name}", "").strip()
        if not text:
            errors[f"visit_{name}"] = words.t("required")
        findings[name] = text
    explanation = form.get("visit_explanation", "").strip()
    if explanation:
        findings["explanation"] = explanation
    return findings


def approval_fields(stage: str) -> str:
    """Which named fields an approval at `stage` takes on the form: a lower amount at
    the review levels (and the explanation at the district review), the national
    system's reference at registration."""
    if stage == Stage.DISTRICT_REVIEW:
        return "district_review"
    if stage in REVIEW_STAGES:
        return "review"
    if stage == Stage.REGISTRATION:
        return "registration"
    return ""


def _approval_data(
    form: dict[str, str], fields: str, errors: dict[str, str], words: Texts
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if fields == "registration":
        ref = form.get("national_ref", "").strip()
        if ref:
            data["national_ref"] = ref
        return data  # the domain names a missing reference beside the field
    raw = form.get("approved_amount", "").strip()
    if raw:
        amount, problem = parse_yuan(raw)
        if problem:
            errors["approved_amount"] = words.t(problem)
        data["approved_amount_fen"] = amount
    explanation = form.get("review_explanation", "").strip()
    if fields == "district_review" and explanation:
        data["explanation"] = explanation
    return data


async def perform(
    request: Request, me: User, state: CaseState, form: dict[str, str]
) -> tuple[Action | None, dict[str, str], tuple[str, str] | None, int]:
    """Send the action a form asks for. Returns (the action, problems by form field, a
    banner, status): no problems and no banner means done. Shared by the case page and
    the supervisors' stuck list."""
    words = texts(request)
    errors: dict[str, str] = {}
    try:
        chosen = Action(form.get("action", ""))
    except ValueError:
        errors["action"] = words.t("bad_choice")
        return None, errors, None, 422
    data: dict[str, Any] = {}
    raw = form.get("data", "").strip()
    if raw:  # the JSON fallback, used as is
        parsed, problem = parse_json_object(raw)
        if problem:
            errors["data"] = words.t(problem)
        data = parsed or {}
    elif chosen is Action.APPROVE and state.stage == Stage.HOME_VISIT:
        data = _visit_findings(form, me, companions(request, me, state), errors, words)
    elif chosen is Action.APPROVE and approval_fields(state.stage):
        data = _approval_data(form, approval_fields(state.stage), errors, words)
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
        )
    except ActionRefused as refused:
        message = f"{words.t('refused')} ({refused.code}): {refused.message}"
        field = REFUSAL_FIELDS.get(refused.field or "")
        if refused.field == "data.explanation" and state.stage == Stage.DISTRICT_REVIEW:
            field = "review_explanation"
        if refused.field == "data":
            field = "data" if raw else ("visit" if data and chosen is Action.APPROVE else None)
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
