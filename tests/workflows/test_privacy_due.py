"""The scheduled retention check (`casework-privacy-due`, monthly): it lists in the log
and the metrics the closed cases and programmes past their retention period, and
erases nothing; the schedule is monthly and report-only."""

from __future__ import annotations

import io
import json
import sys
import uuid
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from casework.domain.contracts import PrivacyDueReport
from casework.logging import configure_logging
from casework.scheduling import load, wanted
from casework.store.personal import years_after
from tests.workflows.conftest import Harness
from tests.workflows.test_privacy_cli import closed_case


def due_gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value("casework_privacy_due", {"kind": kind})


async def check(h: Harness) -> PrivacyDueReport:
    return await h.env.client.execute_workflow(
        "casework-privacy-due",
        {},
        id=f"casework-privacy-due-{uuid.uuid4()}",
        task_queue=h.service.task_queue,
        result_type=PrivacyDueReport,
    )


@pytest.mark.usefixtures("restore_logging")
async def test_the_retention_check_reports_what_is_due_and_erases_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    done = await closed_case(h)
    running = (await h.open()).case_id
    assert await check(h) == PrivacyDueReport(cases={}, programmes=0)
    assert due_gauge("hardship") == 0.0

    [closed] = [e for e in h.store.read(done) if e.type == "case.closed"]
    later = years_after(closed.occurred_at, 10) + timedelta(days=1)
    monkeypatch.setattr("casework.store.personal.utc_now", lambda: later)
    monkeypatch.setattr("casework.store.programmes.utc_now", lambda: later)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    configure_logging("INFO", json_lines=True)
    assert await check(h) == PrivacyDueReport(cases={"hardship": 1}, programmes=0)
    lines = [json.loads(line) for line in err.getvalue().splitlines() if line.startswith("{")]
    due = [line for line in lines if line.get("event") == "privacy.due"]
    assert [(d["case_id"], d["kind"]) for d in due] == [(done, "hardship")]
    assert running not in err.getvalue()
    assert due_gauge("hardship") == 1.0 and due_gauge("programme") == 0.0
    # report only: the key is still there and the case still reads
    from casework.store.personal import PersonalData

    assert PersonalData(h.engine, None).erased_at(done) is None


def test_the_retention_check_is_scheduled_monthly(sqlite_engine: Engine) -> None:
    config = load()
    [due] = [w for w in wanted(config, sqlite_engine) if w.schedule_id == "casework-privacy-due"]
    assert due.workflow == "casework-privacy-due"
    spec = due.schedule("q").spec.calendars[0]
    assert [r.start for r in spec.day_of_month] == [config.privacy_due.day]
    assert [(r.start, r.end) for r in spec.month] == [(1, 12)]
    assert [r.start for r in spec.hour] == [config.privacy_due.hour]
