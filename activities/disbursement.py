"""Disbursement (资金发放): a bank transfer of approved relief to the applicant."""

from __future__ import annotations

import threading
from typing import Protocol

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from casework.domain.contracts import ACCOUNT_REJECTED, DISBURSE, DisburseRequest, DisburseResult
from casework.metrics import PAYMENTS
from casework.store.personal import PersonalData, PersonalDataErased


class TransferOrder(BaseModel):
    idempotency_key: str
    account: str
    amount_fen: int
    reference: str


class TransferFailed(Exception):
    """The bank could not make the transfer now; trying again may succeed."""


class AccountRejected(Exception):
    """The bank refuses this account; trying again will not help."""


class BankClient(Protocol):
    """What a real bank integration implements. `idempotency_key` must make a repeated
    order a no-op that returns the first transfer's reference."""

    def transfer(self, order: TransferOrder) -> str: ...


class FakeBank:
    """In-memory bank for development and tests. Fails on demand:
    `fail_next` transient failures, and accounts ending in `declined_suffix` rejected."""

    def __init__(self, fail_next: int = 0, declined_suffix: str = "0000") -> None:
        self.fail_next = fail_next
        self.declined_suffix = declined_suffix
        self.transfers: dict[str, TransferOrder] = {}
        self.attempts = 0
        self._lock = threading.Lock()

    def transfer(self, order: TransferOrder) -> str:
        with self._lock:
            self.attempts += 1
            if order.account.endswith(self.declined_suffix):
                raise AccountRejected("收款账户被银行拒绝 (account rejected by the bank)")
            if self.fail_next > 0:
                self.fail_next -= 1
                raise TransferFailed("银行系统暂时不可用 (bank temporarily unavailable)")
            self.transfers.setdefault(order.idempotency_key, order)
            return f"FAKE-{order.idempotency_key[:8]}"


class Disbursement:
    def __init__(self, bank: BankClient, personal: PersonalData) -> None:
        self.bank = bank
        self.personal = personal

    @activity.defn(name=DISBURSE)
    def disburse(self, req: DisburseRequest) -> DisburseResult:
        # Decrypted here, for the bank only: the account never enters workflow history.
        try:
            account = self.personal.bank_account(req.case_id)
        except PersonalDataErased:
            account = None
        if account is None:
            # An expected business outcome (the case records the failed payment):
            # BENIGN keeps it to one line in the log, without a traceback.
            raise ApplicationError(
                "申请人未登记银行账户 (no bank account on file)",
                type=ACCOUNT_REJECTED,
                non_retryable=True,
                category=ApplicationErrorCategory.BENIGN,
            )
        order = TransferOrder(
            idempotency_key=req.idempotency_key,
            account=account,
            amount_fen=req.amount_fen,
            reference=req.case_id,
        )
        try:
            result = DisburseResult(transfer_ref=self.bank.transfer(order))
        except AccountRejected as exc:
            PAYMENTS.labels("case", "rejected").inc()
            raise ApplicationError(
                str(exc),
                type=ACCOUNT_REJECTED,
                non_retryable=True,
                category=ApplicationErrorCategory.BENIGN,
            ) from exc
        except TransferFailed as exc:
            PAYMENTS.labels("case", "failed").inc()
            raise ApplicationError(str(exc), type="TransferFailed") from exc
        PAYMENTS.labels("case", "paid").inc()
        return result
