"""Relief programmes (送温暖, 夏季安康"三送"): the programme a city officer opens, and the
checks every row of a union's submitted list goes through. processes.md section 1b.

Most relief by count is not a case per person: the seed's 送温暖 paid 34,429 people about
387 元 each. A programme is opened once, each grassroots union submits a list (hundreds
of rows), and every row is checked on its own:

- the ID number is a real one (GB 11643 check digit and birth date);
- the category is one the programme pays, and the amount within its standard;
- the person qualifies as the programme says (a household on the register of one of
  the programme's categories, or a frontline worker named by their union);
- the person is not already on this programme's lists, through this list or another
  union's: one person, one payment per programme;
- the district's budget: rows that would take the district past it fail, in list
  order.

A row that fails is reported with its line and field and goes back to the union; the
rest of the list goes on. Pure: the register and the programme's earlier lists are
asked through the callables the caller passes (the store answers them in one query per
list, not one per row).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casework.domain.applicant import NAME_PATTERN, STRICT
from casework.domain.batch import RunProgress
from casework.domain.eligibility import Category, yuan
from casework.domain.identity import id_number_problem, mask
from casework.domain.org import DISTRICTS, Actor
from casework.domain.text import check_text

MAX_ROWS = 5000
"""Rows in one submitted list: a union's list is hundreds; more is a mistake."""
COLUMNS = ("union", "name", "id_number", "category", "amount_fen")
"""The columns a list must have (a header row names them; others are ignored)."""
BANK_ACCOUNT = "bank_account"
"""An optional column: the account the payment goes to. A row without one is accepted
and fails at payment, listed for its district to correct."""


class ProgrammeKind(StrEnum):
    SONG_WEN_NUAN = "song_wen_nuan"  # 送温暖
    SUMMER = "summer"  # 夏季安康"三送"


class Qualifies(StrEnum):
    """Who a programme pays."""

    REGISTER = "register"  # households on the register (建档) of the programme's categories
    FRONTLINE = "frontline"  # frontline workers their unions name (夏季送清凉)


class RecipientCategory(StrEnum):
    """A row's category: the register's hardship categories, or a frontline worker."""

    DEEP = Category.DEEP.value
    RELATIVE = Category.RELATIVE.value
    ACCIDENT = Category.ACCIDENT.value
    FRONTLINE = "frontline"


class ProgrammeSpec(BaseModel):
    """What the city officer opens (`casework programme open --file programme.json`)."""

    model_config = STRICT

    name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": NAME_PATTERN})
    kind: ProgrammeKind
    year: int = Field(ge=2000, le=2100, strict=True)
    starts_on: date
    ends_on: date
    lists_due_on: date
    """Unions submit their lists by this day."""
    qualifies: Qualifies
    standards_fen: dict[RecipientCategory, int] = Field(min_length=1)
    """The amount per person by category, in fen: a row may ask for less, never more."""
    budget_fen: dict[str, int] = Field(min_length=1)
    """Each district's budget for the programme, in fen."""

    @field_validator("name")
    @classmethod
    def _printable(cls, v: str) -> str:
        return check_text(v, line_breaks=False)

    @field_validator("standards_fen")
    @classmethod
    def _standards(cls, v: dict[RecipientCategory, int]) -> dict[RecipientCategory, int]:
        if any(not isinstance(fen, int) or isinstance(fen, bool) or fen <= 0 for fen in v.values()):
            raise ValueError("each standard is a positive number of fen")
        return v

    @field_validator("budget_fen")
    @classmethod
    def _budgets(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(DISTRICTS))
        if unknown:
            raise ValueError(f"未知区县 (unknown districts): {', '.join(unknown)}")
        if any(not isinstance(fen, int) or isinstance(fen, bool) or fen < 0 for fen in v.values()):
            raise ValueError("each budget is a number of fen, 0 or more")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ProgrammeSpec:
        if not self.starts_on <= self.lists_due_on <= self.ends_on:
            raise ValueError("starts_on ≤ lists_due_on ≤ ends_on")
        frontline = RecipientCategory.FRONTLINE in self.standards_fen
        if self.qualifies is Qualifies.FRONTLINE and set(self.standards_fen) != {
            RecipientCategory.FRONTLINE
        }:
            raise ValueError("standards_fen: a frontline programme pays the frontline category")
        if self.qualifies is Qualifies.REGISTER and frontline:
            raise ValueError("standards_fen: a register programme pays register categories")
        return self


class Row(BaseModel):
    """A row that passed every check."""

    model_config = ConfigDict(frozen=True)

    line: int
    union: str
    name: str
    id_number: str
    category: RecipientCategory
    amount_fen: int
    bank_account: str | None = None

    def masked(self) -> dict[str, object]:
        """As it may appear in logs, history and reports: no clear ID number."""
        return {
            "line": self.line,
            "union": self.union,
            "name": self.name,
            "id_number": mask(self.id_number),
            "category": self.category.value,
            "amount_fen": self.amount_fen,
        }


class RowFailure(BaseModel):
    """Why a row failed: its line in the file (the header is line 1), the field, a
    stable code and the words for the union."""

    model_config = ConfigDict(frozen=True)

    line: int
    field: str
    code: str
    message: str


class ListCheck(BaseModel):
    """A submitted list after the checks."""

    accepted: list[Row]
    failed: list[RowFailure]

    @property
    def total_fen(self) -> int:
        return sum(r.amount_fen for r in self.accepted)


class ListUnreadable(ValueError):
    """The file as a whole cannot be read (encoding, header, size); nothing is checked."""


def read_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV list (UTF-8, with or without a BOM; GB18030 as Excel saves it in
    China), each with its `line`. Raises ListUnreadable naming what is wrong."""
    text: str | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise ListUnreadable("文件编码无法识别，请保存为 UTF-8 (cannot decode: save as UTF-8)")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ListUnreadable(
            f"缺少列 (missing columns): {', '.join(missing)}; 需要 {', '.join(COLUMNS)}"
        )
    reader.fieldnames = header
    rows: list[dict[str, str]] = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise ListUnreadable(f"名单超过 {MAX_ROWS} 行 (more than {MAX_ROWS} rows)")
        values = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if not any(values.get(c) for c in COLUMNS):
            continue  # a blank line
        rows.append({**values, "line": str(reader.line_num)})
    if not rows:
        raise ListUnreadable("名单为空 (the list has no rows)")
    return rows


def check_list(
    rows: Iterable[Mapping[str, str]],
    spec: ProgrammeSpec,
    district: str,
    *,
    qualifies: Callable[[list[str]], Mapping[str, str | None]],
    already_listed: Callable[[list[str]], set[str]],
    budget_left_fen: int,
) -> ListCheck:
    """Every row checked on its own; the rows that pass, and why the others failed.

    `qualifies(id_numbers)`: for each ID number the category it is on the register with
    (None: not on it), or for a frontline programme anything not None for a person the
    union may name. `already_listed(id_numbers)`: those already on an accepted list of
    this programme (another union's, or an earlier list of this one). `budget_left_fen`:
    the district's budget not yet taken by accepted lists.
    """
    accepted: list[Row] = []
    failed: list[RowFailure] = []
    candidates: list[tuple[int, dict[str, object]]] = []
    for raw in rows:
        line = int(raw.get("line", 0) or 0)
        problem = _row_problem(raw, spec)
        if isinstance(problem, RowFailure):
            failed.append(problem.model_copy(update={"line": line}))
        else:
            candidates.append((line, problem))
    ids = [str(c["id_number"]) for _, c in candidates]
    on_register = qualifies(ids) if ids else {}
    listed = already_listed(ids) if ids else set()
    seen: set[str] = set()
    left = budget_left_fen
    for line, c in candidates:
        id_number = str(c["id_number"])
        category = RecipientCategory(str(c["category"]))
        amount = int(str(c["amount_fen"]))
        found = on_register.get(id_number)
        if spec.qualifies is Qualifies.REGISTER and found is None:
            failed.append(
                _fail(
                    line,
                    "id_number",
                    "not_on_register",
                    "不在困难职工档案中",
                    "not on the register",
                )
            )
            continue
        if spec.qualifies is Qualifies.REGISTER and found != category.value:
            failed.append(
                _fail(
                    line,
                    "category",
                    "category_differs",
                    f"档案类别为 {found}",
                    f"the register has this household as {found}",
                )
            )
            continue
        if id_number in seen or id_number in listed:
            failed.append(
                _fail(
                    line,
                    "id_number",
                    "already_listed",
                    "同一人在本项目中只能领取一次（已在名单中）",
                    "already on a list of this programme: one payment per person",
                )
            )
            continue
        if amount > left:
            failed.append(
                _fail(
                    line,
                    "amount_fen",
                    "over_budget",
                    f"区县预算余额 {yuan(left)} 不足",
                    f"the district's budget has {yuan(left)} left",
                )
            )
            continue
        seen.add(id_number)
        left -= amount
        accepted.append(
            Row(
                line=line,
                union=str(c["union"]),
                name=str(c["name"]),
                id_number=id_number,
                category=category,
                amount_fen=amount,
                bank_account=str(c["bank_account"]) if c.get("bank_account") else None,
            )
        )
    failed.sort(key=lambda f: f.line)
    return ListCheck(accepted=accepted, failed=failed)


def _fail(line: int, field: str, code: str, zh: str, en: str) -> RowFailure:
    return RowFailure(line=line, field=field, code=code, message=f"{zh} ({en})")


def _row_problem(raw: Mapping[str, str], spec: ProgrammeSpec) -> RowFailure | dict[str, object]:
    """What is wrong with a row on its own (line 0: set by the caller), or its values."""
    for column in COLUMNS:
        if not raw.get(column):
            return _fail(0, column, "missing", "必填", "required")
    union = raw["union"]
    name = raw["name"]
    for field, value, limit in (("union", union, 100), ("name", name, 50)):
        if len(value) > limit:
            return _fail(
                0, field, "too_long", f"至多 {limit} 个字符", f"at most {limit} characters"
            )
        try:
            check_text(value, line_breaks=False)
        except ValueError:
            return _fail(
                0, field, "invalid_text", "含不可见或控制字符", "invisible or control characters"
            )
    id_number = raw["id_number"].upper()
    problem = id_number_problem(id_number)
    if problem:
        return _fail(0, "id_number", "invalid_id_number", "身份证号无效", problem)
    try:
        category = RecipientCategory(raw["category"])
    except ValueError:
        pays = ", ".join(c.value for c in spec.standards_fen)
        return _fail(0, "category", "unknown_category", f"类别须为 {pays}", f"one of: {pays}")
    standard = spec.standards_fen.get(category)
    if standard is None:
        pays = ", ".join(c.value for c in spec.standards_fen)
        return _fail(
            0,
            "category",
            "category_not_paid",
            f"本项目只发放 {pays}",
            f"this programme pays {pays}",
        )
    text = raw["amount_fen"]
    if not text.isdigit() or int(text) <= 0:
        return _fail(
            0,
            "amount_fen",
            "invalid_amount",
            "金额须为正整数（分）",
            "a positive whole number of fen",
        )
    amount = int(text)
    account = raw.get(BANK_ACCOUNT) or None
    if account is not None and not bank_account_ok(account):
        return _fail(
            0,
            BANK_ACCOUNT,
            "invalid_bank_account",
            "银行账号须为 8 至 30 位数字",
            "8 to 30 digits",
        )
    if amount > standard:
        return _fail(
            0,
            "amount_fen",
            "above_standard",
            f"超过标准 {yuan(standard)}",
            f"above the standard of {yuan(standard)}",
        )
    return {
        "union": union,
        "name": name,
        "id_number": id_number,
        "category": category.value,
        "amount_fen": amount,
        "bank_account": account,
    }


def bank_account_ok(account: str) -> bool:
    """A bank account as a row or a correction may give it: 8 to 30 ASCII digits."""
    return account.isascii() and account.isdigit() and 8 <= len(account) <= 30


# -- the payment run (发放): what the workflow and its activity exchange ------------------

PAY_PROGRAMME = "pay_programme"
"""The activity that pays a programme's approved rows in batches (docs/batch-runs.md)."""


class DistrictAtDeadline(BaseModel):
    """A district's lists when they fell due: counts only, nobody named."""

    district: str
    lists_submitted: int = 0
    lists_approved: int = 0
    lists_returned: int = 0
    rows_awaiting_review: int = 0
    """Accepted rows of lists the district has not reviewed yet."""


class ListsDue(BaseModel):
    """The `lists.due` event of a programme, recorded once at its list deadline."""

    programme_id: str
    lists_due_on: date
    recorded_at: datetime
    overdue_districts: list[str]
    """The districts of the budget with no list submitted or approved at the deadline."""
    districts: list[DistrictAtDeadline]
    """Every district of the budget, as it stood."""


RECORD_LISTS_DUE = "record_lists_due"
"""The activity that records a programme's list deadline (`Programmes.record_lists_due`)."""


class PayRequest(BaseModel):
    """One call of the batch activity: pay from `cursor` on, as `actor`."""

    programme_id: str
    actor: Actor
    cursor: int = 0


class ProgrammeRunState(BaseModel):
    """The payment run's workflow state, carried through continue-as-new."""

    programme_id: str
    actor: Actor
    cursor: int = 0
    calls: int = 0
    progress: RunProgress = Field(default_factory=RunProgress)
    heartbeat_timeout_s: float | None = None
    calls_per_run: int = 200
    """Activity calls before the workflow continues as new (if Temporal has not suggested
    it sooner): about an hour of paying, a history of a few hundred events."""
    """How soon a killed worker's batch is taken up again (None: the default)."""


def programme_workflow_id(programme_id: str) -> str:
    return f"programme-{programme_id}"
