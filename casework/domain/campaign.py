"""An award campaign's own workflow (workflows/campaign.py): its messages, its state
carried through continue-as-new, and who may read a campaign (issue #13, third step).

The campaign-level steps (a district's forward, the committee's vote) are Updates of one
workflow per campaign whose handlers run activities: the store's transaction, then the
delivery of the news to each nomination concerned. Nominations signal the campaign when
they reach an outcome; the signal carries nothing and the campaign reads the store.
Pure: no I/O, so the workflow may use it.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from casework.domain.award_steps import HonourRow, to_csv
from casework.domain.nomination import OUTCOME_WORDS, STAGE_LABELS, CommitteeVote
from casework.domain.org import CITY, Actor, Role
from casework.domain.refusal import Refused

WORKFLOW = "Campaign"
FORWARD_UPDATE = "forward"
VOTE_UPDATE = "vote"
OUTCOME_SIGNAL = "nomination_outcome"
"""A nomination reached its outcome. It carries nothing: the campaign reads the store."""
STATUS_QUERY = "status"

FORWARD_STEP = "campaign_forward"
VOTE_STEP = "campaign_vote"
DELIVER_NEWS = "campaign_deliver_news"
CLOSE_STEP = "campaign_close_if_done"

DELIVERY_BATCH = 100
"""Nominations told per delivery activity: a batch is retried on its own, heartbeating."""
HANDLED_PER_RUN = 500
"""Signals and Updates a run handles before it continues as new: a campaign of 1,000
nominations sends 1,000 outcome signals, each a few events, and bounded is bounded."""


def workflow_id(campaign_id: str) -> str:
    return f"campaign-{campaign_id}"


class CampaignRunState(BaseModel):
    """What one run hands the next: small, whatever the number of nominations."""

    campaign_id: str
    handled: int = 0
    """Signals and Updates handled in this run."""
    per_run: int = Field(default=HANDLED_PER_RUN, ge=1)
    runs: int = 1
    closed: bool = False
    digest: str | None = None


class ForwardRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    district: str = Field(min_length=1, max_length=32)
    actor: Actor


class VoteRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    vote: CommitteeVote
    actor: Actor


class ForwardStep(BaseModel):
    """The forward activity's input: the event id comes from the Update's id, so a
    retried activity, or the same Update sent again to a later run, records it once."""

    campaign_id: str
    district: str
    actor: Actor
    event_id: str


class VoteStep(BaseModel):
    campaign_id: str
    vote: CommitteeVote
    actor: Actor
    event_id: str


class Closing(BaseModel):
    """What the closing step found: closed (now or before), or how many nominations are
    still without an outcome and whether the vote is recorded."""

    closed: bool
    voted: bool = False
    open_nominations: int = 0
    honoured: int = 0
    digest: str | None = None


# -- who reads a campaign -------------------------------------------------------------------

READERS = frozenset(
    {
        Role.GRASSROOTS_OFFICER,
        Role.DISTRICT_OFFICER,
        Role.DISTRICT_LEADER,
        Role.CITY_OFFICER,
        Role.CITY_LEADER,
        Role.SUPERVISOR,
        Role.VETTING_OFFICER,
        Role.COMMITTEE_MEMBER,
    }
)
"""The union's staff and the committee: the campaign's progress is theirs to follow."""


def reads_campaigns(who: Any) -> bool:
    """Whether `who` (a user or an actor) reads campaigns in progress."""
    return any(r in READERS for r in who.roles)


def stage_words(key: str | None, lang: int = 0) -> str:
    """A nomination's stage or outcome in words: "中文 English" (lang 0), English (1) or
    Chinese alone (2: a narrow table, the key itself in `--json`)."""
    if key is None:
        return "-"
    pair = {**STAGE_LABELS, **OUTCOME_WORDS}.get(key)
    if pair is None:
        return key
    return (f"{pair[0]} {pair[1]}", pair[1], pair[0])[lang]


def campaign_scope(actor: Actor) -> str | None:
    """Whose nominations `actor` sees in a campaign: None for every district (city
    staff, the committee), else their own district. Refused for anyone else; the honour
    list of a closed campaign is public to any signed-in user (`may_read_honours`)."""
    if not reads_campaigns(actor):
        raise Refused(
            "role_not_held",
            "查看评选活动需要工会工作人员或评审委员角色 (union staff or committee members only)",
        )
    if actor.district == CITY or actor.has_role(Role.COMMITTEE_MEMBER):
        return None
    return actor.district


def may_read_honours(actor: Actor, status: str) -> None:
    """The honour list: public to any signed-in user once the campaign is closed; before
    that, a working list for those who read the campaign."""
    if status == "closed":
        return
    campaign_scope(actor)


def honours_csv(rows: Sequence[HonourRow]) -> bytes:
    """The honour list as CSV with a UTF-8 byte-order mark: Excel, opening a CSV without
    one, reads it in the system's code page and garbles the Chinese."""
    return codecs.BOM_UTF8 + to_csv(rows)
