"""`draw_audit_sample`: an audit's sample of closed hardship cases, drawn from the store
and checked (casework.store.sampling). Read only: the audit project records the answer
(`sample.drawn`), so a retry draws the same cases from the same candidates."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from temporalio import activity

from casework.domain.audit_sample import SampleDraw, SampleQuery
from casework.domain.contracts import DRAW_AUDIT_SAMPLE
from casework.store.sampling import draw_sample

log = structlog.get_logger("casework.audit")


class AuditSampling:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name=DRAW_AUDIT_SAMPLE)
    def draw_audit_sample(self, query: SampleQuery) -> SampleDraw:
        drawn = draw_sample(self.engine, query.request)
        log.info(
            "audit.sample_drawn",
            case_id=query.case_id,
            district=query.request.district,
            year=query.request.year,
            candidates=drawn.candidates,
            size=drawn.size,
            problems=sum(1 for c in drawn.cases if c.problems),
        )
        return drawn
