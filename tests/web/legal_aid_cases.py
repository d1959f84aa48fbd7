"""Legal-aid cases for the pages' tests: an application as the officer records it, and a
case driven through the real legal-aid rules (`LegalAidProcess` + `decide`) into a store,
each decision one append, as the workflow's `record_events` activity does."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from casework.domain.case import Action, ActRequest, CaseState, Context, decide, evolve_all
from casework.domain.events import NewEvent
from casework.domain.legal_aid import (
    APPLICATION_EXAMPLE,
    LegalAidApplication,
    LegalAidConfig,
    LegalAidProcess,
    StartLegalAidCase,
)
from casework.domain.org import Actor, Role
from casework.store.event_store import EventStore

CHONGCHUAN = "崇川区"
OPENER = Actor(id="chongchuan.legalaid", roles=(Role.LEGAL_AID_OFFICER,), district=CHONGCHUAN)
OFFICER = Actor(id="chongchuan.legalaid2", roles=(Role.LEGAL_AID_OFFICER,), district=CHONGCHUAN)
LAWYER = Actor(id="chongchuan.lawyer", roles=(Role.LAWYER,), district=CHONGCHUAN)


def days_ago(n: int) -> date:
    return datetime.now(UTC).date() - timedelta(days=n)


def legal_aid_application(**changes: Any) -> LegalAidApplication:
    """李四's wage-arrears application at 崇川区's arbitration station (the README's),
    employment ended 60 days ago; `changes` replace top-level fields."""
    data = copy.deepcopy(APPLICATION_EXAMPLE)
    data["knew_at"] = data["employment_ended_at"] = days_ago(60).isoformat()
    data.update(changes)
    return LegalAidApplication.model_validate(data)


class LegalAidCase:
    """A legal-aid case decided by the real domain, recorded into `store`."""

    def __init__(self, store: EventStore, case_id: str, start: datetime | None = None) -> None:
        self.store = store
        self.process = LegalAidProcess(LegalAidConfig())
        self.state = CaseState(case_id=case_id)
        self.now = start or datetime.now(UTC) - timedelta(days=2)

    def ctx(self) -> Context:
        self.now += timedelta(minutes=5)
        return Context(now=self.now, new_id=lambda: str(uuid.uuid4()))

    def record(self, events: list[NewEvent]) -> LegalAidCase:
        self.store.append(self.state.case_id, self.state.seq, events)
        self.state = evolve_all(self.state, events)
        return self

    def open(self, opener: Actor = OPENER, **changes: Any) -> LegalAidCase:
        start = StartLegalAidCase(
            case_id=self.state.case_id,
            opened_by=opener,
            application=legal_aid_application(**changes).masked(),
        )
        return self.record(self.process.open(start, self.state, self.ctx()))

    def act(
        self,
        who: Actor,
        action: Action | str,
        comment: str | None = "同意",
        data: dict[str, Any] | None = None,
    ) -> LegalAidCase:
        req = ActRequest(actor=who, action=action, comment=comment, data=data or {})
        return self.record(decide(self.process, self.state, req, self.ctx()))

    def to_handling(self, lawyer: Actor = LAWYER) -> LegalAidCase:
        """Accepted by the second officer, `lawyer` assigned."""
        return self.act(OFFICER, Action.APPROVE, "符合受理条件").act(
            OFFICER, Action.APPROVE, "指派", {"lawyer": lawyer.id}
        )
