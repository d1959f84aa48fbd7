"""Comments are free text that the audit trail shows for years: no control characters
(they can rewrite the terminal printing `case history`) and no bidirectional formatting
characters (they make a comment read otherwise than it was recorded). Refused at the
service, for every edge, before anything reaches the case."""

from __future__ import annotations

import pytest

from casework.service import ActionRefused
from tests.workflows.conftest import Harness
from tests.workflows.steps import GR2, event_types


@pytest.mark.parametrize(
    "bad", ["\u202e", "\u2067", "\x1b[2J", "\x00", "\x9b"], ids=["rlo", "rli", "ansi", "nul", "csi"]
)
async def test_a_comment_with_control_or_bidi_characters_is_refused(
    harness: Harness, bad: str
) -> None:
    h = harness
    cid = (await h.open()).case_id
    before = event_types(h, cid)
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR2, "reject", f"材料不全{bad}请补正")
    assert (refused.value.code, refused.value.field) == ("invalid_comment", "comment")
    assert "U+" in refused.value.message
    assert event_types(h, cid) == before


async def test_a_comment_may_have_lines_and_tabs(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    view = await h.act(cid, GR2, "approve", "材料齐全\n\t收入证明已核")
    assert view.stage == "home_visit"
