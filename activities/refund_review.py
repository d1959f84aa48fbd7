"""The refund review cases' side effects (返还复核): the run opening its exceptions as
cases (numbered in batches, started 20 at a time by case id, as the annual review opens
its follow-ups: the same helpers); a case's worker-side check of its opening; and the
payment of an approved case through the bank interface, under the run's keys."""

from __future__ import annotations

import asyncio

import structlog
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.disbursement import BankClient
from activities.programme import bank_transfer
from activities.reverification import NUMBER_BATCH, START_CONCURRENCY, start_cases
from casework.domain.refund_review import (
    REFUND_REVIEW,
    RefundReviewApplication,
    StartRefundReview,
    run_actor,
)
from casework.domain.refusal import Refused
from casework.privacy.keys import Keyring
from casework.store.refunds import (
    Refunds,
    number_reviews,
    review_opening_refusal,
    unstarted_reviews,
)

log = structlog.get_logger("casework.refund_review")

OPEN_REVIEWS = "refund_reviews_open"
CHECK_REVIEW_OPENING = "refund_review_opening"
PAY_REVIEW = "refund_review_payment"


class ReviewsCall(BaseModel):
    year: int
    district: str | None


class ReviewOpeningCheck(BaseModel):
    case_id: str
    application: RefundReviewApplication
    by_run: bool


class ReviewOpeningAnswer(BaseModel):
    code: str | None = None
    message: str | None = None


class PayReviewCall(BaseModel):
    case_id: str
    application: RefundReviewApplication


class ReviewPaid(BaseModel):
    amount_fen: int
    transfer_ref: str


class RefundReviews:
    def __init__(
        self,
        engine: Engine,
        client: Client,
        bank: BankClient,
        keyring: Keyring | None,
        *,
        concurrency: int = START_CONCURRENCY,
    ) -> None:
        self.engine = engine
        self.client = client
        self.bank = bank
        self.refunds = Refunds(engine, keyring)
        self.concurrency = concurrency

    @activity.defn(name=OPEN_REVIEWS)
    async def refund_reviews_open(self, call: ReviewsCall) -> int:
        """Number every exception of the run without a case, then start the review
        workflows not recorded as opened. A retry numbers and starts nothing twice."""
        numbered = 0
        while n := await asyncio.to_thread(
            number_reviews, self.engine, call.year, call.district, NUMBER_BATCH
        ):
            numbered += n
            activity.heartbeat(numbered)
        queue = activity.info().task_queue
        started, after = 0, ""
        while todo := await asyncio.to_thread(
            unstarted_reviews, self.engine, call.year, call.district, after
        ):
            after = todo[-1][0]
            started += await start_cases(
                self.client,
                REFUND_REVIEW.workflow_name,
                [
                    (
                        case_id,
                        StartRefundReview(case_id=case_id, opened_by=run_actor(), application=app),
                    )
                    for case_id, app in todo
                ],
                queue,
                self.concurrency,
            )
            activity.heartbeat(numbered, after)
        log.info("refunds.reviews_opened", year=call.year, numbered=numbered, started=started)
        return started

    @activity.defn(name=CHECK_REVIEW_OPENING)
    def refund_review_opening(self, check: ReviewOpeningCheck) -> ReviewOpeningAnswer:
        with self.engine.connect() as conn:
            refused = review_opening_refusal(conn, check.case_id, check.application, check.by_run)
        if refused is None:
            return ReviewOpeningAnswer()
        return ReviewOpeningAnswer(code=refused[0], message=refused[1])

    def transfer(self, key: str, account: str, amount_fen: int, reference: str) -> str:
        return bank_transfer(self.bank, "refund", key, account, amount_fen, reference)

    @activity.defn(name=PAY_REVIEW)
    def refund_review_payment(self, call: PayReviewCall) -> ReviewPaid:
        """The approved case's refund; a refusal is not tried again."""
        try:
            amount, ref = self.refunds.pay_reviewed(call.case_id, call.application, self.transfer)
        except Refused as exc:
            raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from None
        return ReviewPaid(amount_fen=amount, transfer_ref=ref)
