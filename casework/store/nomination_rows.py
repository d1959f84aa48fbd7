"""The `campaign_nominations` row of a nomination case, kept by the case's projection in
its append's transaction (casework.store.projections): inserted at the opening, its
stage and outcome moved with every append, so the campaign's view never lags the case.
The campaign's own steps (the forward, the vote) write their columns in theirs
(casework.store.campaigns).

Idempotent: the insert does nothing for a row already there and the update sets the
values the folded state gives, so a rebuild replaying the events leaves the rows as
they were (they are not truncated with the projections: the forward's and the vote's
columns are no function of the case's events alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy.dialects import postgresql, sqlite

from casework.domain.case import CaseState
from casework.domain.events import NewEvent
from casework.store.tables import campaign_nominations

NOMINATION = "nomination"
"""The case type whose cases have a row here (casework.domain.nomination.CASE_TYPE)."""
FLAGS = (
    "frontline_or_technical",
    "enterprise_head",
    "industrial_worker",
    "migrant_worker",
    "non_public_enterprise",
)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def project_nomination(conn: Connection, state: CaseState, events: Sequence[NewEvent]) -> None:
    """Insert the row at `case.opened`; set its stage and outcome from `state`."""
    now = datetime.now(UTC)
    for event in events:
        if event.type != "case.opened":
            continue
        app = event.payload["application"]
        nominee = app["nominee"]
        conn.execute(
            _insert(conn)(campaign_nominations)
            .values(
                case_id=state.case_id,
                campaign_id=app["campaign_id"],
                district=nominee["district"],
                kind=nominee["kind"],
                name=nominee["name"],
                unit=nominee["unit"],
                stage=state.stage or "opened",
                opened_at=event.occurred_at,
                updated_at=now,
                **{f: int(bool(nominee.get(f))) for f in FLAGS},
            )
            .on_conflict_do_nothing(index_elements=[campaign_nominations.c.case_id])
        )
    outcome = state.facts.get("award_outcome")
    reason = state.facts.get("revoked_reason") or state.closed_reason
    conn.execute(
        update(campaign_nominations)
        .where(campaign_nominations.c.case_id == state.case_id)
        .values(
            stage=state.stage or "opened",
            outcome=outcome if isinstance(outcome, str) else None,
            outcome_reason=reason if outcome else None,
            updated_at=now,
        )
    )
