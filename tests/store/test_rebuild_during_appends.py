"""`projections rebuild` while cases are being worked: an append that arrives during the
rebuild waits for it, and its projection is not lost (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine

from casework.store import projections
from casework.store.event_store import EventStore
from tests.store.builders import comments, opened


def test_an_append_during_a_rebuild_waits_and_is_projected(
    engine: Engine, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, other = "HR-2026-000001", "HR-2026-000002"
    store.append(case_id, 0, [opened(case_id), *comments(case_id, 2)])
    store.append(other, 0, [opened(other)])

    # The rebuild stops half-way: read models truncated, the first case replayed, not
    # committed.
    halfway, resume = threading.Event(), threading.Event()
    project = projections.project

    def project_then_pause(*args: Any, **kwargs: Any) -> None:
        project(*args, **kwargs)
        if threading.current_thread() is rebuilder:
            halfway.set()
            assert resume.wait(30)

    monkeypatch.setattr(projections, "project", project_then_pause)
    rebuilder = threading.Thread(target=projections.rebuild, args=(engine,))
    rebuilder.start()
    assert halfway.wait(30)

    appended: list[Any] = []
    appender = threading.Thread(
        target=lambda: appended.append(store.append(case_id, 3, comments(case_id, 1, start=2)))
    )
    appender.start()
    appender.join(0.5)
    assert appender.is_alive(), "the append went ahead in the middle of the rebuild"
    resume.set()
    rebuilder.join(30)
    appender.join(30)
    assert appended and not appender.is_alive() and not rebuilder.is_alive()
    monkeypatch.setattr(projections, "project", project)

    live = projections.projection_snapshot(engine)
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == live, "the append's projection was lost"


def test_a_rebuild_waits_for_an_append_half_way_through_its_projection(
    engine: Engine, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: an append opening a new case has written its case row and is
    writing the rest when the rebuild starts. The rebuild waits for it to commit and
    replays its events. (Without the rebuild's table lock, or with the case row written
    after the others, the rebuild goes ahead: nothing it deletes is locked yet.)"""
    case_id, other = "HR-2026-000001", "HR-2026-000002"
    store.append(case_id, 0, [opened(case_id), *comments(case_id, 2)])

    halfway, resume = threading.Event(), threading.Event()
    project_task = projections._project_task

    def pause_in_the_append(*args: Any, **kwargs: Any) -> None:
        project_task(*args, **kwargs)
        if threading.current_thread() is appender:
            halfway.set()
            assert resume.wait(30)

    monkeypatch.setattr(projections, "_project_task", pause_in_the_append)
    appended: list[Any] = []
    appender = threading.Thread(
        target=lambda: appended.append(store.append(other, 0, [opened(other), *comments(other, 1)]))
    )
    appender.start()
    assert halfway.wait(30)
    replayed: list[int] = []
    rebuilder = threading.Thread(target=lambda: replayed.append(projections.rebuild(engine)))
    rebuilder.start()
    rebuilder.join(0.5)
    assert rebuilder.is_alive(), "the rebuild went ahead of an append in flight"
    resume.set()
    appender.join(30)
    rebuilder.join(30)
    assert appended and replayed == [5], (appended, replayed)
    monkeypatch.setattr(projections, "_project_task", project_task)

    live = projections.projection_snapshot(engine)
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == live
