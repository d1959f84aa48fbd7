"""The scheduled doctor's activity: `casework doctor` in report-only mode, from the
worker. Each finding is one structured log line (no personal data: case ids, kinds,
seqs) and counted in `casework_doctor_findings_total{kind}`; nothing is repaired."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from temporalio import activity

from casework.doctor import examine
from casework.domain.contracts import DOCTOR_REPORT, DoctorReport
from casework.metrics import DOCTOR_FINDINGS

log = structlog.get_logger("casework.doctor")


class DoctorReporting:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name=DOCTOR_REPORT)
    async def doctor_report(self) -> DoctorReport:
        looked_at, findings = await examine(activity.client(), self.engine)
        kinds: dict[str, int] = {}
        for f in findings:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
            DOCTOR_FINDINGS.labels(kind=f.kind).inc()
            log.warning(
                "doctor.finding",
                case_id=f.case_id,
                kind=f.kind,
                store_seq=f.store_seq,
                workflow_seq=f.workflow_seq,
                run_id=f.run_id,
                repairable=f.repairable,
            )
        log.info("doctor.done", open_cases=looked_at, findings=len(findings))
        return DoctorReport(open_cases=looked_at, findings=kinds)
