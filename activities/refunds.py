"""The union-dues refund run (返还): one activity called again and again by the
`RefundRun` workflow, matching a year's received applications against the payment
records in batches, paying the clean ones through the bank and committing one
transaction per batch (docs/batch-runs.md, casework.store.refunds); and the run's
settings, read once per run.

The unions' accounts are unsealed here, for the bank only: the workflow's history holds
the year, the district, the actor, the cursor and the counts.
"""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.batches import BATCH_SIZE, TIME_BUDGET_S, run_batches
from activities.configuration import ConfigSource
from activities.disbursement import BankClient
from activities.programme import bank_transfer
from casework.domain.batch import RunProgress
from casework.domain.refund import (
    REFUND_BATCH,
    REFUND_SETTINGS,
    RefundRequest,
    RefundsConfig,
    check_runner,
)
from casework.domain.refusal import Refused
from casework.privacy.keys import Keyring
from casework.store.directory import ActorMismatch, Directory
from casework.store.event_store import ActorRefused
from casework.store.refunds import Refunds


class RefundPayments:
    def __init__(
        self,
        engine: Engine,
        bank: BankClient,
        keyring: Keyring | None,
        config: ConfigSource | None = None,
        batch_size: int = BATCH_SIZE,
        time_budget_s: float = TIME_BUDGET_S,
    ) -> None:
        self.engine = engine
        self.bank = bank
        self.refunds = Refunds(engine, keyring)
        self.config = config
        self.batch_size = batch_size
        self.time_budget_s = time_budget_s

    def transfer(self, key: str, account: str, amount_fen: int, reference: str) -> str:
        return bank_transfer(self.bank, "refund", key, account, amount_fen, reference)

    @activity.defn(name=REFUND_SETTINGS)
    def refund_settings(self, year: int) -> RefundsConfig:
        """The rules in force when a run starts (kept in its history: every batch alike)."""
        return self.config.current().refunds if self.config is not None else RefundsConfig()

    @activity.defn(name=REFUND_BATCH)
    def refund_batch(self, req: RefundRequest) -> RunProgress:
        """Match and pay from the cursor on for about the time budget; the progress as
        the committed rows say."""
        actor = req.actor
        try:
            check_runner(actor, req.district)
        except Refused as exc:
            raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from None
        with self.engine.connect() as conn:
            try:
                Directory.verify_actor(conn, actor)
            except ActorMismatch as exc:
                raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from None
        config = req.config or RefundsConfig()
        batches = 0

        def step(cursor: int) -> int | None:
            nonlocal batches
            done = self.refunds.match_batch(
                req.year, req.district, cursor, self.transfer, actor, config, self.batch_size
            )
            batches += done is not None
            return done

        try:
            cursor = run_batches(step, req.cursor, time_budget_s=self.time_budget_s)
        except (Refused, ActorRefused) as exc:
            raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from None
        return self.refunds.progress(req.year, req.district, cursor, batches)
