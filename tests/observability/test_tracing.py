"""One action through the API makes one trace: the HTTP server span, the Update sent to
the case workflow and handled there, and the activity that records its events, all
under one trace id (in-memory exporter), the case's own trace linked; and log lines
carry the trace and case ids."""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from casework.logging import configure_logging
from casework.service import CaseService
from casework.tracing import CURRENT_CASE, instrument_app, temporal_interceptors
from tests.api.conftest import bearer, client_for, make_app
from tests.factories import application_data
from tests.workflows.conftest import Harness
from worker import build_worker

OPENER = "chongchuan.grassroots1"
GR2 = "chongchuan.grassroots2"


@pytest.fixture
def exporter() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    provider = TracerProvider()
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider, spans
    provider.shutdown()


def traced(spans: InMemorySpanExporter, trace_id: int) -> set[str]:
    return {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}


def request_span(spans: InMemorySpanExporter, route: str) -> ReadableSpan:
    [server] = [
        s for s in spans.get_finished_spans() if s.name == route and s.kind.name == "SERVER"
    ]
    return server


async def test_an_action_is_one_trace_from_request_to_activity(
    harness: Harness, exporter: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, spans = exporter
    h = harness
    config = h.env.client.config()
    config["interceptors"] = temporal_interceptors(provider)
    client = Client(**config)
    queue = f"tq-{uuid.uuid4()}"
    service = CaseService(client, h.engine, queue)
    worker = build_worker(
        client,
        h.engine,
        task_queue=queue,
        bank=h.bank,
        civil_affairs=h.civil,
        config=h.config_source,
    )
    app = make_app(h.engine, service)
    instrument_app(app, provider)
    async with worker, client_for(app) as api:
        r = await api.post(
            "/api/cases/hardship", json=application_data(), headers=bearer(h.engine, OPENER)
        )
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        h.opened.append(case_id)
        opening = request_span(spans, "POST /api/cases/hardship")
        opened = traced(spans, opening.context.trace_id)
        spans.clear()
        r = await api.post(
            f"/api/cases/{case_id}/actions/claim", json={}, headers=bearer(h.engine, GR2)
        )
        assert r.status_code == 200, r.text
        await h.terminate_unfinished()  # while this queue's worker can answer

    # The opening: the request, the workflow it starts and the activity that records
    # the case's first events, under the request's trace id.
    assert any(n.startswith("StartWorkflow:") for n in opened), opened
    assert any(n.startswith("RunWorkflow:") for n in opened), opened
    assert "RunActivity:record_events" in opened, opened
    # A later action: one trace from its request through the Update it sent, handled in
    # the workflow, to the activity that recorded its events; the case's trace linked.
    action = request_span(spans, "POST /api/cases/{case_id:case_id}/actions/{action}")
    acted = traced(spans, action.context.trace_id)
    assert {
        "StartWorkflowUpdate:act",
        "ValidateUpdate:act",
        "HandleUpdate:act",
        "StartActivity:record_events",
        "RunActivity:record_events",
    } <= acted, acted
    by_id = {s.context.span_id: s for s in spans.get_finished_spans()}
    [handled] = [s for s in spans.get_finished_spans() if s.name == "HandleUpdate:act"]
    assert handled.parent is not None
    assert by_id[handled.parent.span_id].name == "StartWorkflowUpdate:act"
    [recorded] = [s for s in spans.get_finished_spans() if s.name == "RunActivity:record_events"]
    assert recorded.parent is not None
    assert by_id[recorded.parent.span_id].name == "StartActivity:record_events"
    assert opening.context.trace_id in {link.context.trace_id for link in handled.links}
    # Nothing personal in any span: names and attributes only, never a payload.
    for s in spans.get_finished_spans():
        assert "320602" not in json.dumps(dict(s.attributes or {}), default=str)


@pytest.mark.usefixtures("restore_logging")
def test_log_lines_carry_trace_and_case_ids(
    exporter: tuple[TracerProvider, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, _ = exporter
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    configure_logging("INFO", json_lines=True)
    log = structlog.get_logger("test")
    token = CURRENT_CASE.set("HR-2026-000042")
    try:
        with provider.get_tracer("test").start_as_current_span("request") as span:
            log.info("inside")
    finally:
        CURRENT_CASE.reset(token)
    log.info("outside")
    inside, outside = (json.loads(line) for line in err.getvalue().splitlines())
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert inside["case_id"] == "HR-2026-000042"
    assert not {"trace_id", "span_id", "case_id"} & set(outside)


async def test_the_api_knows_the_case_a_request_works_on(harness: Harness) -> None:
    from casework.tracing import case_of_path

    assert case_of_path("/api/cases/HR-2026-000123/actions/claim") == "HR-2026-000123"
    assert case_of_path("/cases/LA-2026-000004") == "LA-2026-000004"
    assert case_of_path("/api/cases/hardship") is None
