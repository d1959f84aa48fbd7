"""Time limits from the worker's configuration: every task carries its due date."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casework.config import ProcessConfig
from casework.domain.calendar import add_working_days
from casework.domain.hardship import HardshipConfig, Period, Stage
from tests.workflows.conftest import Harness
from tests.workflows.steps import QUICK, advance, tasks


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


async def test_a_configuration_naming_one_limit_keeps_the_others(harness: Harness) -> None:
    """QUICK names only the public notice; every task still gets processes.md's limit."""
    assert set(QUICK.limits) == set(HardshipConfig().limits)
    h = harness
    cid = (await h.open(requested_amount_fen=600_000)).case_id
    await advance(h, cid, "registration")
    expected = {
        "grassroots_review": 5,
        "home_visit": 5,
        "district_review": 5,
        "district_approval": 5,
        "city_review": 5,
        "city_approval": 5,
        "receipt_confirmation": 5,
        "registration": 30,
    }
    rows = tasks(h, cid)
    assert [t["stage"] for t in rows] == list(expected)
    for t in rows:
        assert t["due_at"] == add_working_days(t["opened_at"], expected[t["stage"]]), t["stage"]
    view = h.queries.case_view(cid)
    assert view.open_task is not None and view.open_task.due_at == rows[-1]["due_at"]


@pytest.mark.parametrize(
    "config",
    [HardshipConfig(limits={Stage.GRASSROOTS_REVIEW: Period(seconds=3600)})],
    ids=["grassroots-one-hour"],
)
async def test_a_configuration_without_the_notice_still_runs_the_notice(harness: Harness) -> None:
    h = harness
    opened = await h.open()
    assert opened.open_task is not None and opened.open_task.due_at is not None
    [first] = tasks(h, opened.case_id)
    assert first["due_at"] - first["opened_at"] == timedelta(hours=1)
    v = await advance(h, opened.case_id, "district_review")  # the notice: 5 working days
    assert v.open_task is not None


def _with_limits(**days: int) -> ProcessConfig:
    limits = {**QUICK.limits, **{Stage(k): Period(working_days=v) for k, v in days.items()}}
    return ProcessConfig(hardship=QUICK.model_copy(update={"limits": limits}))


def _due_in_working_days(h: Harness, case_id: str) -> dict[str, int]:
    """Each task's limit, recovered from its due date (working days after opening)."""
    found = {}
    for t in tasks(h, case_id):
        n = next(n for n in range(1, 40) if add_working_days(t["opened_at"], n) == t["due_at"])
        found[t["stage"]] = n
    return found


async def test_a_changed_limit_applies_to_tasks_opened_after_the_change(harness: Harness) -> None:
    """An administrator changes limits while a case runs: its open task keeps its due
    date; tasks opened later (by an officer's action, or when the notice timer ends) use
    the new limits; a case opened after the change uses them from the start."""
    h = harness
    running = (await h.open()).case_id  # grassroots review: 5 working days

    h.config_source.update(_with_limits(home_visit=8, district_review=2))
    await h.env.sleep(120)  # a decision more than a minute after the change re-reads
    await advance(h, running, "public_notice")  # home visit opened by an officer's approve
    h.config_source.update(_with_limits(home_visit=8, district_review=3))
    await advance(h, running, "district_review")  # opened when the notice timer ended
    assert _due_in_working_days(h, running) == {
        "grassroots_review": 5,  # opened before any change
        "home_visit": 8,
        "district_review": 3,
    }

    later = (await h.open()).case_id
    await advance(h, later, "public_notice")
    assert _due_in_working_days(h, later) == {"grassroots_review": 5, "home_visit": 8}
