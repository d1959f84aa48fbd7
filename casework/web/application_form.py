"""The open-case form of a case type, built from its application model (`CaseType.
application_model`): every field of the model, nested models as fieldsets, an input
chosen by the field's type and constraints; reading what was typed back into the
model's data; and each problem pydantic (or the service) finds placed beside its field.
The fields of an action's data on the case page (`CaseType.approval_models`,
`action_models`) are built the same way (`action_form`).

What becomes what:
- a nested model: a fieldset of its fields (optional: left out when left blank);
- an Enum, a Literal, or a string whose JSON schema has an `enum` (the district): a
  select; the words for its options are in `casework.web.i18n.CHOICES`;
- an int named `*_fen`: an amount typed in yuan (`parse_yuan`: two decimals, full-width
  digits and separators) kept in fen; any other int: a whole number;
- a `date`: a date input; a bool: a checkbox;
- a string longer than 200 characters at most: a textarea; other strings a text input,
  those whose pattern is digits only (ID number, phone, account) read with full-width
  digits made ASCII and spaces dropped.
Anything else (lists, floats, datetimes, unions) raises `UnsupportedField` when the
form is built, so that a type whose application the page cannot show fails its test
(tests/test_registry.py) rather than a person at the page.

Labels come from `casework.web.i18n.FIELDS` by the field's dotted path
(`household.size`), then its name, then its description and its name.
"""

from __future__ import annotations

import re
import types
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from casework.web.forms import parse_date, parse_whole, parse_yuan
from casework.web.i18n import FIELDS, HINTS, Texts

TEXTAREA_OVER = 200
"""Strings that may be longer than this get a textarea."""
YUAN_LIMIT_FEN = 10**14
"""What `parse_yuan` takes at most: larger sums are refused as too big, smaller ones
checked against the field's own bounds (which name them)."""
WHOLE_DIGITS = 18
FORM_WIDE = "form"
"""Where a problem that belongs to no field is shown: above the form."""

Kind = Literal["text", "textarea", "select", "yuan", "whole", "date", "checkbox"]
Bound = int | date | None


class UnsupportedField(TypeError):
    """A field of an application model that has no input on the form."""


@dataclass(frozen=True)
class FormField:
    path: tuple[str, ...]
    """Where the value sits in the application's data (by alias)."""
    name: str
    kind: Kind
    required: bool
    """Must be filled in (no default)."""
    nullable: bool = False
    description: str | None = None
    title: str | None = None
    choices: tuple[Any, ...] = ()
    """A select's values as the model takes them (enum members, literals, strings)."""
    default: Any = None
    lo: Bound = None
    """The smallest value allowed (a `gt` made inclusive), in the model's units."""
    hi: Bound = None
    max_length: int | None = None
    pattern: str | None = None
    digits: bool = False
    """A code typed in digits: full-width digits made ASCII, spaces dropped."""

    @property
    def id(self) -> str:
        """The input's name and id (`applicant-id_number`): the problem beside it is
        `error-<id>`."""
        return "-".join(self.path)

    @property
    def input_mode(self) -> str | None:
        if self.kind == "yuan":
            return "decimal"
        if self.kind == "whole":
            return "numeric"
        if self.kind == "text" and self.name.endswith("phone"):
            return "tel"
        if self.digits and self.pattern and "X" not in self.pattern:
            return "numeric"
        return None

    def option(self, raw: str) -> Any:
        """The choice whose value is `raw` (as sent), or `raw` (pydantic refuses it)."""
        for c in self.choices:
            if _choice_value(c) == raw:
                return c
        return raw


@dataclass(frozen=True)
class FieldGroup:
    path: tuple[str, ...]
    name: str
    required: bool
    nullable: bool = False
    description: str | None = None
    title: str | None = None
    members: tuple[FormField | FieldGroup, ...] = ()

    @property
    def id(self) -> str:
        return "-".join(self.path)

    def fields(self) -> Iterator[FormField]:
        for m in self.members:
            if isinstance(m, FieldGroup):
                yield from m.fields()
            else:
                yield m


@dataclass(frozen=True)
class ApplicationForm:
    """The form of one application model."""

    model: type[BaseModel]
    members: tuple[FormField | FieldGroup, ...]
    prefix: tuple[str, ...] = ()
    """Where the model's data sits on the form: an action's fields are named after the
    action (`record-step-on`), so that two actions' fields never share a name."""
    _places: dict[tuple[str, ...], str] = field(default_factory=dict, compare=False)

    def fields(self) -> Iterator[FormField]:
        return FieldGroup((), "", True, members=self.members).fields()

    def groups(self) -> Iterator[FieldGroup]:
        def walk(members: tuple[FormField | FieldGroup, ...]) -> Iterator[FieldGroup]:
            for m in members:
                if isinstance(m, FieldGroup):
                    yield m
                    yield from walk(m.members)

        return walk(self.members)

    def every(self) -> list[FormField | FieldGroup]:
        """Every field and fieldset."""
        found: list[FormField | FieldGroup] = [*self.fields()]
        found.extend(self.groups())
        return found

    def sections(self) -> list[FieldGroup]:
        """The fieldsets of the page: each nested model, and each run of the fields
        between them (the application's own: category, amount, reason) as one."""
        found: list[FieldGroup] = []
        loose: list[FormField] = []
        for m in (*self.members, None):
            if isinstance(m, FormField):
                loose.append(m)
                continue
            if loose:
                found.append(FieldGroup((), "application", True, members=tuple(loose)))
                loose = []
            if m is not None:
                found.append(m)
        return found

    def order(self) -> list[str]:
        """Every field's and fieldset's id, in the order they appear on the page."""
        ids: list[str] = []

        def walk(members: tuple[FormField | FieldGroup, ...]) -> None:
            for m in members:
                ids.append(m.id)
                if isinstance(m, FieldGroup):
                    walk(m.members)

        walk(self.members)
        return ids

    def blank(self, district: str | None = None) -> dict[str, str]:
        """A fresh form: the selects on their default (a district select on the
        officer's own district), checkboxes as their default, the rest empty."""
        values: dict[str, str] = {}
        for f in self.fields():
            if f.kind == "select":
                if f.default is not None:
                    values[f.id] = _choice_value(f.default)
                elif district is not None and district in f.choices:
                    values[f.id] = district
            elif f.kind == "checkbox" and f.default is True:
                values[f.id] = "on"
        return values

    def read(self, form: Mapping[str, str], words: Texts) -> tuple[dict[str, Any], dict[str, str]]:
        """The application's data from a form, and the problems found reading it (by
        field id, in words, never repeating what was typed). A field that could not be
        read is left out of the data, so pydantic's check of the rest still runs."""
        errors: dict[str, str] = {}
        data = _read_members(self.members, form, words, errors)
        return data, errors

    def place(self, loc: tuple[int | str, ...] | str | None) -> str:
        """The id of the field (or fieldset) a problem at `loc` belongs to: pydantic's
        `loc`, or a refusal's dotted field (`applicant.id_number`); the form otherwise."""
        if not self._places:
            self._places.update({m.path: m.id for m in self.every()})
        if loc is None:
            return FORM_WIDE
        parts = tuple(str(p) for p in (loc.split(".") if isinstance(loc, str) else loc))
        parts = (*self.prefix, *parts)
        for n in range(len(parts), 0, -1):
            found = self._places.get(parts[:n])
            if found is not None:
                return found
        return FORM_WIDE

    def explain(self, exc: ValidationError, words: Texts, errors: dict[str, str]) -> None:
        """Every problem pydantic found, beside its field; a field that already has one
        (a number that did not parse) keeps it."""
        by_id = {f.id: f for f in self.fields()}
        for e in exc.errors():
            place = self.place(e["loc"])
            errors.setdefault(place, problem(e, by_id.get(place), words))

    def ordered(self, errors: dict[str, str]) -> dict[str, str]:
        order = self.order()
        return dict(
            sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else -1)
        )


# -- building the form from a model -------------------------------------------------------


@cache
def application_form(model: type[BaseModel]) -> ApplicationForm:
    """The form of `model` (built once per model)."""
    return ApplicationForm(model, _members(model, ()))


@cache
def action_form(model: type[BaseModel], action: str) -> ApplicationForm:
    """The fields of the data an action carries (an approval's at a stage, a step's),
    built as an application's are, their ids prefixed by the action: `approve-result`."""
    return ApplicationForm(model, _members(model, (action,)), (action,))


def _members(model: type[BaseModel], path: tuple[str, ...]) -> tuple[FormField | FieldGroup, ...]:
    return tuple(
        _member(model, name, info, (*path, info.alias or name))
        for name, info in model.model_fields.items()
    )


def _member(
    model: type[BaseModel], name: str, info: FieldInfo, path: tuple[str, ...]
) -> FormField | FieldGroup:
    kind, nullable, meta = _unwrap(info.annotation)
    meta = [*info.metadata, *meta]
    required = info.is_required()
    described = {"description": info.description, "title": info.title}
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return FieldGroup(path, name, required, nullable, members=_members(kind, path), **described)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    default = None if required else info.get_default(call_default_factory=True)
    common: dict[str, Any] = {
        "path": path,
        "name": name,
        "required": required,
        "nullable": nullable,
        "default": default,
        **described,
    }
    if kind is bool:
        return FormField(kind="checkbox", **common)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return FormField(kind="select", choices=tuple(kind), **common)
    if get_origin(kind) is Literal:
        return FormField(kind="select", choices=get_args(kind), **common)
    if kind is int:
        lo, hi = _bounds(meta, 1)
        return FormField(kind="yuan" if name.endswith("_fen") else "whole", lo=lo, hi=hi, **common)
    if kind is date:
        lo, hi = _bounds(meta, date.resolution)
        return FormField(kind="date", lo=lo, hi=hi, **common)
    if kind is str:
        enum = extra.get("enum")
        if isinstance(enum, list) and enum:
            return FormField(kind="select", choices=tuple(enum), **common)
        longest = _constraint(meta, "max_length") or extra.get("maxLength")
        pattern = _constraint(meta, "pattern") or extra.get("pattern")
        pattern = pattern if isinstance(pattern, str) else None
        return FormField(
            kind="textarea" if isinstance(longest, int) and longest > TEXTAREA_OVER else "text",
            max_length=longest if isinstance(longest, int) else None,
            pattern=pattern,
            digits=pattern is not None and _DIGITS_ONLY.fullmatch(pattern) is not None,
            **common,
        )
    raise UnsupportedField(
        f"{model.__name__}.{name}: {info.annotation!r} has no input on the open-case form "
        "(casework/web/application_form.py)"
    )


def _unwrap(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """(the type, whether None is allowed, the constraints Annotated carries)."""
    meta: list[Any] = []
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            inner, *more = get_args(annotation)
            for m in more:
                meta.extend(m.metadata if isinstance(m, FieldInfo) else [m])
            annotation = inner
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation, nullable, meta  # a real union: unsupported
            nullable, annotation = True, options[0]
        else:
            if annotation is datetime:  # a date the class hierarchy would let through
                return object, nullable, meta
            return annotation, nullable, meta


def _constraint(meta: list[Any], name: str) -> Any:
    for m in meta:
        value = getattr(m, name, None)
        if value is not None:
            return value
    return None


def _bounds(meta: list[Any], step: Any) -> tuple[Bound, Bound]:
    """The smallest and largest value allowed, `gt`/`lt` made inclusive by `step`."""
    lo = _constraint(meta, "ge")
    if lo is None and (gt := _constraint(meta, "gt")) is not None:
        lo = gt + step
    hi = _constraint(meta, "le")
    if hi is None and (lt := _constraint(meta, "lt")) is not None:
        hi = lt - step
    return lo, hi


_DIGITS_ONLY = re.compile(r"\^(?:[0-9]|\\d|\[(?:[0-9]-[0-9]|[0-9Xx])+\]|\{\d+(?:,\d+)?\})+\$")
"""A pattern of digits only (and the X of an ID number): `^[0-9]{12,30}$`."""
_DIGIT_COUNT = re.compile(r"\^(?:\[0-9\]|\\d)\{(\d+)(?:,(\d+))?\}\$")


def _choice_value(choice: Any) -> str:
    return str(choice.value if isinstance(choice, Enum) else choice)


# -- reading a form ----------------------------------------------------------------------

_OMIT = object()


def _read_members(
    members: tuple[FormField | FieldGroup, ...],
    form: Mapping[str, str],
    words: Texts,
    errors: dict[str, str],
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for m in members:
        if isinstance(m, FieldGroup):
            if not m.required and _left_blank(m, form):
                continue  # an optional part not filled in: its default
            if m.nullable and _left_blank(m, form):
                data[m.path[-1]] = None
                continue
            data[m.path[-1]] = _read_members(m.members, form, words, errors)
            continue
        value = _read_field(m, form, words, errors)
        if value is not _OMIT:
            data[m.path[-1]] = value
    return data


def _left_blank(group: FieldGroup, form: Mapping[str, str]) -> bool:
    return all(f.kind == "select" or not form.get(f.id, "").strip() for f in group.fields())


def _read_field(f: FormField, form: Mapping[str, str], words: Texts, errors: dict[str, str]) -> Any:
    if f.kind == "checkbox":
        return f.id in form
    raw = form.get(f.id, "")
    if f.digits:
        raw = "".join(unicodedata.normalize("NFKC", raw).split())
    if not raw.strip():
        if not f.required:
            return _OMIT  # its default
        if f.nullable:
            return None
        errors[f.id] = words.t("required")
        return _OMIT
    value: Any
    problem_key: str | None = None
    if f.kind == "yuan":
        value, problem_key = parse_yuan(raw, maximum_fen=YUAN_LIMIT_FEN)
    elif f.kind == "whole":
        # A number too large for the field gets its range; only absurd lengths are
        # refused as not a number.
        value, problem_key = parse_whole(raw, max_digits=WHOLE_DIGITS)
    elif f.kind == "date":
        day, problem_key = parse_date(raw)
        value = None if day is None else date.fromisoformat(day)
    elif f.kind == "select":
        value = f.option(raw)
    else:
        value = raw
    if problem_key is not None:
        errors[f.id] = words.t(problem_key)
        return _OMIT
    return value


# -- problems in words -------------------------------------------------------------------

_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def problem(error: ErrorDetails, f: FormField | None, words: Texts) -> str:
    """A validation problem in words, without repeating what was typed; a range from
    the field's own bounds as people type them (yuan for amounts)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return words.t("required")
    if kind == "string_too_short":
        return words.t("too_short", n=ctx.get("min_length", "?"))
    if kind == "string_too_long":
        return words.t("too_long", n=ctx.get("max_length", "?"))
    if kind in ("enum", "literal_error"):
        return words.t("bad_choice")
    if kind == "string_pattern_mismatch":
        counted = _DIGIT_COUNT.fullmatch(f.pattern or "") if f is not None else None
        if counted is None:
            return words.t("bad_format")
        lo, hi = counted.group(1), counted.group(2) or counted.group(1)
        return words.t("n_digits", n=lo if lo == hi else f"{lo}–{hi}")
    if kind in _RANGE_ERRORS and f is not None and (f.lo is not None or f.hi is not None):
        return range_words(f, words)
    if kind.startswith("date"):
        return words.t("bad_date")
    return str(error["msg"])


def range_words(f: FormField, words: Texts) -> str:
    """须在 1 至 30 之间; amounts in yuan (须在 0.01 至 10,000,000 之间)."""
    lo, hi = _shown(f, f.lo), _shown(f, f.hi)
    if lo is not None and hi is not None:
        return words.t("between", lo=lo, hi=hi)
    if lo is not None:
        return words.t("at_least", lo=lo)
    return words.t("at_most", hi=hi)


def _shown(f: FormField, bound: Bound) -> str | None:
    if bound is None:
        return None
    if isinstance(bound, date):
        return bound.isoformat()
    if f.kind == "yuan":
        whole, cents = divmod(bound, 100)
        return f"{whole:,}" + (f".{cents:02d}" if cents else "")
    return f"{bound:,}"


# -- words on the page --------------------------------------------------------------------


def label(member: FormField | FieldGroup, words: Texts) -> str:
    """A field's label: i18n.FIELDS by its dotted path, then by its name; else its
    title or the first sentence of its description; else its name. Amounts say yuan."""
    pair = FIELDS.get(".".join(member.path)) or FIELDS.get(member.name)
    if pair is not None:
        text = pair[words.index]
    elif member.title:
        text = member.title
    elif member.description:
        text = re.split(r"(?<=[^0-9])[.:;]\s|[。：；]", member.description, maxsplit=1)[0]
        text = text.rstrip(".")
    else:
        text = member.name
    if isinstance(member, FormField) and member.kind == "yuan" and not _says_yuan(text):
        text += words.t("in_yuan")
    return text


def hint(member: FormField | FieldGroup, words: Texts) -> str | None:
    """What to type into a field, where i18n.HINTS says (by dotted path, then name)."""
    pair = HINTS.get(".".join(member.path)) or HINTS.get(member.name)
    return None if pair is None else pair[words.index]


def _says_yuan(text: str) -> bool:
    return "元" in text or "yuan" in text.lower()


def choice_words(f: FormField, words: Texts) -> list[tuple[str, str]]:
    """A select's options as (value, words): i18n.CHOICES by the field's name (both
    names on Chinese pages, as domain terms are), else the value itself."""
    return [(v, words.choice(f.name, v)) for v in map(_choice_value, f.choices)]
