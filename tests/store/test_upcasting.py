"""Contract of upcasting: old payloads are brought to the current schema version when
read; the stored rows, and so the hash chain, are never rewritten."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from casework.domain.events import CURRENT_VERSIONS, UPCASTERS
from casework.store import projections
from casework.store.event_store import EventStore
from casework.store.tables import cases
from tests.store.builders import event, opened, raw_rows

CID = "HR-2026-000001"


def comment_v1_to_v2(p: dict[str, Any]) -> dict[str, Any]:
    return {"text": p["comment"]}


def comment_v2_to_v3(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "visibility": "internal"}


def test_old_events_are_upcast_when_read_and_never_rewritten(
    engine: Engine, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = [opened(CID), event(CID, "case.commented", {"comment": "旧格式的备注"})]
    store.append(CID, 0, old)  # written while version 1 was current
    stored_rows = raw_rows(engine)
    assert store.read(CID)[1].payload == {"comment": "旧格式的备注"}

    monkeypatch.setitem(CURRENT_VERSIONS, "case.commented", 3)
    monkeypatch.setitem(UPCASTERS, ("case.commented", 1), comment_v1_to_v2)
    monkeypatch.setitem(UPCASTERS, ("case.commented", 2), comment_v2_to_v3)

    upgraded = {"text": "旧格式的备注", "visibility": "internal"}
    [first, comment] = store.read(CID)
    assert (comment.schema_version, comment.payload) == (3, upgraded)
    assert first.schema_version == 1 and first.payload == old[0].payload  # other types as-is
    assert [e.payload for e in store.read_all() if e.type == "case.commented"] == [upgraded]
    assert [e.payload for e in store.iter_all() if e.type == "case.commented"] == [upgraded]

    # The stored row is untouched, and the chain over it still verifies.
    assert raw_rows(engine) == stored_rows
    assert stored_rows[1]["schema_version"] == 1
    assert stored_rows[1]["payload"] == '{"comment":"旧格式的备注"}'
    assert store.verify().broken == []

    # A retry of the old append is still recognised by its stored bytes.
    assert [e.payload for e in store.append(CID, 0, old)][1] == upgraded
    # Events written at the current version are stored and read as they are.
    new = event(CID, "case.commented", {"text": "新", "visibility": "public"}, schema_version=3)
    store.append(CID, 2, [new])
    assert store.read(CID)[2].payload == {"text": "新", "visibility": "public"}
    assert raw_rows(engine)[:2] == stored_rows
    assert store.verify().broken == []


def test_a_rebuild_projects_the_upcast_payloads(
    engine: Engine, store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 1 of `case.opened` named the applicant at the top level; version 2 moved
    it into `facts`, where the `cases` projection reads it."""
    v1 = opened(CID).model_copy(
        update={"payload": {"case_type": "hardship", "district": "崇川区", "applicant": "李四"}}
    )
    store.append(CID, 0, [v1])
    assert _applicant(engine) is None

    def opened_v1_to_v2(p: dict[str, Any]) -> dict[str, Any]:
        rest = {k: v for k, v in p.items() if k != "applicant"}
        return {**rest, "facts": {"applicant_name": p["applicant"]}}

    monkeypatch.setitem(CURRENT_VERSIONS, "case.opened", 2)
    monkeypatch.setitem(UPCASTERS, ("case.opened", 1), opened_v1_to_v2)
    projections.rebuild(engine)
    assert _applicant(engine) == "李四"
    assert raw_rows(engine)[0]["payload"] == (
        '{"applicant":"李四","case_type":"hardship","district":"崇川区"}'
    )
    assert store.verify().broken == []


def _applicant(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(cases.c.applicant_name)).scalar_one()
