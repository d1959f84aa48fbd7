"""OpenTelemetry tracing: one trace follows an action from the HTTP request through the
Temporal Update into the activity that records it.

- The API's server span comes from opentelemetry-instrumentation-fastapi (probes and
  `/metrics` excluded); Temporal's spans from `temporalio.contrib.opentelemetry`'s
  TracingInterceptor on the client (which the worker inherits), which carries the span
  context in the Update's and activity's headers.
- CASEWORK_OTLP_ENDPOINT set: spans are batched to that OTLP/HTTP endpoint under the
  service name `casework-api` or `casework-worker`. Unset: no provider, no interceptor,
  nothing recorded.
- Spans carry names (`StartWorkflowUpdate:act`, `RunActivity:record_events`), ids and
  route templates; never a payload, so no personal data.

`casework.logging` adds the current trace and span ids, and the case id this request or
activity works on (`CURRENT_CASE`), to every structlog line.
"""

from __future__ import annotations

import contextvars
import re
from typing import Any

from opentelemetry import trace

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
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(provider.get_tracer("casework.temporal"))]


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
