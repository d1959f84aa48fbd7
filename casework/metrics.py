"""Prometheus metrics of casework's own (the Temporal SDK's are exported by its Runtime,
`casework.temporal.runtime`).

- HTTP: `casework_http_requests_total` and `casework_http_request_duration_seconds` by
  method, route *template* (`/api/cases/{case_id}`, never a case id) and status.
- The store: `casework_events_appended_total`, counted in the append's process after
  commit (a retried append that finds its events stored counts nothing).
- Money: `casework_payments_total` by kind (case, programme) and outcome (paid,
  rejected, failed).
- Supervision, read from the `case_tasks` projection on each scrape in one grouped
  query: `casework_tasks_open`, `casework_tasks_overdue`, `casework_tasks_escalated` by
  district and stage.

Counters live in the process's default registry; the task gauges in a registry per
engine (`TaskGauges`), since a process may serve several stores (tests do).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HTTP_REQUESTS = Counter(
    "casework_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "casework_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
EVENTS_APPENDED = Counter(
    "casework_events_appended", "Events written to the event store (after commit)."
)
PAYMENTS = Counter(
    "casework_payments",
    "Bank transfers asked for, by kind (case, programme, refund) and outcome (paid, rejected, failed).",
    ["kind", "outcome"],
)
DOCTOR_FINDINGS = Counter(
    "casework_doctor_findings",
    "Cases whose workflow and read model disagree, found by the scheduled doctor, by kind.",
    ["kind"],
)
PRIVACY_DUE = Gauge(
    "casework_privacy_due",
    "Closed cases (by case type) and relief programmes past their retention period whose "
    "personal data is not yet erased, as the scheduled retention check last found them.",
    ["kind"],
)

UNROUTED = "<unrouted>"
"""The route label of a request no route matched: raw paths would grow without bound."""

OPEN_STATUSES = ("open", "waiting_info")


class TaskGauges(Collector):
    """Open, overdue and escalated tasks per district and stage, read on scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from casework.store.tables import case_tasks as t

        labels = ["district", "stage"]
        families = {
            "open": GaugeMetricFamily("casework_tasks_open", "Open tasks.", labels=labels),
            "overdue": GaugeMetricFamily(
                "casework_tasks_overdue", "Open tasks past their due time.", labels=labels
            ),
            "escalated": GaugeMetricFamily(
                "casework_tasks_escalated", "Open tasks escalated to supervisors.", labels=labels
            ),
        }
        query = (
            sa.select(
                t.c.district,
                t.c.stage,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(t.c.overdue), 0),
                sa.func.coalesce(sa.func.sum(t.c.escalated), 0),
            )
            .where(t.c.status.in_(OPEN_STATUSES))
            .group_by(t.c.district, t.c.stage)
        )
        with self.engine.connect() as conn:
            for district, stage, count, overdue, escalated in conn.execute(query):
                families["open"].add_metric([district, stage], count)
                families["overdue"].add_metric([district, stage], overdue)
                families["escalated"].add_metric([district, stage], escalated)
        yield from families.values()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


def task_registry(engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskGauges(engine))
    return registry


def exposition(*registries: Any) -> bytes:
    """The text format of the default registry, then of each registry given."""
    return b"".join(generate_latest(r) for r in (REGISTRY, *registries))


def scrape_allowed(authorization: str | None, token: str | None) -> bool:
    """Who may read metrics: anyone who reaches the port when no token is set (deploy/
    keeps the port off the proxy), else only `Authorization: Bearer <token>`."""
    if token is None:
        return True
    given = (authorization or "").removeprefix("Bearer ").strip()
    return secrets.compare_digest(given.encode(), token.encode())
