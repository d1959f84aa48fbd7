"""Composition root: settings -> Temporal client -> Worker with every workflow and the
activity objects, their dependencies injected. Run more of these to scale out."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
import uvicorn
from sqlalchemy import Engine
from temporalio.activity import _Definition
from temporalio.client import Client
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.annual_report import AnnualReporting
from activities.annual_review import AnnualReviewActivities
from activities.batches import BATCH_SIZE
from activities.campaign import CampaignActivities
from activities.civil_affairs import CivilAffairsCheck, CivilAffairsRegistry, FakeCivilAffairs
from activities.configuration import ConfigSource
from activities.disbursement import BankClient, Disbursement, FakeBank
from activities.doctor import DoctorReporting
from activities.ledger_bank import LedgerBank
from activities.nomination import NominationActivities
from activities.privacy import PrivacyDueReporting
from activities.programme import ProgrammeDeadlines, ProgrammePayments
from activities.recording import Recorder
from activities.refund_review import RefundReviews
from activities.refunds import RefundPayments
from activities.register import HouseholdExits
from activities.reverification import ReverificationActivities
from activities.sampling import AuditSampling
from casework.config import ProcessConfig
from casework.domain.registry import CASE_TYPES
from casework.logging import configure_logging
from casework.privacy.codec import keyring_of
from casework.privacy.keys import Keyring
from casework.sandbox import workflow_runner
from casework.settings import Settings
from casework.store.db import make_engine, migrate
from casework.store.event_store import EventStore
from casework.store.personal import PersonalData
from casework.temporal import connect, worker_deployment
from casework.tracing import configure_tracing
from casework.worker_http import create_worker_app, split_address
from workflows.annual_review import AnnualReviewWorkflow
from workflows.assess import AnnualReportWorkflow, AssessStarterWorkflow, ProgrammeDeadlineWorkflow
from workflows.campaign import CampaignWorkflow
from workflows.doctor import DoctorWorkflow
from workflows.household_exit import HouseholdExitWorkflow
from workflows.privacy import PrivacyDueWorkflow
from workflows.programme import ProgrammeRunWorkflow
from workflows.refunds import RefundRunWorkflow
from workflows.title_revocation import TitleRevocationWorkflow


def activity_name(fn: Callable[..., Any]) -> str:
    defn = _Definition.must_from_callable(fn)
    return str(defn.name)


def case_workflows() -> list[type]:
    """The workflow of every registered case type (`CaseType.workflow_class`)."""
    found = []
    for t in CASE_TYPES.values():
        module, name = t.workflow_class.split(":")
        found.append(getattr(importlib.import_module(module), name))
    return found


WORKFLOWS = [
    *case_workflows(),
    HouseholdExitWorkflow,
    TitleRevocationWorkflow,
    CampaignWorkflow,
    AnnualReviewWorkflow,
    AssessStarterWorkflow,
    AnnualReportWorkflow,
    ProgrammeDeadlineWorkflow,
    ProgrammeRunWorkflow,
    RefundRunWorkflow,
    DoctorWorkflow,
    PrivacyDueWorkflow,
]


def build_worker(
    client: Client,
    engine: Engine,
    *,
    task_queue: str,
    bank: BankClient | None = None,
    civil_affairs: CivilAffairsRegistry | None = None,
    config: ProcessConfig | ConfigSource | None = None,
    max_cached_workflows: int = 10_000,
    workflows: Sequence[type] = WORKFLOWS,
    keyring: Keyring | None = None,
    review_batch_size: int = BATCH_SIZE,
    refund_batch_size: int = BATCH_SIZE,
    overrides: Sequence[Callable[..., Any]] = (),
    deployment: WorkerDeploymentConfig | None = None,
) -> Worker:
    """`keyring`: master keys for personal data; by default those of the client's codec.
    `overrides`: activities that replace the built ones of the same name (tests).
    `deployment`: the Worker Versioning version it declares (`worker_deployment`); None:
    unversioned."""
    store = EventStore(engine)
    recorder = Recorder(store)
    exits = HouseholdExits(store)
    keyring = keyring or keyring_of(client.data_converter)
    personal = PersonalData(engine, keyring)
    bank = bank or FakeBank()
    disbursement = Disbursement(bank, personal)
    programme_payments = ProgrammePayments(engine, bank, keyring)
    check = CivilAffairsCheck(civil_affairs or FakeCivilAffairs(), personal)
    source = config if isinstance(config, ConfigSource) else ConfigSource(config or ProcessConfig())
    review = AnnualReviewActivities(store, source, batch_size=review_batch_size)
    follow_ups = ReverificationActivities(engine, client)
    nominations = NominationActivities(engine)
    refund_payments = RefundPayments(engine, bank, keyring, source, batch_size=refund_batch_size)
    refund_reviews = RefundReviews(engine, client, bank, keyring)
    campaign = CampaignActivities(engine, client)
    activities: list[Callable[..., Any]] = [
        recorder.record_events,
        exits.record_household_exit,
        disbursement.disburse,
        check.check_civil_affairs,
        source.process_config,
        AuditSampling(engine).draw_audit_sample,
        review.annual_review_settings,
        review.annual_review_batches,
        review.annual_review_spot_checks,
        review.annual_review_figures,
        AnnualReporting(engine).compute_annual_report,
        follow_ups.annual_review_follow_ups,
        follow_ups.reverification_opening,
        follow_ups.reverification_resolution,
        programme_payments.pay_programme,
        ProgrammeDeadlines(engine).record_lists_due,
        nominations.nomination_opening,
        nominations.nomination_campaign_row,
        nominations.record_title_revocation,
        campaign.campaign_forward,
        campaign.campaign_vote,
        campaign.campaign_deliver_news,
        campaign.campaign_close_if_done,
        refund_payments.refund_settings,
        refund_payments.refund_batch,
        refund_reviews.refund_reviews_open,
        refund_reviews.refund_review_opening,
        refund_reviews.refund_review_payment,
        DoctorReporting(engine).doctor_report,
        PrivacyDueReporting(engine, source).privacy_due_report,
    ]
    replaced = {activity_name(a) for a in overrides}
    return Worker(
        client,
        task_queue=task_queue,
        workflows=workflows,
        activities=[*(a for a in activities if activity_name(a) not in replaced), *overrides],
        activity_executor=ThreadPoolExecutor(max_workers=32),
        max_cached_workflows=max_cached_workflows,
        workflow_runner=workflow_runner(),
        deployment_config=deployment,
    )


async def run_worker(settings: Settings) -> None:
    log = structlog.get_logger("casework.worker")
    configure_tracing(settings.otlp_endpoint, "casework-worker")
    engine = make_engine(settings.database_url)
    migrate(engine)
    client = await connect(settings)
    config = ConfigSource.from_files(settings.config, settings.holidays_file)
    worker = build_worker(
        client,
        engine,
        task_queue=settings.task_queue,
        config=config,
        max_cached_workflows=settings.max_cached_workflows,
        bank=LedgerBank(settings.bank_ledger) if settings.bank_ledger else None,
        deployment=worker_deployment(settings),
    )
    config.warn_uncovered_years()
    log.info(
        "worker.started",
        task_queue=settings.task_queue,
        temporal=settings.temporal_address,
        deployment=settings.worker_deployment_name,
        build_id=settings.worker_build_id,
    )
    if settings.worker_http_address is None:
        await worker.run()
        return
    http = worker_http_server(settings, engine, client, worker)
    serving = asyncio.create_task(http.serve())
    try:
        await worker.run()
    finally:
        http.should_exit = True
        await serving


def worker_http_server(
    settings: Settings, engine: Engine, client: Client, worker: Worker
) -> uvicorn.Server:
    """The worker's /healthz, /readyz and /metrics (casework.worker_http)."""
    assert settings.worker_http_address is not None
    host, port = split_address(settings.worker_http_address)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    app = create_worker_app(engine, client, lambda: worker.is_running, token)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    return uvicorn.Server(config)


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
