"""`record_events` as Temporal runs it: retried, and re-decided after a task retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from activities.recording import Recorder
from casework.domain.contracts import RecordEvents
from casework.domain.events import NewEvent
from casework.store.event_store import EventStore


def _events(case_id: str, at: datetime) -> list[NewEvent]:
    decided: list[tuple[str, dict[str, Any]]] = [
        ("case.opened", {"case_type": "hardship", "district": "崇川区"}),
        ("case.stage_entered", {"stage": "grassroots_review", "facts": {}}),
        ("case.commented", {"comment": f"截止 {at.isoformat()}"}),
    ]
    return [
        NewEvent(
            event_id=f"00000000-0000-4000-8000-00000000000{i}",
            case_id=case_id,
            type=t,
            payload=p,
            actor_id="chongchuan.grassroots1",
            occurred_at=at,
        )
        for i, (t, p) in enumerate(decided)
    ]


def test_a_retried_append_writes_nothing_twice(engine: Engine) -> None:
    recorder = Recorder(EventStore(engine))
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    req = RecordEvents(
        case_id="HR-2026-000001", expected_seq=0, events=_events("HR-2026-000001", at)
    )
    first = recorder.record_events(req)
    again = recorder.record_events(req)
    assert first == again and first.stored is None
    assert len(EventStore(engine).read("HR-2026-000001")) == 3


def test_events_re_decided_later_come_back_as_stored(engine: Engine) -> None:
    recorder = Recorder(EventStore(engine))
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    cid = "HR-2026-000001"
    recorder.record_events(RecordEvents(case_id=cid, expected_seq=0, events=_events(cid, at)))
    later = at + timedelta(seconds=12)  # the retried workflow task's time
    result = recorder.record_events(
        RecordEvents(case_id=cid, expected_seq=0, events=_events(cid, later))
    )
    assert result.stored is not None
    assert [e.occurred_at for e in result.stored] == [at, at, at]
    assert result.stored[2].payload == {"comment": f"截止 {at.isoformat()}"}
    stored = EventStore(engine).read(cid)
    assert len(stored) == 3 and EventStore(engine).verify().broken == []
