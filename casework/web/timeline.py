"""What the case page reads from a case's recorded events: the application the officer
decides on, the home-visit findings, the civil-affairs answer, and the history in words.

Only named fields are taken from payloads: `case.opened` also carries the applicant's
sealed personal fields, which never reach a page from here (the applicant card does
that, as the viewer may see them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from casework.domain.case import SYSTEM, CaseState
from casework.domain.payload import dict_of, int_of, str_of
from casework.domain.review import EventLike as RecordedLike
from casework.web.formatting import deadline, parse_iso, yuan
from casework.web.i18n import Texts


class EventLike(RecordedLike, Protocol):
    """A recorded event as the timeline reads it: with its place in the case."""

    @property
    def seq(self) -> int: ...


@dataclass
class Visit:
    """The latest home-visit findings (入户调查), as approved."""

    by: str
    at: datetime
    visitors: list[str]
    household_size: int | None
    monthly_income_fen: int | None
    assets: str | None
    cause: str | None
    explanation: str | None


@dataclass
class CivilAffairs:
    """The latest civil-affairs (民政) check of the household's reported income."""

    match: bool
    detail: str
    at: datetime


@dataclass
class CaseDetails:
    employer: str | None = None
    reason: str | None = None
    household_size: int | None = None
    monthly_income_fen: int | None = None
    requested_amount_fen: int | None = None
    category: str | None = None
    relief_type: str | None = None
    opened_at: datetime | None = None
    visit: Visit | None = None
    civil_affairs: CivilAffairs | None = None
    notice_ends_at: datetime | None = None
    notice_round: int | None = None


def case_details(state: CaseState, events: Sequence[EventLike]) -> CaseDetails:
    facts = state.facts
    details = CaseDetails(
        household_size=int_of(facts.get("household_size")),
        monthly_income_fen=int_of(facts.get("monthly_income_fen")),
        requested_amount_fen=int_of(facts.get("requested_amount_fen")),
        category=str_of(facts.get("category")),
        relief_type=str_of(facts.get("relief_type")),
        opened_at=state.opened_at,
        notice_round=int_of(facts.get("notice_round")),
        notice_ends_at=parse_iso(facts.get("notice_ends_at")),
    )
    for e in events:
        p = e.payload
        if e.type == "case.opened":
            app = dict_of(p.get("application"))
            details.employer = str_of(app.get("employer"))
            details.reason = str_of(app.get("reason"))
            if details.household_size is None:
                details.household_size = int_of(app.get("household_size"))
            if details.monthly_income_fen is None:
                details.monthly_income_fen = int_of(app.get("monthly_income_fen"))
        elif e.type == "task.approved" and p.get("stage") == "home_visit":
            data = dict_of(p.get("data"))
            visitors = data.get("visitors")
            details.visit = Visit(
                by=e.actor_id,
                at=e.occurred_at,
                visitors=[v for v in visitors if isinstance(v, str)]
                if isinstance(visitors, list)
                else [],
                household_size=int_of(data.get("household_size")),
                monthly_income_fen=int_of(data.get("monthly_income_fen")),
                assets=str_of(data.get("assets")),
                cause=str_of(data.get("cause")),
                explanation=str_of(data.get("explanation")),
            )
        elif e.type == "civil_affairs.checked":
            details.civil_affairs = CivilAffairs(
                match=bool(p.get("match")), detail=str_of(p.get("detail")) or "", at=e.occurred_at
            )
    return details


@dataclass
class Entry:
    """One line of the history in words."""

    seq: int
    at: datetime
    type: str
    label: str
    actor_id: str
    actor_name: str | None
    system: bool
    details: list[str] = field(default_factory=list)


def _person(names: Mapping[str, str], user_id: object) -> str:
    if not isinstance(user_id, str) or not user_id:
        return "-"
    name = names.get(user_id)
    return f"{name} ({user_id})" if name else user_id


def _deadline_details(type_: str, p: dict[str, Any], t: Any) -> list[str]:
    """What a case deadline's event says besides its name: the due day, how far ahead
    an alarm rang, the day an interruption happened, the days a suspension kept."""
    details: list[str] = []
    if type_ == "deadline.interrupted" and str_of(p.get("on")):
        details.append(f"{t('interrupted_on')} {p['on']}")
    if type_ in ("deadline.warned", "deadline.escalated") and int_of(p.get("days_before")):
        details.append(t("days_before", n=p["days_before"]))
    if type_ == "deadline.suspended" and int_of(p.get("days_left")) is not None:
        details.append(t("days_left", n=p["days_left"]))
    due = parse_iso(p.get("due_at"))
    if due is not None and type_ != "deadline.suspended":
        details.append(f"{t('due')} {deadline(due)}")
    return details


def timeline(events: Sequence[EventLike], texts: Texts, names: Mapping[str, str]) -> list[Entry]:
    """Every recorded event, in order, in words: what happened (at which stage), who
    (name and id), and the comment, reason or figures it carries."""
    t = texts.t
    stage: str | None = None
    labels: dict[str, Any] = {}
    """Case deadlines' labels by name, from their `deadline.set`."""
    entries: list[Entry] = []
    for e in events:
        p = e.payload if isinstance(e.payload, dict) else {}
        if e.type == "case.stage_entered":
            stage = str_of(p.get("stage"))
        if e.type == "deadline.set" and str_of(p.get("name")):
            labels[p["name"]] = p.get("label")
        label = labels.get(str_of(p.get("name")) or "") if e.type.startswith("deadline.") else None
        # Task events name their stage; a claim or a request does not: the case's.
        words = texts.event(e.type, {"stage": stage, "label": label, **p})
        details: list[str] = []
        if e.type == "case.opened":
            app = dict_of(p.get("application"))
            amount = int_of(app.get("requested_amount_fen"))
            if amount is not None:
                details.append(f"{t('requested_amount')} {yuan(amount)}")
        elif e.type == "task.opened":
            due = parse_iso(p.get("due_at"))
            details.append(texts.role(str_of(p.get("role"))))
            if due is not None:
                details.append(f"{t('due')} {deadline(due)}")
        elif e.type == "case.stage_entered":
            facts = dict_of(p.get("facts"))
            ends = parse_iso(facts.get("notice_ends_at"))
            if ends is not None:
                details.append(f"{t('notice_ends')} {deadline(ends)}")
        elif e.type == "task.reassigned":
            details.append(f"{t('to')} {_person(names, p.get('assignee'))}")
            previous = p.get("previous")
            details.append(
                f"{t('previously')} {_person(names, previous) if previous else t('unclaimed')}"
            )
        elif e.type == "task.extended":
            due = parse_iso(p.get("due_at"))
            was = parse_iso(p.get("previous_due_at"))
            details.append(f"{t('until')} {deadline(due)}")
            if was is not None:
                details.append(f"{t('was_due')} {deadline(was)}")
        elif e.type == "task.overdue":
            details.append(f"{t('due')} {deadline(parse_iso(p.get('due_at')))}")
        elif e.type == "task.approved" and isinstance(p.get("data"), dict) and p["data"]:
            data = p["data"]
            visitors = data.get("visitors")
            if isinstance(visitors, list):
                details.append(f"{t('visitors')} " + "、".join(_person(names, v) for v in visitors))
        elif e.type == "civil_affairs.checked":
            details.append(t("match") if p.get("match") else t("no_match"))
            if str_of(p.get("detail")):
                details.append(str(p["detail"]))
        elif e.type in ("funds.reserved", "funds.released", "disbursement.completed"):
            details.append(f"{yuan(int_of(p.get('amount_fen')))} 元")
            if str_of(p.get("transfer_ref")):
                details.append(f"{t('transfer')} {p['transfer_ref']}")
        elif e.type == "notice.ended" and int_of(p.get("round")):
            details.append(t("round", n=p["round"]))
        elif e.type.startswith("deadline."):
            details += _deadline_details(e.type, p, t)
        for key in ("comment", "reason"):
            text = str_of(p.get(key))
            if text:
                details.append(text)
        entries.append(
            Entry(
                seq=e.seq,
                at=e.occurred_at,
                type=e.type,
                label=words,
                actor_id=e.actor_id,
                actor_name=t("system") if e.actor_id == SYSTEM else names.get(e.actor_id),
                system=e.actor_id == SYSTEM,
                details=details,
            )
        )
    return entries
