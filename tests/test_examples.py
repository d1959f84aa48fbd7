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
from casework.domain import audit, hardship, refund, reverification
from casework.domain.audit_sample import is_relief_subject
from casework.domain.award import CampaignSpec, Nominee
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
from casework.domain.nomination import CommitteeVote
from casework.domain.org import Role
from casework.domain.programme import ProgrammeSpec

EXAMPLES = Path(__file__).parent.parent / "examples"

MODELS: dict[str, type[BaseModel]] = {
    "hardship-application.json": hardship.HardshipApplication,
    "home-visit-findings.json": hardship.HomeVisitFindings,
    "legal-aid-application.json": LegalAidApplication,
    "legal-aid-assignment.json": Assignment,
    "legal-aid-step-arbitration.json": Step,
    "legal-aid-step-award.json": Step,
    "legal-aid-closing-report.json": ClosingReport,
    "legal-aid-follow-up.json": FollowUp,
    "audit-project.json": audit.AuditApplication,
    "audit-notice.json": audit.Notice,
    "audit-finding.json": audit.FindingData,
    "audit-finding-correction.json": audit.FindingCorrection,
    "audit-reply.json": audit.Reply,
    "audit-accept.json": audit.RectificationCheck,
    "reverification.json": reverification.ReverificationApplication,
    "reverification-findings.json": reverification.Findings,
    "programme.json": ProgrammeSpec,
    "programme-summer.json": ProgrammeSpec,
    "campaign.json": CampaignSpec,
    "nominee.json": Nominee,
    "votes.json": CommitteeVote,
    "refund_application.json": refund.RefundApplication,
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
    assert load("hardship-application.json") == hardship.APPLICATION_EXAMPLE


def test_the_home_visit_findings_name_two_demo_visitors_and_no_placeholder() -> None:
    """README's Quick start sends them as they are: two grassroots officers of the
    application's district, no explanation (the demo's civil-affairs check matches)."""
    findings = hardship.HomeVisitFindings.model_validate(load("home-visit-findings.json"))
    officers = {u.id for u in demo_users() if Role.GRASSROOTS_OFFICER in u.roles}
    assert set(findings.visitors) <= officers and len(set(findings.visitors)) == 2
    assert findings.explanation is None


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


# -- audit projects ---------------------------------------------------------------------------


def test_the_audit_project_is_the_domains_example_a_special_audit_of_relief_money() -> None:
    assert load("audit-project.json") == audit.APPLICATION_EXAMPLE
    project = audit.AuditApplication.model_validate(load("audit-project.json"))
    assert project.audit_type is audit.AuditType.SPECIAL and is_relief_subject(project.subject)
    assert project.district == "崇川区"
    people = {u.id: u for u in demo_users()}
    assert Role.AUDIT_LEAD in people[project.lead].roles
    assert all(Role.AUDITOR in people[m].roles for m in project.members())
    # The notice names the day the project plans.
    assert (
        load("audit-notice.json")["fieldwork_starts_on"]
        == load("audit-project.json")["fieldwork_starts_on"]
    )


def test_the_audit_approvals_data_is_what_each_stage_takes() -> None:
    process = audit.AUDIT.new_process()
    for stage, name in (
        (audit.Stage.NOTICE, "audit-notice.json"),
        (audit.Stage.REPLY, "audit-reply.json"),
    ):
        data = load(name)
        state = CaseState(case_id="AU-2026-000001", stage=stage)
        assert process.approval_data(state, data) == data, name


def test_the_audit_actions_data_is_taken_as_it_is() -> None:
    """`act PROJECT record-finding|correct-finding|accept-rectification --data-file F`:
    each file is what its action's model takes, nothing dropped."""
    for name, action in (
        ("audit-finding.json", "record-finding"),
        ("audit-finding-correction.json", "correct-finding"),
        ("audit-accept.json", "accept-rectification"),
    ):
        model = audit.ACTION_MODELS[action]
        data = load(name)
        assert MODELS[name] is model
        assert model.model_validate(data).model_dump(mode="json", exclude_none=True) == data


def test_the_refund_files_read_clean_and_the_single_application_matches_its_record() -> None:
    """`refunds import` and `refunds apply` take the sample files without an error, and
    `case open refund --file examples/refund_application.json` is a clean match in them."""
    payments = refund.check_payment_file(
        refund.read_csv((EXAMPLES / "refund-payments.csv").read_bytes(), refund.PAYMENT_COLUMNS),
        2026,
    )
    assert payments.failed == [] and len(payments.accepted) > 10
    apps, failed = refund.check_application_file(
        refund.read_csv(
            (EXAMPLES / "refund-applications.csv").read_bytes(), refund.APPLICATION_COLUMNS
        ),
        2026,
    )
    assert failed == [] and len(apps) > 10
    single = refund.RefundApplication.model_validate(load("refund_application.json"))
    assert single.model_dump() == refund.APPLICATION_EXAMPLE
    record = next(r for r in payments.accepted if r.credit_code == single.credit_code)
    matched = refund.match(single, record, earlier_application=False, config=refund.RefundsConfig())
    assert matched.exceptions == [] and matched.refund_fen == record.dues_fen
