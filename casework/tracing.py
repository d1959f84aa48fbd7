"""OpenTelemetry tracing: one trace follows an action from the HTTP request through the
Temporal Update into the activity that records it.

- The API's server span comes from opentelemetry-instrumentation-fastapi (probes and
  `/metrics` excluded); Temporal's spans from `temporalio.contrib.opentelemetry`'s
  TracingInterceptor on the client (which the worker inherits), which carries the span
  context in the Update's and activity's headers.
- CASEWORK_OTLP_ENDPOINT set: spans are batched to that OTLP/HTTP endpoint under the
  service name `casework-api` or `casework-worker`. Unset: no provider, no interceptor,
  nothing recorded.
- Temporal's model is one trace per workflow run: its interceptor handles an Update in
  the case's trace (the opening request's) and only links the request's. Ours
  (`ActionTracingInterceptor`) makes the Update's own header the parent instead, so an
  action is one trace: request → `StartWorkflowUpdate:act` → `HandleUpdate:act` and
  `StartActivity:record_events` → `RunActivity:record_events`, the case's trace linked.
- Spans carry names (`StartWorkflowUpdate:act`, `RunActivity:record_events`), ids and
  route templates; never a payload, so no personal data.

`casework.logging` adds the current trace and span ids, and the case id this request or
activity works on (`CURRENT_CASE`), to every structlog line.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.worker import HandleUpdateInput, WorkflowInterceptorClassInput

CURRENT_CASE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "casework_case_id", default=None
)
"""The case an HTTP request acts on (set by the API's middleware from its path)."""

CASE_IN_PATH = re.compile(r"/cases/([A-Z]{2,3}-\d{4}-\d{6})(?:/|$)")
UNTRACED_URLS = "healthz,readyz,metrics,static"

_provider: Any = None


def configure_tracing(otlp_endpoint: str | None, service_name: str) -> Any:
    """Install the process's tracer provider exporting to `otlp_endpoint`; None (and
    nothing installed) when it is unset."""
    global _provider
    if not otlp_endpoint:
        return None
    if _provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        trace.set_tracer_provider(provider)
        _provider = provider
    return _provider


def temporal_interceptors(provider: Any = None) -> list[Any]:
    """The Temporal client's interceptors: the tracing one when a provider is given or
    configured, else none (a worker built on the client uses them too)."""
    provider = provider or _provider
    if provider is None:
        return []
    return [ActionTracingInterceptor(provider.get_tracer("casework.temporal"))]


class _ActionWorkflowInbound(TracingWorkflowInboundInterceptor):
    """An Update's spans (validator, handler, and what the handler starts) in the trace
    of the request that sent it, the case's trace linked. Spans are made only when not
    replaying (`_completed_span`), as temporalio's are; nothing here reaches the
    workflow's commands, so histories and replays are unchanged. An Update sent without
    a span is traced as temporalio does."""

    @contextmanager
    def _request_context(self, input: HandleUpdateInput) -> Iterator[Any]:
        """The request's span current (the Update's header); yields the case's trace."""
        header = input.headers[self.header_key]
        carrier = self.payload_converter.from_payloads([header])[0]
        token = otel_context.attach(self._set_on_context(self.text_map_propagator.extract(carrier)))
        try:
            yield self._load_workflow_context_carrier()
        finally:
            otel_context.detach(token)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        if self.header_key not in input.headers:
            return super().handle_update_validator(input)
        with self._request_context(input) as case_trace:
            self._completed_span(
                f"ValidateUpdate:{input.update}",
                link_context_carrier=case_trace,
                kind=trace.SpanKind.SERVER,
            )
            self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        if self.header_key not in input.headers:
            return await super().handle_update_handler(input)
        with self._request_context(input) as case_trace:
            self._completed_span(
                f"HandleUpdate:{input.update}",
                link_context_carrier=case_trace,
                kind=trace.SpanKind.SERVER,
            )
            return await self.next.handle_update_handler(input)


class ActionTracingInterceptor(TracingInterceptor):
    """temporalio's TracingInterceptor, with an Update traced under its request."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span-making externs
        return _ActionWorkflowInbound


def instrument_app(app: Any, provider: Any = None) -> None:
    """Server spans for the API's requests (when tracing is on)."""
    provider = provider or _provider
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=UNTRACED_URLS)


def case_of_path(path: str) -> str | None:
    found = CASE_IN_PATH.search(path)
    return found.group(1) if found else None


def current_ids() -> dict[str, str]:
    """`trace_id` and `span_id` of the current span (hex, as tracing back-ends show
    them), and `case_id` of the current request or activity; only those known."""
    ids: dict[str, str] = {}
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        ids["trace_id"] = format(context.trace_id, "032x")
        ids["span_id"] = format(context.span_id, "016x")
    case_id = CURRENT_CASE.get()
    if case_id is None:
        case_id = _activity_case()
    if case_id is not None:
        ids["case_id"] = case_id
    return ids


def _activity_case() -> str | None:
    """In an activity of a case workflow, the case id is the workflow id."""
    from temporalio import activity

    if not activity.in_activity():
        return None
    workflow_id = activity.info().workflow_id
    return workflow_id if workflow_id and CASE_IN_PATH.search(f"/cases/{workflow_id}") else None
