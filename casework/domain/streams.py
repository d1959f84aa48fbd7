"""Which streams of the event log are cases.

Every stream of `case_events` has the same rules (a seq per stream, a hash chain, one
global position), but not every stream is a case: a run at volume records its batches
on a stream of its own (docs/batch-runs.md), and those streams have no case row, no
tasks and no deadlines. The projections leave them alone; the run writes its own
records in the batch's transaction.
"""

from __future__ import annotations

PROGRAMME_PREFIX = "PG"
"""A relief programme (送温暖, 夏季安康"三送"): `PG-YYYY-NNNNNN`."""
ANNUAL_REVIEW_PREFIX = "AR"
"""One year's annual review of the household register: `AR-YYYY`."""
FUNDS_PREFIX = "FD"
"""One year's funds ledger (allocations and top-ups of the districts' relief funds):
`FD-YYYY` (casework.store.funds)."""
CAMPAIGN_PREFIX = "CP"
"""An award campaign (评选活动): `CP-YYYY-NNN`; its nominations are cases of their own."""
REFUNDS_PREFIX = "RD"
"""One year's union-dues refunds (小微企业工会经费返还): `RD-YYYY`, the run's batches and
the payment files imported (casework.store.refunds)."""
RUN_PREFIXES = (
    PROGRAMME_PREFIX,
    ANNUAL_REVIEW_PREFIX,
    FUNDS_PREFIX,
    CAMPAIGN_PREFIX,
    REFUNDS_PREFIX,
)


def is_case_stream(stream_id: str) -> bool:
    """False for the stream of a run at volume, True for every case."""
    return stream_id.split("-", 1)[0] not in RUN_PREFIXES


def annual_review_stream(year: int) -> str:
    return f"{ANNUAL_REVIEW_PREFIX}-{year}"


def funds_stream(year: int) -> str:
    return f"{FUNDS_PREFIX}-{year}"


def is_funds_stream(stream_id: str) -> bool:
    return stream_id.split("-", 1)[0] == FUNDS_PREFIX
