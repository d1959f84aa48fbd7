"""Waking the cases that wait for a district's fund (issue #14), for the edges (CLI,
API) after a movement of the funds ledger.

A top-up is recorded in the store first; then each hardship case of that district and
year waiting in `awaiting_funds` (found from the `cases` projection) is signalled to
try its reservation now. A signal that does not arrive (Temporal unreachable, a case
continuing as new) costs only time: every waiting case also tries again on its own
timer (workflows/hardship_relief.py, `_await_funds`).
"""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from casework.domain.funds import FUNDS_AVAILABLE
from casework.store.funds import FundsLedger

log = structlog.get_logger("casework.funds")


async def wake_waiting_cases(client: Client, engine: Engine, district: str, year: int) -> list[str]:
    """Signal the cases of `district` waiting for its `year` fund; the ids signalled."""
    woken = []
    for case_id in FundsLedger(engine).awaiting(district, year):
        try:
            await client.get_workflow_handle(case_id).signal(FUNDS_AVAILABLE)
        except RPCError as exc:  # finished meanwhile, or not reachable: its timer remains
            log.warning("funds.wake_failed", case_id=case_id, error=exc.__class__.__name__)
            continue
        woken.append(case_id)
    log.info("funds.woken", district=district, year=year, cases=len(woken))
    return woken
