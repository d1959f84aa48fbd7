"""The exceptions of a refund run as review cases (返还复核) on the time-skipping server:
the run opens each once, in the district's street/town officer's inbox; approved by the
three levels, the case pays the dues recorded through the bank (one refund per firm and
year); a review with nothing to pay from closes refused; a forged opening is refused."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqlalchemy import Engine, func, select
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.configuration import ConfigSource
from activities.disbursement import FakeBank
from casework.config import ProcessConfig
from casework.demo.people import demo_users
from casework.demo.refunds import refund_year
from casework.domain.batch import RunProgress
from casework.domain.case import CaseView
from casework.domain.refund import RefundRunState
from casework.domain.refund_review import (
    CASE_TYPE,
    RefundReviewApplication,
    Stage,
    StartRefundReview,
    run_actor,
)
from casework.service import CaseService
from casework.store.directory import Directory
from casework.store.queries import Queries
from casework.store.refunds import Refunds
from casework.store.tables import cases, dues_refunds, refund_applications
from tests.conftest import TEST_KEYRING
from worker import build_worker

YEAR = 2026


def reviews(engine: Engine) -> dict[str, tuple[str, str, str]]:
    """case id -> (district, reasons, status) of each exception with a case."""
    a = refund_applications
    with engine.connect() as conn:
        rows = conn.execute(
            select(a.c.review_case_id, a.c.district, a.c.reasons, a.c.status).where(
                a.c.review_case_id.is_not(None)
            )
        ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


async def until_opened(engine: Engine, n: int) -> None:
    for _ in range(500):
        with engine.connect() as conn:
            got = conn.scalar(
                select(func.count()).select_from(cases).where(cases.c.case_type == CASE_TYPE)
            )
        if got == n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{got} of {n} reviews recorded their opening")


async def test_exceptions_become_cases_worked_in_the_inbox_and_paid_once(
    env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    engine = sqlite_engine
    directory = Directory(engine)
    directory.upsert(demo_users())
    city = directory.get("city.officer1").actor()
    generated = refund_year(YEAR, 80, seed=17, exception_share=0.3, districts=("崇川区", "通州区"))
    refunds = Refunds(engine, TEST_KEYRING)
    refunds.import_payments(YEAR, generated.payments_csv, city)
    refunds.receive(generated.applications, city)
    queue = f"refunds-{uuid.uuid4()}"
    bank = FakeBank()
    worker = build_worker(
        env.client,
        engine,
        task_queue=queue,
        bank=bank,
        config=ConfigSource(ProcessConfig()),
        keyring=TEST_KEYRING,
    )
    service = CaseService(env.client, engine, queue)
    async with worker:
        for _ in range(2):  # a second run of the year opens nothing twice
            result = await env.client.execute_workflow(
                "RefundRun",
                RefundRunState(year=YEAR, district=None, actor=city),
                id=f"refunds-{uuid.uuid4().hex[:8]}",
                task_queue=queue,
                result_type=RunProgress,
            )
        exceptions = result.counts["exception"]
        opened = reviews(engine)
        assert len(opened) == exceptions > 4
        await until_opened(engine, exceptions)

        officer = directory.get("chongchuan.grassroots1")
        inbox = {i.case_id for i in Queries(engine).inbox(officer)}
        mine = {c for c, (d, _, _) in opened.items() if d == "崇川区"}
        assert mine and mine <= inbox
        assert not mine & {
            i.case_id for i in Queries(engine).inbox(directory.get("tongzhou.grassroots1"))
        }

        # One that asked above its dues: the levels approve, the dues are refunded.
        above = next(c for c, (d, r, _) in opened.items() if d == "崇川区" and r == "above_dues")
        missing = next(
            (c for c, (d, r, _) in opened.items() if d == "崇川区" and "no_payment_record" in r),
            None,
        )
        paid_before = len(bank.transfers)
        for case_id in [above] + ([missing] if missing else []):
            view = await service.act(case_id, officer.actor(), "approve")
            assert view.stage == Stage.DISTRICT_REVIEW
            view = await service.act(
                case_id, directory.get("chongchuan.officer1").actor(), "approve"
            )
            assert view.stage == Stage.LEADER_APPROVAL
            await service.act(case_id, directory.get("chongchuan.leader").actor(), "approve")
        done = await env.client.get_workflow_handle(above, result_type=CaseView).result()
        assert done.outcome == "approved"
        assert reviews(engine)[above][2] == "paid" and len(bank.transfers) == paid_before + 1
        if missing:
            refused = await env.client.get_workflow_handle(missing, result_type=CaseView).result()
            assert refused.outcome == "failed"
        with engine.connect() as conn:
            per_firm = (
                conn.execute(
                    select(func.count())
                    .select_from(dues_refunds)
                    .group_by(dues_refunds.c.credit_code)
                )
                .scalars()
                .all()
            )
        assert set(per_firm) == {1}

        # A forged opening in the run's name for an application it did not open.
        app = next(a for a in generated.applications if a.district == "崇川区")
        forged = await env.client.start_workflow(
            "RefundReview",
            StartRefundReview(
                case_id=f"RF-{YEAR}-999999",
                opened_by=run_actor(),
                application=RefundReviewApplication(
                    application_id=f"RA-{YEAR}-0000001",
                    dues_year=YEAR,
                    firm=app.firm,
                    credit_code=app.credit_code,
                    district=app.district,
                    claimed_fen=app.claimed_fen,
                ),
            ),
            id=f"RF-{YEAR}-999999-{uuid.uuid4().hex[:6]}",
            task_queue=queue,
        )
        try:
            await forged.result()
            raise AssertionError("a forged opening ran")
        except WorkflowFailureError as e:
            assert "not_a" in str(e.cause) or "不" in str(e.cause)
        for case_id in opened:
            with contextlib.suppress(RPCError):  # closed ones cannot be terminated
                await env.client.get_workflow_handle(case_id).terminate("test over")
