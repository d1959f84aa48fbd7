"""`casework doctor` against cases whose workflow was terminated from Temporal (as the UI
or `temporal workflow terminate` do): reported in a dry run that writes nothing, the
termination recorded once by a repair (who and why, from the history), the case closed
in the read model; or the case brought back by a restart from its recorded events, and
acted on again."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select

from casework.doctor import examine, repair, require_operator, restart
from casework.domain.case import CASE_RESTARTED, CASE_TERMINATED, Refused
from casework.domain.contracts import DoctorReport
from casework.logging import configure_logging
from casework.scheduling import wanted
from casework.store.tables import case_events, case_tasks, cases
from tests.workflows.conftest import Harness
from tests.workflows.steps import OPENER, events_of

OPERATOR = "city.officer1"


async def terminated_case(h: Harness, reason: str = "误操作 (opened twice)") -> str:
    view = await h.open()
    await h.idle(view.case_id)
    await h.env.client.get_workflow_handle(view.case_id).terminate(reason=reason)
    return view.case_id


def snapshot(
    h: Harness, case_id: str | None = None
) -> tuple[int, list[tuple[str, str, str | None]]]:
    """The events (of `case_id`, or all) and every case's status and outcome."""
    with h.engine.connect() as conn:
        events = select(case_events.c.event_id)
        if case_id is not None:
            events = events.where(case_events.c.case_id == case_id)
        n = len(conn.execute(events).all())
        rows = conn.execute(select(cases.c.case_id, cases.c.status, cases.c.outcome)).all()
    return n, [tuple(r) for r in rows]  # type: ignore[misc]


async def test_dry_run_reports_a_terminated_case_and_writes_nothing(harness: Harness) -> None:
    h = harness
    healthy = (await h.open()).case_id
    case_id = await terminated_case(h)
    await h.idle(healthy)
    before = snapshot(h)
    looked_at, findings = await examine(h.env.client, h.engine)
    assert looked_at == 2
    assert [(f.case_id, f.kind, f.repairable) for f in findings] == [(case_id, "terminated", True)]
    assert findings[0].reason == "误操作 (opened twice)"
    assert findings[0].identity  # the client's identity, as Temporal recorded it
    assert snapshot(h) == before


async def test_repair_records_the_termination_once_and_closes_the_case(harness: Harness) -> None:
    h = harness
    case_id = await terminated_case(h)
    operator = h.directory.get(OPERATOR).actor()
    _, findings = await examine(h.env.client, h.engine)
    head = findings[0].store_seq
    repaired = await repair(h.env.client, h.engine, findings, operator)
    assert [f.repaired for f in repaired] == [True]
    [event] = events_of(h, case_id, CASE_TERMINATED)
    assert event.seq == head + 1
    assert event.actor_id == OPERATOR
    assert event.payload["reason"] == "误操作 (opened twice)"
    assert event.payload["run_id"] == findings[0].run_id
    with h.engine.connect() as conn:
        row = conn.execute(
            select(cases.c.status, cases.c.outcome).where(cases.c.case_id == case_id)
        )
        assert tuple(row.one()) == ("closed", "terminated")
        open_tasks = conn.execute(
            select(case_tasks.c.task_id).where(
                case_tasks.c.case_id == case_id, case_tasks.c.status == "open"
            )
        ).all()
    assert open_tasks == []
    # Run again: nothing left to find; the same repair sent again records nothing.
    assert (await examine(h.env.client, h.engine))[1] == []
    await repair(h.env.client, h.engine, findings, operator)
    assert len(events_of(h, case_id, CASE_TERMINATED)) == 1
    assert h.store.verify().broken == []


async def test_restart_brings_a_terminated_case_back(harness: Harness) -> None:
    h = harness
    case_id = await terminated_case(h, "reset by mistake")
    operator = h.directory.get(OPERATOR).actor()
    head = len(h.store.read(case_id))
    view = await restart(
        h.env.client, h.engine, case_id, h.service.task_queue, operator, h.config_source.current()
    )
    assert view.seq == head + 1
    [event] = events_of(h, case_id, CASE_RESTARTED)
    assert event.actor_id == OPERATOR
    # The new run goes on with what the first decided once (its patch markers).
    history = [e async for e in h.env.client.get_workflow_handle(case_id).fetch_history_events()]
    attrs = history[0].workflow_execution_started_event_attributes
    [start] = await h.env.client.data_converter.decode(attrs.input.payloads)
    assert start["continued"]["clocks"] is True
    assert start["continued"]["flags"]["receipt-confirmation"] is True
    assert start["continued"]["state"]["seq"] == head + 1
    assert start["personal"] is None
    after = await h.act(case_id, OPENER, "comment", "重启后继续办理 (going on after the restart)")
    assert after.seq == head + 2
    assert [e.seq for e in h.store.read(case_id)] == list(range(1, head + 3))
    assert (await examine(h.env.client, h.engine))[1] == []
    # Running again: refused, and nothing recorded.
    with pytest.raises(Refused) as refused:
        await restart(
            h.env.client,
            h.engine,
            case_id,
            h.service.task_queue,
            operator,
            h.config_source.current(),
        )
    assert refused.value.code == "workflow_running"
    assert len(events_of(h, case_id, CASE_RESTARTED)) == 1


async def test_a_repaired_case_is_not_restarted(harness: Harness) -> None:
    h = harness
    case_id = await terminated_case(h)
    operator = h.directory.get(OPERATOR).actor()
    await repair(h.env.client, h.engine, (await examine(h.env.client, h.engine))[1], operator)
    with pytest.raises(Refused) as refused:
        await restart(
            h.env.client,
            h.engine,
            case_id,
            h.service.task_queue,
            operator,
            h.config_source.current(),
        )
    assert refused.value.code == "case_closed"


async def test_only_an_administrator_or_a_city_officer_runs_the_doctor(harness: Harness) -> None:
    h = harness
    case_id = await terminated_case(h)
    clerk = h.directory.get(OPENER).actor()
    with pytest.raises(Refused):
        require_operator(clerk)
    _, findings = await examine(h.env.client, h.engine)
    with pytest.raises(Refused):
        await repair(h.env.client, h.engine, findings, clerk)
    with pytest.raises(Refused):
        await restart(h.env.client, h.engine, case_id, h.service.task_queue, clerk, None)
    assert events_of(h, case_id, CASE_TERMINATED) == []
    await asyncio.sleep(0)


@pytest.mark.usefixtures("restore_logging")
async def test_the_scheduled_doctor_reports_logs_and_counts_and_repairs_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    healthy = (await h.open()).case_id
    case_id = await terminated_case(h)
    await h.idle(healthy)
    # The terminated case's events only: while the doctor's workflow runs, the
    # time-skipping server may move on to the healthy case's next timer.
    before = snapshot(h, case_id)
    counted = (
        REGISTRY.get_sample_value("casework_doctor_findings_total", {"kind": "terminated"}) or 0.0
    )
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    configure_logging("INFO", json_lines=True)
    report = await h.env.client.execute_workflow(
        "casework-doctor",
        {},
        id=f"casework-doctor-{uuid.uuid4()}",
        task_queue=h.service.task_queue,
        result_type=DoctorReport,
    )
    assert report == DoctorReport(open_cases=2, findings={"terminated": 1})
    lines = [json.loads(line) for line in err.getvalue().splitlines() if line.startswith("{")]
    found = [line for line in lines if line.get("event") == "doctor.finding"]
    assert [(f["case_id"], f["kind"]) for f in found] == [(case_id, "terminated")]
    assert (
        REGISTRY.get_sample_value("casework_doctor_findings_total", {"kind": "terminated"})
        == counted + 1
    )
    assert snapshot(h, case_id) == before  # report only


def test_the_doctor_is_scheduled_daily_report_only(sqlite_engine: Engine) -> None:
    from casework.scheduling import load

    config = load()
    [doctor] = [w for w in wanted(config, sqlite_engine) if w.schedule_id == "casework-doctor"]
    assert doctor.workflow == "casework-doctor"
    assert doctor.calendar == {"hour": config.doctor.hour, "minute": config.doctor.minute}
    spec = doctor.schedule("q").spec.calendars[0]
    assert [r.start for r in spec.hour] == [config.doctor.hour]
    assert spec.month[0].start == 1 and spec.month[0].end == 12  # every month
