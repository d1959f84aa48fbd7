"""The real worker (`worker.main`) with a bank whose first answer to each transfer is
a refusal naming the account, as a real bank adapter's error message may. The Temporal
SDK then logs the failed activity with its traceback, through the standard `logging`
module: the worker's log must show the account masked.

Test-only: production code carries no hook. Run as a script (tests/security/conftest.py).
"""

from __future__ import annotations

from activities.disbursement import FakeBank, TransferFailed, TransferOrder

_transfer = FakeBank.transfer
_refused_once: set[str] = set()


def _refuse_first_attempt(self: FakeBank, order: TransferOrder) -> str:
    if order.idempotency_key not in _refused_once:
        _refused_once.add(order.idempotency_key)
        raise TransferFailed(
            f"银行暂时拒绝转入账户 {order.account} (bank refused account {order.account} "
            "for now; retry later)"
        )
    return _transfer(self, order)


FakeBank.transfer = _refuse_first_attempt  # type: ignore[method-assign]


if __name__ == "__main__":
    from worker import main

    main()
