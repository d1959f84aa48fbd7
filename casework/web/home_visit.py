"""Hardship's home-visit findings (入户调查) on the case page: a form of its own, not one
generated from the model (casework.web.application_form), because the findings name two
visitors (the officer and the colleague chosen, a list no generated input makes) and
their fields' names (`visit_household_size`, `companion`) are older than the generated
forms. Which stage asks for the findings is the registry's word
(`CaseType.approval_models`); this module knows only their model."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from casework.domain.case import CaseState
from casework.domain.hardship import HomeVisitFindings
from casework.domain.org import Role
from casework.store.directory import User
from casework.web.forms import parse_whole, parse_yuan
from casework.web.i18n import Texts
from casework.web.site import directory

MODEL = HomeVisitFindings
FORM = "home_visit"
"""The name the case page's template knows this form by."""

PLACES = {
    "data": "visit",
    "data.visitors": "companion",
    "data.explanation": "visit_explanation",
    "data.household_size": "visit_household_size",
    "data.yearly_income_fen": "visit_yearly_income",
    "data.medical_expenses_fen": "visit_medical",
    "data.schooling_expenses_fen": "visit_schooling",
    "data.assets": "visit_assets",
    "data.cause": "visit_cause",
}
"""Where a refusal naming a field of the findings is shown."""


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


def findings(
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
    found: dict[str, Any] = {"visitors": [me.id, companion], "household_size": size}
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
        found[key] = amount
    for name in ("assets", "cause"):
        text = form.get(f"visit_{name}", "").strip()
        if not text:
            errors[f"visit_{name}"] = words.t("required")
        found[name] = text
    explanation = form.get("visit_explanation", "").strip()
    if explanation:
        found["explanation"] = explanation
    return found
