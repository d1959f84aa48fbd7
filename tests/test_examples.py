"""The files in examples/ are what README's commands and the end-to-end tests send: each
one is valid for what it is sent as, and the approvals' data is what the process takes
at that stage (an example nobody checks goes stale)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from casework.demo.people import demo_users
from casework.domain.case import CaseState
from casework.domain.legal_aid import (
    APPLICATION_EXAMPLE,
    LEGAL_AID,
    Assignment,
    ClosingReport,
    FollowUp,
    LegalAidApplication,
    Stage,
    Step,
    StepKind,
)
from casework.domain.org import Role

EXAMPLES = Path(__file__).parent.parent / "examples"

MODELS: dict[str, type[BaseModel]] = {
    "legal-aid-application.json": LegalAidApplication,
    "legal-aid-assignment.json": Assignment,
    "legal-aid-step-arbitration.json": Step,
    "legal-aid-step-award.json": Step,
    "legal-aid-closing-report.json": ClosingReport,
    "legal-aid-follow-up.json": FollowUp,
}
"""Each example file and the model it is sent as."""


def load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def test_every_example_file_is_listed_here() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_example_validates_against_its_model(name: str) -> None:
    MODELS[name].model_validate(load(name))


def test_the_application_is_the_domains_example() -> None:
    assert load("legal-aid-application.json") == APPLICATION_EXAMPLE


def test_the_approvals_data_is_what_each_stage_takes() -> None:
    """`act CASE approve --data-file F` at the stage each file is meant for: the process
    takes it as it is (nothing refused, nothing dropped)."""
    process = LEGAL_AID.new_process()
    for stage, name in (
        (Stage.ASSIGNMENT, "legal-aid-assignment.json"),
        (Stage.CLOSING_REPORT, "legal-aid-closing-report.json"),
        (Stage.FOLLOW_UP, "legal-aid-follow-up.json"),
    ):
        data = load(name)
        state = CaseState(case_id="LA-2026-000001", stage=stage)
        assert process.approval_data(state, data) == data, name


def test_the_steps_are_the_ones_their_names_say_in_order() -> None:
    app = LegalAidApplication.model_validate(load("legal-aid-application.json"))
    filed = Step.model_validate(load("legal-aid-step-arbitration.json"))
    award = Step.model_validate(load("legal-aid-step-award.json"))
    assert (filed.kind, award.kind) == (StepKind.ARBITRATION_FILED, StepKind.AWARD)
    assert app.knew_at <= filed.on < award.on
    assert filed.claimed_fen == app.claim_amount_fen
    report = ClosingReport.model_validate(load("legal-aid-closing-report.json"))
    assert report.recovered_fen <= app.claim_amount_fen


def test_the_assigned_lawyer_is_a_demo_lawyer_of_the_stations_district() -> None:
    app = LegalAidApplication.model_validate(load("legal-aid-application.json"))
    lawyer = Assignment.model_validate(load("legal-aid-assignment.json")).lawyer
    user = {u.id: u for u in demo_users()}[lawyer]
    assert Role.LAWYER in user.roles and user.district == app.case_district()
