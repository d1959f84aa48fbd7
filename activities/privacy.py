"""The scheduled retention check's activity (`casework-privacy-due`, monthly from
casework/schedules.toml): which closed cases and relief programmes are past their
retention period with their personal data still readable. Each is one structured log
line (ids only, no personal data) and the counts go to `casework_privacy_due{kind}`;
nothing is erased: that stays an administrator's act (`casework privacy sweep`)."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine
from temporalio import activity

from activities.configuration import ConfigSource
from casework.domain.contracts import PRIVACY_DUE_REPORT, PrivacyDueReport
from casework.domain.registry import CASE_TYPES
from casework.metrics import PRIVACY_DUE
from casework.store.personal import PersonalData
from casework.store.programmes import Programmes

log = structlog.get_logger("casework.privacy")

PROGRAMMES = "programme"
"""The `kind` of relief programmes in the log lines and the metric."""


class PrivacyDueReporting:
    def __init__(self, engine: Engine, source: ConfigSource) -> None:
        self.engine = engine
        self.source = source

    @activity.defn(name=PRIVACY_DUE_REPORT)
    def privacy_due_report(self) -> PrivacyDueReport:
        config = self.source.current()
        personal = PersonalData(self.engine, None)
        cases: dict[str, int] = {}
        for case_type in sorted(CASE_TYPES):
            years = config.section(case_type).retention_years
            due = personal.due(years, case_type=case_type)
            for case_id in due:
                log.warning("privacy.due", case_id=case_id, kind=case_type, retention_years=years)
            PRIVACY_DUE.labels(kind=case_type).set(len(due))
            if due:
                cases[case_type] = len(due)
        # Programmes are part 1b of the hardship process and keep its retention period.
        years = config.section("hardship").retention_years
        programmes = Programmes(self.engine).due_for_erasure(years)
        for programme_id in programmes:
            log.warning("privacy.due", case_id=programme_id, kind=PROGRAMMES, retention_years=years)
        PRIVACY_DUE.labels(kind=PROGRAMMES).set(len(programmes))
        log.info("privacy.checked", cases=sum(cases.values()), programmes=len(programmes))
        return PrivacyDueReport(cases=cases, programmes=len(programmes))
