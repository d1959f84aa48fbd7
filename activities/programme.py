"""The payment run of a relief programme (发放), as one activity called again and again
by the `ProgrammeRun` workflow: batches of approved rows paid through the bank and
committed one transaction each (docs/batch-runs.md, casework.store.programmes); and the
list deadline (名单上报截止) recorded when its Schedule fires.

Bank account numbers are unsealed here, for the bank only: the workflow's history
carries the programme id, the actor, the cursor and the counts, nothing personal.
"""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.batches import BATCH_SIZE, TIME_BUDGET_S, run_batches
from activities.disbursement import AccountRejected, BankClient, TransferFailed, TransferOrder
from casework.domain.batch import RunProgress
from casework.domain.org import CITY, Role
from casework.domain.programme import PAY_PROGRAMME, RECORD_LISTS_DUE, ListsDue, PayRequest
from casework.domain.refusal import Refused
from casework.metrics import PAYMENTS
from casework.privacy.keys import Keyring
from casework.store.directory import ActorMismatch, Directory
from casework.store.event_store import ActorRefused
from casework.store.programmes import AccountRefused, Programmes, TransientBankError


def bank_transfer(
    bank: BankClient, source: str, key: str, account: str, amount_fen: int, reference: str
) -> str:
    """One transfer of a run at volume through the bank interface (the disbursement
    activity's), its refusals in the store's words; counted by `source`."""
    order = TransferOrder(
        idempotency_key=key, account=account, amount_fen=amount_fen, reference=reference
    )
    try:
        ref = bank.transfer(order)
    except AccountRejected as exc:
        PAYMENTS.labels(source, "rejected").inc()
        raise AccountRefused(str(exc)) from exc
    except TransferFailed as exc:
        PAYMENTS.labels(source, "failed").inc()
        raise TransientBankError(str(exc)) from exc
    PAYMENTS.labels(source, "paid").inc()
    return ref


class ProgrammePayments:
    def __init__(
        self,
        engine: Engine,
        bank: BankClient,
        keyring: Keyring | None,
        batch_size: int = BATCH_SIZE,
        time_budget_s: float = TIME_BUDGET_S,
    ) -> None:
        self.engine = engine
        self.bank = bank
        self.programmes = Programmes(engine, keyring)
        self.batch_size = batch_size
        self.time_budget_s = time_budget_s

    def transfer(self, key: str, account: str, amount_fen: int, reference: str) -> str:
        return bank_transfer(self.bank, "programme", key, account, amount_fen, reference)

    @activity.defn(name=PAY_PROGRAMME)
    def pay_programme(self, req: PayRequest) -> RunProgress:
        """Pay approved rows from the cursor on for about the time budget; the progress
        as the committed rows say."""
        actor = req.actor
        if not actor.has_role(Role.CITY_OFFICER) or actor.district != CITY:
            raise ApplicationError(
                "发放需要市总 city_officer 角色 (a city officer runs the payments)",
                type="role_not_held",
                non_retryable=True,
            )
        with self.engine.connect() as conn:
            try:
                Directory.verify_actor(conn, actor)
            except ActorMismatch as exc:
                raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from None
        batches = 0

        def step(cursor: int) -> int | None:
            nonlocal batches
            done = self.programmes.pay_batch(
                req.programme_id, cursor, self.transfer, actor, self.batch_size
            )
            batches += done is not None
            return done

        try:
            cursor = run_batches(step, req.cursor, time_budget_s=self.time_budget_s)
        except (Refused, ActorRefused) as exc:
            raise ApplicationError(exc.message, type=exc.code, non_retryable=True) from None
        # `batches` 0 and not finished: rows corrected behind the cursor while the run
        # went on; the workflow calls again from 0.
        progress = self.programmes.progress(req.programme_id, cursor, batches)
        if progress.finished:
            self.programmes.finish(req.programme_id)
        return progress


class ProgrammeDeadlines:
    """The list deadline's activity: the `lists.due` event, recorded once."""

    def __init__(self, engine: Engine) -> None:
        self.programmes = Programmes(engine)

    @activity.defn(name=RECORD_LISTS_DUE)
    def record_lists_due(self, programme_id: str) -> ListsDue:
        """The deadline recorded (or as recorded before); a refusal (no such programme,
        not due yet) is not tried again, and being expected, logged without a traceback
        (BENIGN: the SDK's failure line at debug level)."""
        try:
            return self.programmes.record_lists_due(programme_id)
        except Refused as exc:
            raise ApplicationError(
                exc.message,
                type=exc.code,
                non_retryable=True,
                category=ApplicationErrorCategory.BENIGN,
            ) from None
