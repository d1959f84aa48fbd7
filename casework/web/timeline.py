"""What the case page reads from a case's recorded events: the application the officer
decides on, the conditions checked, the home-visit findings, the civil-affairs answer,
and the history in words.

Only named fields are taken from payloads: `case.opened` also carries the applicant's
sealed personal fields, which never reach a page from here (the applicant card does
that, as the viewer may see them). The application is read from its masked form only,
and an action's data by the fields of its model in the registry."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from casework.domain.case import SYSTEM, CaseState
from casework.domain.case_type import CaseType
from casework.domain.payload import dict_of, int_of, str_of
from casework.domain.review import EventLike as RecordedLike
from casework.web.formatting import deadline, parse_iso, yuan
from casework.web.i18n import CHOICES, FIELDS, Texts


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
class Check:
    """One condition of a recorded check (legal aid's acceptance conditions)."""

    rule: str
    passed: bool
    why: list[str]
    """[Chinese, English]."""


@dataclass
class Row:
    """One line of the recorded application: its key, its label and its value in words."""

    key: str
    label: str
    value: str


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
    """When the stage the case is at ends by itself (a public notice); None otherwise."""
    notice_round: int | None = None
    application: dict[str, Any] = field(default_factory=dict)
    """The application as recorded (masked)."""
    checks_label: str | None = None
    """The event type of the latest recorded check of conditions."""
    checks: list[Check] = field(default_factory=list)


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
    )
    for e in events:
        p = e.payload
        if e.type == "case.stage_entered":
            entered = dict_of(p.get("facts"))
            details.notice_ends_at = parse_iso(entered.get("notice_ends_at"))
        if isinstance(p.get("checks"), list):
            details.checks_label = e.type
            details.checks = _checks(p["checks"])
        if e.type == "case.opened":
            app = dict_of(p.get("application"))
            details.application = app
            details.employer = str_of(app.get("employer"))
            details.reason = str_of(app.get("reason"))
            if details.household_size is None:
                details.household_size = int_of(app.get("household_size"))
            if details.monthly_income_fen is None:
                details.monthly_income_fen = int_of(app.get("monthly_income_fen"))
        elif e.type == "task.approved" and isinstance(dict_of(p.get("data")).get("visitors"), list):
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


def _checks(recorded: list[Any]) -> list[Check]:
    found: list[Check] = []
    for item in recorded:
        c = dict_of(item)
        why = c.get("why")
        said = [w for w in why if isinstance(w, str)] if isinstance(why, list) else []
        found.append(Check(str_of(c.get("rule")) or "-", c.get("passed") is True, said))
    return found


CARD_KEYS = frozenset(
    {"applicant_name", "id_number_masked", "phone_masked", "bank_account_masked", "district"}
)
"""The recorded application's keys the case page shows elsewhere: the applicant card
(every case type's), and the district beside the case's title."""


def application_rows(application: Mapping[str, Any], texts: Texts) -> list[Row]:
    """The recorded application in words, in the order of i18n.FIELDS: amounts in yuan,
    choices in words, yes or no."""
    order = list(FIELDS)
    rows: list[Row] = []
    for key, value in application.items():
        if key in CARD_KEYS or key.startswith("has_") or isinstance(value, dict | list):
            continue
        pair = FIELDS.get(key)
        rows.append(Row(key, pair[texts.index] if pair else key, _value(key, value, texts)))
    rows.sort(key=lambda r: order.index(r.key) if r.key in order else len(order))
    return rows


def _value(key: str, value: object, texts: Texts) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return texts.t("yes" if value else "no")
    if key.endswith("_fen") and int_of(value) is not None:
        return yuan(int_of(value))
    if key in CHOICES:
        return texts.choice(key, str(value))
    return str(value)


_YUAN_SUFFIX = re.compile(r"\s*[（(](?:元|yuan)[^）)]*[）)]$")


def _named_data(
    payload: Mapping[str, Any],
    fields: Sequence[str],
    kind: CaseType,
    texts: Texts,
    names: Mapping[str, str],
) -> list[str]:
    """The named fields of an action's data (or of an event recording it) in words:
    `承办律师：援助律师 (chongchuan.lawyer)`, `追回金额：2,000.00 元`."""
    shown: list[str] = []
    for key in fields:
        value = payload.get(key)
        if value is None or isinstance(value, dict | list):
            continue
        pair = FIELDS.get(key)
        name = _YUAN_SUFFIX.sub("", pair[texts.index]) if pair else key
        if key in kind.person_fields:
            text = _person(names, value)
        elif key.endswith("_fen") and int_of(value) is not None:
            text = f"{yuan(int_of(value))} 元"
        elif key in CHOICES:
            text = texts.choice_short(key, str(value))
        elif isinstance(value, bool):
            text = texts.t("yes" if value else "no")
        else:
            text = str(value)
        shown.append(texts.labelled(name, text))
    return shown


def _fields_of(payload: Mapping[str, Any], kind: CaseType, stage: object) -> list[str]:
    """The fields to read `payload` by, in order: an approval's by its stage's model; an
    event of the type's own by the model of its actions' data it holds most of."""
    model = kind.approval_models.get(stage) if isinstance(stage, str) else None
    if model is None:
        models = [*kind.action_models.values(), *kind.approval_models.values()]
        ranked = sorted(models, key=lambda m: -len(set(m.model_fields) & set(payload)))
        model = ranked[0] if ranked else None
    return [] if model is None else list(model.model_fields)


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


def timeline(
    events: Sequence[EventLike],
    texts: Texts,
    names: Mapping[str, str],
    kind: CaseType | None = None,
) -> list[Entry]:
    """Every recorded event, in order, in words: what happened (at which stage, of which
    kind), who (name and id), and the comment, reason or figures it carries; for the
    case's type (`kind`), the data its actions carry and its own events record."""
    t = texts.t
    own = set(kind.event_labels) if kind is not None else set()
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
        step = str_of(p.get("kind"))
        if step and kind is not None and "kind" in kind.choices:
            # an event of a kind the type has words for: 记录承办进展：申请劳动仲裁
            words = texts.labelled(words, texts.choice_short("kind", step))
        details: list[str] = []
        if e.type == "case.opened":
            app = dict_of(p.get("application"))
            key = (kind.amount_fact if kind is not None else None) or ""
            amount = int_of(app.get(key))
            pair = FIELDS.get(key)
            if amount is not None and pair is not None:
                details.append(f"{pair[texts.index]} {yuan(amount)}")
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
            if isinstance(visitors, list):  # a visit's findings: the case page shows them
                details.append(f"{t('visitors')} " + "、".join(_person(names, v) for v in visitors))
            elif kind is not None:
                named = _fields_of(data, kind, p.get("stage"))
                details += _named_data(data, named, kind, texts, names)
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
        elif isinstance(p.get("checks"), list):
            for c in _checks(p["checks"]):
                met = t("check_passed" if c.passed else "check_failed")
                details.append(texts.labelled(met, texts.pick(c.why) or c.rule))
        elif e.type in own and kind is not None:
            named = [f for f in _fields_of(p, kind, None) if f != "kind"]
            details += _named_data(p, named, kind, texts, names)
        for key in ("comment", "reason", "note"):
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
