"""Temporal connection details shared by the worker and every client. Every client
connects with casework's data converter: pydantic models, encrypted by the payload
codec of `casework.privacy.codec`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from casework.settings import Settings

if TYPE_CHECKING:
    from temporalio.worker import WorkerDeploymentConfig

    from casework.privacy.keys import Keyring

CASE_TYPE = SearchAttributeKey.for_keyword("CaseType")
CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
CASE_DISTRICT = SearchAttributeKey.for_keyword("CaseDistrict")
CASE_ASSIGNEE = SearchAttributeKey.for_keyword("CaseAssignee")
CASE_DUE_AT = SearchAttributeKey.for_datetime("CaseDueAt")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")

SEARCH_ATTRIBUTES = (CASE_TYPE, CASE_STAGE, CASE_DISTRICT, CASE_ASSIGNEE, CASE_DUE_AT, CASE_STATUS)
"""Registered when the embedded dev server starts (`--search-attribute Name=Type`)."""


async def connect(settings: Settings, keyring: Keyring | None = None) -> Client:
    """A client whose payloads are encrypted with the deployment's keys."""
    # Imported here: workflows import this module for the search attribute keys.
    from casework.privacy.codec import encrypted_data_converter
    from casework.privacy.keys import load_keyring
    from casework.tracing import temporal_interceptors

    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=encrypted_data_converter(keyring or load_keyring(settings)),
        tls=settings.temporal_tls,
        runtime=runtime(settings.temporal_metrics_address),
        interceptors=temporal_interceptors(),  # tracing, when CASEWORK_OTLP_ENDPOINT is set
    )


_runtime: Any = None


def runtime(metrics_address: str | None = None) -> Any:
    """The process's Temporal runtime (`make_runtime`). One per process: the first call
    decides where its metrics go."""
    global _runtime
    if _runtime is None:
        _runtime = make_runtime(metrics_address)
    return _runtime


def make_runtime(metrics_address: str | None = None) -> Any:
    """A Temporal runtime with the SDK core's (Rust) log lines forwarded into Python
    logging (logger `temporalio.core`): they are then masked and rendered like every
    other line (casework.logging) instead of written raw to stderr. `metrics_address`
    (CASEWORK_TEMPORAL_METRICS_ADDRESS, `HOST:PORT`): where the SDK serves its own
    metrics (workflow and activity task latencies, poll and slot counts, ...) in
    Prometheus format."""
    import logging

    from temporalio.runtime import (
        LogForwardingConfig,
        LoggingConfig,
        PrometheusConfig,
        Runtime,
        TelemetryConfig,
        TelemetryFilter,
    )

    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=(
                PrometheusConfig(bind_address=metrics_address, durations_as_seconds=True)
                if metrics_address
                else None
            ),
        )
    )


def worker_deployment(settings: Settings) -> WorkerDeploymentConfig | None:
    """The worker's Worker Versioning configuration (temporalio `WorkerDeploymentConfig`):
    the version `CASEWORK_WORKER_DEPLOYMENT_NAME` . `CASEWORK_WORKER_BUILD_ID`, with
    `CASEWORK_WORKER_VERSIONING_BEHAVIOR` (auto-upgrade by default, docs/DECISIONS.md) for
    every workflow it runs; None when unset: an unversioned worker, as `make run` has."""
    from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
    from temporalio.worker import WorkerDeploymentConfig

    if settings.worker_deployment_name is None or settings.worker_build_id is None:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(settings.worker_deployment_name, settings.worker_build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior[settings.worker_versioning_behavior.upper()],
    )
