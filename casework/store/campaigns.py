"""Award campaigns in the store (评选活动, processes.md section 3, issue #13): opening
one, a district forwarding its approved nominations as one batch, the committee's vote,
and the reads the campaign's views use.

Every campaign-level change is one append on the campaign's own stream (`CP-YYYY-NNN`,
no case: casework.domain.streams) with the rows it changes written in the same
transaction (`EventStore.append(also=...)`) and the acting user checked against the
directory in it, as a relief programme's steps are (casework.store.programmes). The
quotas are counters moved only by conditional updates (`forwarded + n <= quota`), so
two districts forwarding at the same moment never take more places than there are. The
nominations themselves are cases; they learn what the campaign did to them from their
own row (`nomination_row`), never from what a signal says
(activities/nomination.py, `deliver_campaign_news`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from casework.domain.award import (
    Breach,
    CampaignSpec,
    Nominee,
    NomineeKind,
    forward_refusal,
    ratio_breaches,
)
from casework.domain.award_steps import (
    Decided,
    HonourRow,
    Outcome,
    close_refusal,
    honour_list,
    to_json,
    vote_result,
)
from casework.domain.campaign import Closing
from casework.domain.nomination import CampaignRow, CampaignRules, CommitteeVote, Stage
from casework.domain.org import CITY, Actor, Role
from casework.domain.refusal import Refused
from casework.domain.streams import CAMPAIGN_PREFIX
from casework.store.event_store import EventStore
from casework.store.nomination_rows import FLAGS
from casework.store.tables import (
    campaign_nominations,
    campaign_quotas,
    campaigns,
    case_events,
    case_sequences,
)

OPENED = "campaign.opened"
FORWARDED = "campaign.forwarded"
VOTED = "campaign.voted"
CLOSED = "campaign.closed"
CLOSING_ACTOR = "system.campaign"
"""Who records the closing: the campaign's workflow, no person (not a directory user)."""
SYSTEM = Actor(id=CLOSING_ACTOR, roles=(), district=CITY)
"""The closing's actor on the stream, checked against no directory user."""

NEGATIVE = (Outcome.WITHDRAWN.value, Outcome.VETOED.value, Outcome.REVOKED.value)
"""Outcomes that take a forwarded nomination out of the set the ratio rules judge."""
VETTED_CLEAR_STAGES = (Stage.COMMITTEE.value, Stage.SOCIAL_NOTICE.value)


def _log() -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger("casework.campaigns")  # type: ignore[no-any-return]


class CampaignNotFound(Refused):
    def __init__(self, campaign_id: str) -> None:
        super().__init__(
            "campaign_not_found", f"未找到评选活动 (no such campaign): {campaign_id}", "campaign"
        )


class _Stale(Exception):
    """What the event names changed before its transaction: read and try again."""


# -- what the store answers ---------------------------------------------------------------


class Forwarded(BaseModel):
    campaign_id: str
    district: str
    case_ids: list[str]
    quota: int
    district_forwarded: int
    places: int
    places_forwarded: int


class VoteRecorded(BaseModel):
    campaign_id: str
    passed: list[str]
    failed: list[str]


class QuotaLine(BaseModel):
    district: str
    quota: int
    forwarded: int
    left: int


class RuleStatus(BaseModel):
    criterion: str
    bound: str
    percent: int
    breach: str | None = None
    """The breach's message, naming nothing personal; None: the rule holds."""
    causes: list[str] = []


class NominationLine(BaseModel):
    case_id: str
    district: str
    kind: str
    name: str
    unit: str
    stage: str
    outcome: str | None
    forwarded: bool


class CampaignOverview(BaseModel):
    campaign_id: str
    name: str
    award: str
    year: int
    status: str
    places: int
    places_forwarded: int
    quotas: list[QuotaLine]
    rules: list[RuleStatus]
    nominations: list[NominationLine]


def _upsert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _require(actor: Actor, role: Role, what: str) -> None:
    if not actor.has_role(role):
        raise Refused(
            "role_not_held", f"{what}需要 {role.value} 角色 (role {role.value} required)", "as"
        )


def _nominee(row: Any) -> Nominee:
    return Nominee(
        kind=NomineeKind(row.kind),
        name=row.name,
        district=row.district,
        unit=row.unit,
        **{f: bool(getattr(row, f)) for f in FLAGS},
    )


def breach_refusal(breaches: Sequence[Breach], where: str) -> Refused:
    """The ratio rules' breaches as one refusal naming the nominations behind them."""
    parts = [f"{b.message}: {', '.join(b.causes) or '-'}" for b in breaches]
    return Refused(
        "ratio_breached",
        f"{where}不符合比例要求 (ratio rules broken): " + "; ".join(parts),
        "nominations",
    )


_ROW_COLUMNS = (
    campaign_nominations.c.case_id,
    campaign_nominations.c.district,
    campaign_nominations.c.kind,
    campaign_nominations.c.name,
    campaign_nominations.c.unit,
    *(campaign_nominations.c[f] for f in FLAGS),
)


class Campaigns:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = EventStore(engine)

    # -- opening -------------------------------------------------------------------------

    def open(self, spec: CampaignSpec, actor: Actor) -> str:
        """A new campaign (发起评选): its id, its rows, its opening event."""
        _require(actor, Role.CITY_OFFICER, "发起评选")
        if actor.district != CITY:
            raise Refused("outside_jurisdiction", "评选由市总发起 (the city opens campaigns)")
        with self.engine.begin() as conn:
            number = conn.execute(
                _upsert(conn)(case_sequences)
                .values(prefix=CAMPAIGN_PREFIX, year=spec.year, last_value=1)
                .on_conflict_do_update(
                    index_elements=[case_sequences.c.prefix, case_sequences.c.year],
                    set_={"last_value": case_sequences.c.last_value + 1},
                )
                .returning(case_sequences.c.last_value)
            ).scalar_one()
        campaign_id = f"{CAMPAIGN_PREFIX}-{spec.year}-{number:03d}"
        now = datetime.now(UTC)

        def write(conn: Connection, seq: int) -> None:
            conn.execute(
                insert(campaigns).values(
                    campaign_id=campaign_id,
                    award=spec.award.value,
                    year=spec.year,
                    name=spec.name,
                    spec=spec.model_dump_json(),
                    status="open",
                    places=spec.total_places,
                    forwarded=0,
                    opened_by=actor.id,
                    opened_at=now,
                )
            )
            conn.execute(
                insert(campaign_quotas),
                [
                    {"campaign_id": campaign_id, "district": d, "quota": q, "forwarded": 0}
                    for d, q in spec.quotas.items()
                ],
            )

        self.store.append_at_head(
            campaign_id, OPENED, actor, {"spec": spec.model_dump(mode="json")}, also=write
        )
        _log().info("campaign.opened", campaign_id=campaign_id, by=actor.id)
        return campaign_id

    def spec(self, campaign_id: str) -> CampaignSpec:
        with self.engine.connect() as conn:
            text = conn.scalar(
                select(campaigns.c.spec).where(campaigns.c.campaign_id == campaign_id)
            )
        if text is None:
            raise CampaignNotFound(campaign_id)
        return CampaignSpec.model_validate_json(text)

    # -- a nomination's opening and its row ------------------------------------------------

    def opening(self, campaign_id: str, district: str, kind: NomineeKind) -> CampaignRules:
        """What a nomination takes from its campaign, or Refused: the campaign must exist
        and be open, the district hold a quota, the nominee be of the award's kind."""
        from casework.domain.award import award_refusal

        with self.engine.connect() as conn:
            row = conn.execute(
                select(campaigns.c.spec, campaigns.c.status).where(
                    campaigns.c.campaign_id == campaign_id
                )
            ).first()
        if row is None:
            raise CampaignNotFound(campaign_id)
        if row.status != "open":
            raise Refused(
                "campaign_closed", f"评选活动已结束 (campaign {campaign_id} is closed)", "campaign"
            )
        spec = CampaignSpec.model_validate_json(row.spec)
        if spec.quotas.get(district, 0) <= 0:
            raise Refused(
                "no_quota",
                f"{district} 在本次评选中没有名额 ({district} has no places in this campaign)",
                "district",
            )
        wrong = award_refusal(spec.award, _kind_only(kind, district))
        if wrong is not None:
            raise wrong
        return CampaignRules(
            campaign_id=campaign_id,
            award=spec.award,
            departments=spec.vetting_departments,
            vetting_days=spec.vetting_days,
            unit_notice_days=spec.unit_notice_days,
            social_notice_days=spec.social_notice_days,
        )

    def nomination_row(self, case_id: str) -> CampaignRow:
        """What the campaign did to the nomination `case_id`, as its row says."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(campaign_nominations).where(campaign_nominations.c.case_id == case_id)
            ).first()
        if row is None:
            return CampaignRow()
        return CampaignRow(
            found=True,
            forwarded=row.forwarded_at is not None,
            forward_seq=row.forward_seq,
            vote_passed=None if row.vote_passed is None else bool(row.vote_passed),
            votes_for=row.votes_for,
            vote_message=row.vote_message,
            vote_seq=row.vote_seq,
        )

    # -- the district forwards (区县报送) --------------------------------------------------

    @staticmethod
    def _ready(conn: Connection, campaign_id: str, district: str) -> list[Any]:
        return list(
            conn.execute(
                select(*_ROW_COLUMNS)
                .where(
                    campaign_nominations.c.campaign_id == campaign_id,
                    campaign_nominations.c.district == district,
                    campaign_nominations.c.stage == Stage.AWAITING_FORWARD.value,
                    campaign_nominations.c.outcome.is_(None),
                    campaign_nominations.c.forwarded_at.is_(None),
                )
                .order_by(campaign_nominations.c.case_id)
            ).all()
        )

    def _stored(self, event_id: str | None) -> Any:
        """The campaign event stored under `event_id` (seq, type, payload), or None."""
        if event_id is None:
            return None
        with self.engine.connect() as conn:
            return conn.execute(
                select(case_events.c.seq, case_events.c.type, case_events.c.payload).where(
                    case_events.c.event_id == event_id
                )
            ).first()

    def _figures(self, campaign_id: str, district: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            quota, done = conn.execute(
                select(campaign_quotas.c.quota, campaign_quotas.c.forwarded).where(
                    campaign_quotas.c.campaign_id == campaign_id,
                    campaign_quotas.c.district == district,
                )
            ).one()
            places, places_done = conn.execute(
                select(campaigns.c.places, campaigns.c.forwarded).where(
                    campaigns.c.campaign_id == campaign_id
                )
            ).one()
        return {
            "quota": quota,
            "district_forwarded": done,
            "places": places,
            "places_forwarded": places_done,
        }

    def forward(
        self, campaign_id: str, district: str, actor: Actor, event_id: str | None = None
    ) -> Forwarded:
        """Forward every approved, not yet forwarded nomination of `district` in one
        transaction: within the district's quota and the award's shared places (each a
        conditional update), the ratio rules holding over the district's whole
        forwarded set after adding; one event on the campaign stream naming the cases.
        Refused (nothing written) with `quota_exceeded` saying how many places are left,
        `ratio_breached` naming the nominations, or `nothing_to_forward`. The caller
        then delivers the news to the cases (`deliver_campaign_news`).

        `event_id`: a retried step (the campaign workflow's activity) finds its event
        stored and answers what it recorded, writing nothing."""
        stored = self._stored(event_id)
        if stored is not None:
            case_ids = list(json.loads(stored.payload)["case_ids"])
            return Forwarded(
                campaign_id=campaign_id,
                district=district,
                case_ids=case_ids,
                **self._figures(campaign_id, district),
            )
        _require(actor, Role.DISTRICT_OFFICER, "报送")
        if not actor.covers(district):
            raise Refused(
                "outside_jurisdiction",
                f"{district} 不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
                "district",
            )
        spec = self.spec(campaign_id)
        if district not in spec.quotas:
            raise Refused(
                "no_quota", f"{district} 不在本次评选中 ({district} has no quota here)", "district"
            )
        result: dict[str, Any] = {}
        named: list[str] = []

        def payload() -> dict[str, Any]:
            with self.engine.connect() as conn:
                ids = [r.case_id for r in self._ready(conn, campaign_id, district)]
            if not ids:
                raise Refused(
                    "nothing_to_forward",
                    f"{district} 没有待报送的推荐 (no approved nomination to forward)",
                    "district",
                )
            named[:] = ids
            return {"district": district, "case_ids": ids}

        def write(conn: Connection, seq: int) -> None:
            rows = self._ready(conn, campaign_id, district)
            if [r.case_id for r in rows] != named:
                raise _Stale
            n = len(rows)
            quota_row = campaign_quotas.c
            moved = conn.execute(
                update(campaign_quotas)
                .where(
                    quota_row.campaign_id == campaign_id,
                    quota_row.district == district,
                    quota_row.forwarded + n <= quota_row.quota,
                )
                .values(forwarded=quota_row.forwarded + n)
            ).rowcount
            if moved != 1:
                quota, done = conn.execute(
                    select(quota_row.quota, quota_row.forwarded).where(
                        quota_row.campaign_id == campaign_id, quota_row.district == district
                    )
                ).one()
                refused = forward_refusal(quota, done, adding=n, district=district)
                assert refused is not None
                raise refused
            c = campaigns.c
            moved = conn.execute(
                update(campaigns)
                .where(
                    c.campaign_id == campaign_id,
                    c.status == "open",
                    c.forwarded + n <= c.places,
                )
                .values(forwarded=c.forwarded + n)
            ).rowcount
            if moved != 1:
                places, done, status = conn.execute(
                    select(c.places, c.forwarded, c.status).where(c.campaign_id == campaign_id)
                ).one()
                if status != "open":
                    raise Refused("campaign_closed", "评选活动已结束 (the campaign is closed)")
                left = max(places - done, 0)
                raise Refused(
                    "quota_exceeded",
                    f"本奖项总名额 {places} 个，已报送 {done} 个，剩余 {left} 个，"
                    f"{district}不能再报送 {n} 个 (the award has {left} of its {places} places "
                    f"left; {district} cannot forward {n})",
                    "district",
                )
            already = conn.execute(
                select(*_ROW_COLUMNS).where(
                    campaign_nominations.c.campaign_id == campaign_id,
                    campaign_nominations.c.district == district,
                    campaign_nominations.c.forwarded_at.is_not(None),
                    _not_negative(),
                )
            ).all()
            judged = [(r.case_id, _nominee(r)) for r in [*already, *rows]]
            breaches = ratio_breaches(spec.ratio_rules, judged)
            if breaches:
                raise breach_refusal(breaches, f"{district}报送后")
            conn.execute(
                update(campaign_nominations)
                .where(campaign_nominations.c.case_id.in_(named))
                .values(forwarded_at=datetime.now(UTC), forward_seq=seq)
            )
            quota, done = conn.execute(
                select(quota_row.quota, quota_row.forwarded).where(
                    quota_row.campaign_id == campaign_id, quota_row.district == district
                )
            ).one()
            places, places_done = conn.execute(
                select(c.places, c.forwarded).where(c.campaign_id == campaign_id)
            ).one()
            result.update(
                quota=quota,
                district_forwarded=done,
                places=places,
                places_forwarded=places_done,
            )

        self.store.append_at_head(
            campaign_id,
            FORWARDED,
            actor,
            payload,
            also=write,
            event_id=event_id,
            retry_on=(_Stale,),
        )
        _log().info("campaign.forwarded", campaign_id=campaign_id, district=district, n=len(named))
        return Forwarded(campaign_id=campaign_id, district=district, case_ids=named, **result)

    # -- the committee's vote (评审委员会表决), store side ------------------------------------

    def record_vote(
        self, campaign_id: str, vote: CommitteeVote, actor: Actor, event_id: str | None = None
    ) -> VoteRecorded:
        """The committee's vote for every nomination awaiting it, in one transaction on
        the campaign stream and the rows. Refused before anything is written when the
        ratio rules break over the campaign's vetted-clear individual nominations
        (naming them), when a nomination awaiting the vote is missing from the file or
        one in it does not await it, or the counts are impossible or not quorate. The
        caller then delivers the news to the cases (`deliver_campaign_news`).
        `event_id`: as `forward`'s."""
        stored = self._stored(event_id)
        if stored is not None:
            n = campaign_nominations.c
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(n.case_id, n.vote_passed)
                    .where(n.campaign_id == campaign_id, n.vote_seq == stored.seq)
                    .order_by(n.case_id)
                ).all()
            return VoteRecorded(
                campaign_id=campaign_id,
                passed=[r.case_id for r in rows if r.vote_passed],
                failed=[r.case_id for r in rows if not r.vote_passed],
            )
        _require(actor, Role.COMMITTEE_MEMBER, "录入表决")
        spec = self.spec(campaign_id)
        quorum = spec.quorum_needed
        outcome: dict[str, list[str]] = {"passed": [], "failed": []}

        def payload() -> dict[str, Any]:
            return {"present": vote.present, "votes": dict(sorted(vote.votes.items()))}

        def write(conn: Connection, seq: int) -> None:
            n = campaign_nominations.c
            clear = conn.execute(
                select(*_ROW_COLUMNS, n.stage, n.outcome, n.vote_passed).where(
                    n.campaign_id == campaign_id,
                    n.forwarded_at.is_not(None),
                    (n.stage.in_(VETTED_CLEAR_STAGES) & n.outcome.is_(None))
                    | n.outcome.in_([Outcome.HONOURED.value, Outcome.FAILED.value]),
                )
            ).all()
            awaiting = {
                r.case_id
                for r in clear
                if r.stage == Stage.COMMITTEE.value and r.outcome is None and r.vote_passed is None
            }
            missing = sorted(awaiting - vote.votes.keys())
            if missing:
                raise Refused(
                    "votes_missing",
                    f"表决文件缺少 {len(missing)} 个待表决的推荐 (the vote file misses "
                    f"nominations awaiting the vote): {', '.join(missing)}",
                    "votes",
                )
            stray = sorted(vote.votes.keys() - awaiting)
            if stray:
                raise Refused(
                    "not_awaiting_vote",
                    f"以下推荐不在待表决之列 (not awaiting the vote): {', '.join(stray)}",
                    "votes",
                )
            breaches = ratio_breaches(spec.ratio_rules, [(r.case_id, _nominee(r)) for r in clear])
            if breaches:
                raise breach_refusal(breaches, "表决前全市联审通过的推荐")
            now = datetime.now(UTC)
            for case_id in sorted(awaiting):
                result = vote_result(
                    spec.committee_members, vote.present, vote.votes[case_id], quorum
                )
                if not result.quorate:
                    raise Refused("no_quorum", result.message, "present")
                outcome["passed" if result.passes else "failed"].append(case_id)
                conn.execute(
                    update(campaign_nominations)
                    .where(n.case_id == case_id)
                    .values(
                        votes_for=vote.votes[case_id],
                        vote_passed=int(result.passes),
                        vote_message=result.message,
                        vote_seq=seq,
                        updated_at=now,
                    )
                )

        self.store.append_at_head(campaign_id, VOTED, actor, payload, also=write, event_id=event_id)
        _log().info(
            "campaign.voted",
            campaign_id=campaign_id,
            passed=len(outcome["passed"]),
            failed=len(outcome["failed"]),
        )
        return VoteRecorded(campaign_id=campaign_id, **outcome)

    # -- reads -----------------------------------------------------------------------------

    def overview(self, campaign_id: str) -> CampaignOverview:
        """`campaign show`: places and quotas used and left, the ratio rules over the
        forwarded individual nominations, each nomination's stage and outcome. Three
        indexed reads, whatever the number of nominations."""
        n = campaign_nominations.c
        with self.engine.connect() as conn:
            head = conn.execute(
                select(campaigns).where(campaigns.c.campaign_id == campaign_id)
            ).first()
            if head is None:
                raise CampaignNotFound(campaign_id)
            quotas = conn.execute(
                select(campaign_quotas)
                .where(campaign_quotas.c.campaign_id == campaign_id)
                .order_by(campaign_quotas.c.district)
            ).all()
            rows = conn.execute(
                select(*_ROW_COLUMNS, n.stage, n.outcome, n.forwarded_at)
                .where(n.campaign_id == campaign_id)
                .order_by(n.case_id)
            ).all()
        spec = CampaignSpec.model_validate_json(head.spec)
        judged = [
            (r.case_id, _nominee(r))
            for r in rows
            if r.forwarded_at is not None and r.outcome not in NEGATIVE
        ]
        breaches = {b.criterion: b for b in ratio_breaches(spec.ratio_rules, judged)}
        rules = [
            RuleStatus(
                criterion=c.value,
                bound=c.bound.value,
                percent=p,
                breach=breaches[c].message if c in breaches else None,
                causes=list(breaches[c].causes) if c in breaches else [],
            )
            for c, p in spec.ratio_rules.applying()
        ]
        return CampaignOverview(
            campaign_id=campaign_id,
            name=head.name,
            award=head.award,
            year=head.year,
            status=head.status,
            places=head.places,
            places_forwarded=head.forwarded,
            quotas=[
                QuotaLine(
                    district=q.district,
                    quota=q.quota,
                    forwarded=q.forwarded,
                    left=max(q.quota - q.forwarded, 0),
                )
                for q in quotas
            ],
            rules=rules,
            nominations=[
                NominationLine(
                    case_id=r.case_id,
                    district=r.district,
                    kind=r.kind,
                    name=r.name,
                    unit=r.unit,
                    stage=r.stage,
                    outcome=r.outcome,
                    forwarded=r.forwarded_at is not None,
                )
                for r in rows
            ],
        )

    def opening_event_id(self, campaign_id: str) -> str:
        """The id of the campaign's opening event: unique to this campaign in this store,
        where its id (`CP-2027-001`) is unique only here (casework.campaign_service)."""
        with self.engine.connect() as conn:
            found = conn.scalar(
                select(case_events.c.event_id).where(
                    case_events.c.case_id == campaign_id, case_events.c.type == OPENED
                )
            )
        if found is None:
            raise CampaignNotFound(campaign_id)
        return str(found)

    def status(self, campaign_id: str) -> str:
        with self.engine.connect() as conn:
            status = conn.scalar(
                select(campaigns.c.status).where(campaigns.c.campaign_id == campaign_id)
            )
        if status is None:
            raise CampaignNotFound(campaign_id)
        return str(status)

    def summaries(self, only_closed: bool = False) -> list[CampaignSummary]:
        """`campaign list`: every campaign, newest year first, with its count of
        nominations (one grouped read)."""
        c, n = campaigns.c, campaign_nominations.c
        counts = (
            select(n.campaign_id, func.count().label("nominations"))
            .group_by(n.campaign_id)
            .subquery()
        )
        query = (
            select(campaigns, func.coalesce(counts.c.nominations, 0).label("nominations"))
            .outerjoin(counts, counts.c.campaign_id == c.campaign_id)
            .order_by(c.year.desc(), c.campaign_id)
        )
        if only_closed:
            query = query.where(c.status == "closed")
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            CampaignSummary(
                campaign_id=r.campaign_id,
                name=r.name,
                award=r.award,
                year=r.year,
                status=r.status,
                places=r.places,
                places_forwarded=r.forwarded,
                nominations=r.nominations,
            )
            for r in rows
        ]

    def close_if_done(self, campaign_id: str) -> Closing:
        """Close the campaign when the committee's vote is recorded and every nomination
        has an outcome (`close_refusal`): one `campaign.closed` event by the campaign's
        workflow with the honour list's digest and the counts per outcome, the row
        `closed`, in one transaction. Idempotent: closed already, it answers so; the
        event's id is fixed by the campaign, so two closings record one."""
        n = campaign_nominations.c
        with self.engine.connect() as conn:
            status = conn.scalar(
                select(campaigns.c.status).where(campaigns.c.campaign_id == campaign_id)
            )
            if status is None:
                raise CampaignNotFound(campaign_id)
            voted = (
                conn.scalar(
                    select(func.count()).where(
                        case_events.c.case_id == campaign_id, case_events.c.type == VOTED
                    )
                )
                or 0
            ) > 0
            outcomes = {
                r.case_id: None if r.outcome is None else Outcome(r.outcome)
                for r in conn.execute(
                    select(n.case_id, n.outcome).where(n.campaign_id == campaign_id)
                )
            }
        if status == "closed":
            stored = self._stored(_closing_event_id(campaign_id))
            digest = json.loads(stored.payload)["digest"] if stored is not None else None
            return Closing(closed=True, voted=True, digest=digest)
        open_count = sum(1 for o in outcomes.values() if o is None)
        if not voted or close_refusal(outcomes) is not None:
            return Closing(closed=False, voted=voted, open_nominations=open_count)
        honoured = self.honours(campaign_id)
        digest = honours_digest(honoured)
        counts: dict[str, int] = {}
        for o in outcomes.values():
            assert o is not None
            counts[o.value] = counts.get(o.value, 0) + 1

        def write(conn: Connection, seq: int) -> None:
            conn.execute(
                update(campaigns)
                .where(campaigns.c.campaign_id == campaign_id, campaigns.c.status == "open")
                .values(status="closed", closed_at=datetime.now(UTC))
            )

        self.store.append_at_head(
            campaign_id,
            CLOSED,
            SYSTEM,
            {"digest": digest, "honoured": len(honoured), "outcomes": counts},
            also=write,
            event_id=_closing_event_id(campaign_id),
            check_actor=False,
        )
        _log().info("campaign.closed", campaign_id=campaign_id, honoured=len(honoured))
        return Closing(closed=True, voted=True, honoured=len(honoured), digest=digest)

    def honours(self, campaign_id: str) -> list[HonourRow]:
        """The honour list (表彰名单): the honoured nominations (revoked ones left out),
        name and unit only: no ID number."""
        spec = self.spec(campaign_id)
        n = campaign_nominations.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_ROW_COLUMNS).where(
                    n.campaign_id == campaign_id, n.outcome == Outcome.HONOURED.value
                )
            ).all()
        return honour_list(
            spec.award,
            [
                Decided(nomination_id=r.case_id, nominee=_nominee(r), outcome=Outcome.HONOURED)
                for r in rows
            ],
        )


class CampaignSummary(BaseModel):
    campaign_id: str
    name: str
    award: str
    year: int
    status: str
    places: int
    places_forwarded: int
    nominations: int


def _closing_event_id(campaign_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{campaign_id}:{CLOSED}"))


def honours_digest(rows: Sequence[HonourRow]) -> str:
    """sha256 hex of the honour list as JSON: what the closing records of the list."""
    return hashlib.sha256(to_json(rows).encode()).hexdigest()


def _not_negative() -> Any:
    o = campaign_nominations.c.outcome
    return o.is_(None) | o.not_in(NEGATIVE)


def _kind_only(kind: NomineeKind, district: str) -> Nominee:
    """A stand-in nominee of `kind` for `award_refusal`, which reads the kind only."""
    return Nominee(kind=kind, name="-", district=district, unit="-")
