"""A fake bank that remembers: every transfer in a SQLite file, one row per idempotency
key. For the demo stack and the crash tests, where the worker that made a transfer may
be killed and another one repeat it: the ledger still holds one transfer per key, and
counts how often each was asked for. Selected by CASEWORK_BANK_LEDGER (a file path)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from activities.disbursement import AccountRejected, TransferOrder
from casework.store.funds import BankTransfer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transfers (
    idempotency_key TEXT PRIMARY KEY,
    amount_fen INTEGER NOT NULL,
    reference TEXT NOT NULL,
    asked INTEGER NOT NULL DEFAULT 1
)
"""


class LedgerBank:
    def __init__(self, path: Path, declined_suffix: str = "0000") -> None:
        self.path = Path(path)
        self.declined_suffix = declined_suffix
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def transfer(self, order: TransferOrder) -> str:
        if order.account.endswith(self.declined_suffix):
            raise AccountRejected("收款账户被银行拒绝 (account rejected by the bank)")
        with self._lock, self._connect() as conn:
            conn.execute(
                "INSERT INTO transfers (idempotency_key, amount_fen, reference) VALUES (?, ?, ?) "
                "ON CONFLICT (idempotency_key) DO UPDATE SET asked = asked + 1",
                (order.idempotency_key, order.amount_fen, order.reference),
            )
            (rowid,) = conn.execute(
                "SELECT rowid FROM transfers WHERE idempotency_key = ?", (order.idempotency_key,)
            ).fetchone()
        return f"LEDGER-{rowid:08d}"

    def totals(self) -> tuple[int, int, int]:
        """(transfers, their amount in fen, times asked)."""
        with self._connect() as conn:
            n, amount, asked = conn.execute(
                "SELECT count(*), coalesce(sum(amount_fen), 0), coalesce(sum(asked), 0) "
                "FROM transfers"
            ).fetchone()
        return int(n), int(amount), int(asked)

    def transfers(self) -> list[BankTransfer]:
        """Every transfer the bank made, as it reports them (for `funds reconcile`)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT idempotency_key, amount_fen, reference FROM transfers ORDER BY rowid"
            ).fetchall()
        return [BankTransfer(idempotency_key=k, amount_fen=int(a), reference=r) for k, a, r in rows]
