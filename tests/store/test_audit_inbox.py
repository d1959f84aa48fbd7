"""An audit project in the officers' inboxes: the lead who opened it finds its final
report to sign (the one stage the process lets its opener work), the audited unit's
officers find one rectification task per finding, and nobody else does."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from casework.demo.people import demo_users
from casework.domain.events import NewEvent
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.queries import Queries
from tests.domain.test_audit import LEAD, UNIT, Project


class Stored(Project):
    """The domain tests' project, each decision appended to a real store."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        super().__init__()

    def fold(self, events: list[NewEvent]) -> list[NewEvent]:
        self.store.append(self.state.case_id, self.state.seq, events)
        return super().fold(events)


def test_the_opening_lead_signs_and_the_unit_rectifies_from_their_inboxes(
    engine: Engine,
) -> None:
    directory = Directory(engine)
    directory.upsert(demo_users())
    queries = Queries(engine)
    project = Stored(EventStore(engine))
    project.in_reply(3)
    project.act(UNIT, "approve", "无异议")
    lead = directory.get("city.auditlead")
    [item] = [i for i in queries.inbox(lead) if i.case_id == project.state.case_id]
    assert item.stage == "final_report"
    auditor = directory.get("city.auditor")
    assert [i for i in queries.inbox(auditor) if i.case_id == project.state.case_id] == []

    project.at(date(2026, 3, 20))
    project.act(LEAD, "approve", "审计决定：限期整改")
    officer = directory.get("chongchuan.officer1")
    mine = [i for i in queries.inbox(officer) if i.case_id == project.state.case_id]
    assert sorted(i.task_id for i in mine) == sorted(project.state.parallel)
    assert all(i.parallel and i.stage == "rectification" for i in mine)
    assert [i for i in queries.inbox(lead) if i.case_id == project.state.case_id] == []
    elsewhere = directory.get("tongzhou.officer1")
    assert [i for i in queries.inbox(elsewhere) if i.case_id == project.state.case_id] == []
