"""Every word a page needs exists in Chinese and English: each event type the processes
record (found in the domain's source, so that a new one without words fails here), each
stage, action, role, category and relief type."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import casework.domain
from casework.domain.case import Action
from casework.domain.hardship import Category, ReliefType, Stage
from casework.domain.org import Role
from casework.domain.registry import ACTION_NAMES, CASE_TYPES
from casework.store.personal import ERASED_EVENT
from casework.web.i18n import (
    ACTIONS,
    CATEGORIES,
    EVENTS,
    RELIEF_TYPES,
    ROLES,
    STAGES,
    TEXT,
    Texts,
)

DOMAIN = Path(casework.domain.__file__).parent
EVENT_TYPE = re.compile(
    r'"((?:case|task|notice|funds|disbursement|civil_affairs|household|deadline)\.[a-z_]+)"'
)
RECORDED = re.compile(r'ctx\.event\(\s*\w+,\s*"([a-z_.]+)"')


def recorded_event_types() -> set[str]:
    found: set[str] = {ERASED_EVENT}
    for path in DOMAIN.glob("*.py"):
        source = path.read_text()
        found |= set(EVENT_TYPE.findall(source)) | set(RECORDED.findall(source))
    return found


def test_every_event_type_the_domain_records_has_words_in_both_languages() -> None:
    types = recorded_event_types()
    assert {"task.approved", "task.reassigned", "civil_affairs.checked"} <= types
    assert len(types) >= 25
    missing = sorted(types - set(EVENTS))
    assert missing == [], f"event types without words in casework/web/i18n.py: {missing}"
    for type_ in types:
        zh, en = EVENTS[type_]
        assert zh and en and zh != en and not zh.isascii(), type_


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_events_read_as_words_with_their_stage(lang: str) -> None:
    words = Texts(lang)
    approved = words.event("task.approved", {"stage": "grassroots_review"})
    returned = words.event("task.returned", {"stage": "district_review", "to_stage": "home_visit"})
    closed = words.event("case.closed", {"outcome": "rejected"})
    if lang == "zh":
        assert (approved, returned, closed) == (
            "基层初审通过",
            "区县审核退回至入户调查",
            "结案：驳回",
        )
    else:
        assert approved == "grassroots review approved"
        assert returned == "returned from district review to home visit"
        assert closed == "case closed: rejected"
    for type_ in recorded_event_types():  # no placeholder left unfilled
        assert "{" not in words.event(type_, {}), type_


def test_every_stage_action_role_category_and_relief_type_has_words() -> None:
    assert set(STAGES) == {str(s) for t in CASE_TYPES.values() for s in t.stage_labels}
    assert {s.value for s in Stage} <= set(STAGES)
    assert set(ACTIONS) == set(ACTION_NAMES)  # the shared verbs and every type's own
    assert {a.value for a in Action} <= set(ACTIONS)
    assert set(ROLES) == {r.value for r in Role}
    assert set(CATEGORIES) == {c.value for c in Category}
    assert set(RELIEF_TYPES) == {r.value for r in ReliefType}
    for table in (STAGES, ACTIONS, ROLES, CATEGORIES, RELIEF_TYPES, TEXT):
        for key, (zh, en) in table.items():
            assert zh.strip() and en.strip(), key
