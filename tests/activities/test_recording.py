"""`record_events` as Temporal runs it: retried, and re-decided after a task retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs
from temporalio.exceptions import ApplicationError

from activities.recording import Recorder
from casework.demo.people import demo_users
from casework.domain.contracts import ACTOR_REFUSED, RecordEvents
from casework.domain.events import NewEvent
from casework.domain.org import Actor, Role
from casework.store.directory import Directory
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


def _claim(case_id: str, who: str, at: datetime) -> NewEvent:
    return NewEvent(
        event_id="00000000-0000-4000-8000-0000000000c1",
        case_id=case_id,
        type="task.claimed",
        payload={"task_id": "t1", "assignee": who},
        actor_id=who,
        occurred_at=at,
    )


def test_an_actor_the_directory_does_not_vouch_for_fails_for_good(engine: Engine) -> None:
    """What the workflow sees: a non-retryable ActorRefused naming the directory's code
    and, for a named person, the field that named them; nothing recorded."""
    Directory(engine).upsert(demo_users())
    store = EventStore(engine)
    recorder = Recorder(store)
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    cid = "HR-2026-000001"
    opener = Directory(engine).get("chongchuan.grassroots1").actor()
    recorder.record_events(
        RecordEvents(case_id=cid, expected_seq=0, events=_events(cid, at), actor=opener)
    )
    forged = Actor(id="chongchuan.grassroots2", roles=(Role.CITY_LEADER,), district="崇川区")
    supervisor = Directory(engine).get("chongchuan.supervisor").actor()
    claim = [_claim(cid, "chongchuan.grassroots2", at)]
    for actor, named, code, field in [
        (forged, {}, "actor_mismatch", None),
        (supervisor, {"data.to": forged}, "actor_mismatch", "data.to"),
        (opener.model_copy(update={"id": "nobody"}), {}, "unknown_actor", None),
    ]:
        req = RecordEvents(case_id=cid, expected_seq=3, events=claim, actor=actor, named=named)
        with capture_logs() as logs, pytest.raises(ApplicationError) as refused:
            recorder.record_events(req)
        # Logged for whoever looks into it: who was claimed, as what, on which case.
        [logged] = [e for e in logs if e["event"] == "actor.refused"]
        assert logged["case_id"] == cid and logged["code"] == code
        assert logged["claimed"]["id"] == (named["data.to"] if field else actor).id
        err = refused.value
        assert (err.type, err.non_retryable) == (ACTOR_REFUSED, True)
        assert err.details == ({"code": code, "field": field},)
        assert err.message.startswith(f"{field}: ") if field else err.message
        assert len(store.read(cid)) == 3
    # The same append with the real people is recorded.
    gr2 = Directory(engine).get("chongchuan.grassroots2").actor()
    real = RecordEvents(case_id=cid, expected_seq=3, events=claim, actor=gr2)
    assert recorder.record_events(real).last_seq == 4


def _assigned_task(case_id: str, who: str, at: datetime) -> NewEvent:
    return NewEvent(
        event_id="00000000-0000-4000-8000-0000000000d1",
        case_id=case_id,
        type="task.opened",
        payload={
            "task_id": "t2",
            "stage": "home_visit",
            "role": "grassroots_officer",
            "district": "崇川区",
            "due_at": None,
            "assignee": who,
        },
        actor_id="system",
        occurred_at=at,
    )


def test_an_action_opening_a_task_assigned_to_someone_the_directory_refuses_fails(
    engine: Engine,
) -> None:
    """The assignee of a task an action opens is checked like the actor: refused with the
    directory's code and the field `assignee`, logged, nothing recorded. The workflow's
    own events (no actor: a timer) are not checked again."""
    Directory(engine).upsert(demo_users())
    store = EventStore(engine)
    recorder = Recorder(store)
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    cid = "HR-2026-000001"
    opener = Directory(engine).get("chongchuan.grassroots1").actor()
    recorder.record_events(
        RecordEvents(case_id=cid, expected_seq=0, events=_events(cid, at), actor=opener)
    )
    gr2 = Directory(engine).get("chongchuan.grassroots2").actor()
    task = [_assigned_task(cid, "chongchuan.officer1", at)]  # not a grassroots officer
    req = RecordEvents(case_id=cid, expected_seq=3, events=task, actor=gr2)
    with capture_logs() as logs, pytest.raises(ApplicationError) as refused:
        recorder.record_events(req)
    [logged] = [e for e in logs if e["event"] == "actor.refused"]
    assert logged["claimed"]["user_id"] == "chongchuan.officer1"
    assert refused.value.details == ({"code": "assignee_not_eligible", "field": "assignee"},)
    assert refused.value.message.startswith("assignee: ")
    assert len(store.read(cid)) == 3
    own = RecordEvents(case_id=cid, expected_seq=3, events=task)
    assert recorder.record_events(own).last_seq == 4


def test_an_empty_recording_fails_at_once_rather_than_retrying_for_ever(engine: Engine) -> None:
    """A workflow that asks to record nothing has a bug: the activity says so, for good,
    instead of failing on the missing last row at every retry."""
    with pytest.raises(ApplicationError) as refused:
        Recorder(EventStore(engine)).record_events(
            RecordEvents(case_id="HR-2026-000001", expected_seq=3, events=[])
        )
    assert refused.value.non_retryable and refused.value.type == "NothingToRecord"
    assert EventStore(engine).read("HR-2026-000001") == []
