"""Moving a legal-aid case (工会法律援助) along with the demo people, through the real
service and worker, as tests/workflows/steps.py does for hardship.

The cast (casework/demo/people.py): OPENER records the application at a 崇川区 station;
OFFICER (the district's second legal-aid officer: the opener never reviews) does the
acceptance review, the assignment, the report check and the follow-up; LAWYER is the
lawyer assigned, LAWYER2 another lawyer of the district; SUPERVISOR supervises 崇川区.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseView
from casework.domain.legal_aid import (
    APPLICATION_EXAMPLE,
    CASE_PREFIX,
    CASE_TYPE,
    LegalAidApplication,
)
from casework.store.tables import case_sequences
from tests.factories import fresh_id_number
from tests.workflows.conftest import Harness, _case_number_blocks
from tests.workflows.steps import state

OPENER = "chongchuan.legalaid"
OFFICER = "chongchuan.legalaid2"
LAWYER = "chongchuan.lawyer"
LAWYER2 = "chongchuan.lawyer2"
SUPERVISOR = "chongchuan.supervisor"
DISTRICT = "崇川区"


def number_legal_aid_cases(h: Harness) -> None:
    """Legal-aid case numbers from a block of this harness's own: the Temporal server
    may outlive the test's database (the harness numbers only hardship cases)."""
    first = next(_case_number_blocks) * 1000
    year = datetime.now(UTC).astimezone(CHINA_TZ).year  # as the service numbers them
    with h.engine.begin() as conn:
        for y in (year, year + 1):
            conn.execute(
                insert(case_sequences).values(prefix=CASE_PREFIX, year=y, last_value=first)
            )


def application_data(**overrides: Any) -> dict[str, Any]:
    """The README's application (a migrant worker's wage arrears at the 崇川区 arbitration
    station) for a person no other test uses; `overrides` replace keys, nested dicts
    are merged, a None value removes the key."""
    data: dict[str, Any] = {
        **APPLICATION_EXAMPLE,
        "applicant": {**APPLICATION_EXAMPLE["applicant"], "id_number": fresh_id_number()},
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def application(**overrides: Any) -> LegalAidApplication:
    return LegalAidApplication.model_validate(application_data(**overrides))


async def today(h: Harness) -> date:
    """The server's today in Beijing (the workflows' clock)."""
    return (await h.env.get_current_time()).astimezone(CHINA_TZ).date()


def since(day: date) -> dict[str, str]:
    """The application's dates for an infringement known, and employment ended, on `day`."""
    return {"knew_at": day.isoformat(), "employment_ended_at": day.isoformat()}


async def open_legal_aid(h: Harness, by: str = OPENER, **overrides: Any) -> CaseView:
    """Open a legal-aid case through the service, as the edges do."""
    actor = h.directory.get(by).actor()
    view = await h.service.open_case(CASE_TYPE, application(**overrides), actor)
    h.opened.append(view.case_id)
    return view


async def record_step(
    h: Harness, case_id: str, kind: str, on: date, note: str, by: str = LAWYER, **extra: Any
) -> CaseView:
    return await h.act(
        case_id, by, "record-step", note, {"kind": kind, "on": on.isoformat(), **extra}
    )


async def to_handling(h: Harness, case_id: str, lawyer: str = LAWYER) -> CaseView:
    """The acceptance review and the assignment of `lawyer`, by OFFICER."""
    await h.act(case_id, OFFICER, "approve", "符合受理条件，予以受理")
    return await h.act(case_id, OFFICER, "approve", "指派律师承办", {"lawyer": lawyer})


async def close_after_handling(
    h: Harness, case_id: str, result: str = "won", recovered_fen: int = 0
) -> CaseView:
    """From handling with steps recorded: the lawyer ends the handling and reports, the
    officer checks the report and records the follow-up; the case closes."""
    s = await state(h, case_id)
    assert s.stage == "handling", s.stage
    await h.act(case_id, LAWYER, "approve", "承办结束")
    await h.act(
        case_id,
        LAWYER,
        "approve",
        "结案报告：案件已办结。",
        {"result": result, "recovered_fen": recovered_fen},
    )
    await h.act(case_id, OFFICER, "approve", "结案报告审查通过")
    return await h.act(case_id, OFFICER, "approve", "电话回访，申请人满意", {"satisfaction": 5})
