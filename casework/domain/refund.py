"""Union-dues refunds to small firms (小微企业工会经费返还, processes.md section 5): the
district's dues payment file, a firm's application, and the match of one against the
other.

A year's refunds are a volume run (docs/batch-runs.md), not a case per firm: the seed's
year gave back 4,400万元 to 17,000+ firms. Each application is a row; the run matches it
against the payment record of the same year and firm (by the unified social credit
code, casework.domain.credit_code). A clean match is paid the dues the firm's union
actually paid that year, never more; every other application is an exception for a
person (a refund review case). Pure: the store asks, the run records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from casework.domain.batch import RunProgress
from casework.domain.credit_code import credit_code_problem, normalise
from casework.domain.intake import Intake
from casework.domain.org import CITY, DISTRICTS, Actor, Role
from casework.domain.programme import RowFailure, bank_account_ok
from casework.domain.refusal import Refused
from casework.domain.streams import REFUNDS_PREFIX
from casework.domain.text import check_text

SOURCE = "refund"
"""`payments.source` of a refund, and its name in the funds ledger."""
MAX_ROWS = 50_000
"""Rows in one file: a city's year is under 20,000 firms."""

PAYMENT_COLUMNS = ("firm", "credit_code", "district", "union_account", "dues_fen", "period")
"""The payment file's header (the union's account may be empty: an exception later)."""
APPLICATION_COLUMNS = ("firm", "credit_code", "district", "claimed_fen", "employees", "small_scale")
"""The bulk applications file's header (`refunds apply`)."""
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])/(\d{4})-(0[1-9]|1[0-2])$")


class FileUnreadable(ValueError):
    """The file as a whole cannot be read (encoding, header, size); nothing is checked."""


class PaymentRecord(BaseModel):
    """One firm's dues paid in a year, as the payment file gives it."""

    model_config = ConfigDict(frozen=True)

    line: int
    firm: str
    credit_code: str
    district: str
    union_account: str | None
    dues_fen: int
    period: str


class PaymentFileCheck(BaseModel):
    accepted: list[PaymentRecord]
    failed: list[RowFailure]


def _fail(line: int, field: str, code: str, zh: str, en: str) -> RowFailure:
    return RowFailure(line=line, field=field, code=code, message=f"{zh} ({en})")


def read_csv(data: bytes, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV file (UTF-8 with or without BOM, or GB18030 as Excel saves it
    in China), each with its `line`; FileUnreadable naming what is wrong."""
    text: str | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise FileUnreadable("文件编码无法识别，请保存为 UTF-8 (cannot decode: save as UTF-8)")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in columns if c not in header]
    if missing:
        raise FileUnreadable(
            f"缺少列 (missing columns): {', '.join(missing)}; 需要 {', '.join(columns)}"
        )
    reader.fieldnames = header
    rows: list[dict[str, str]] = []
    for row in reader:
        if len(rows) >= MAX_ROWS:
            raise FileUnreadable(f"文件超过 {MAX_ROWS} 行 (more than {MAX_ROWS} rows)")
        values = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if not any(values.get(c) for c in columns):
            continue
        rows.append({**values, "line": str(reader.line_num)})
    if not rows:
        raise FileUnreadable("文件为空 (the file has no rows)")
    return rows


def _text_problem(line: int, field: str, value: str, limit: int) -> RowFailure | None:
    if not value:
        return _fail(line, field, "missing", "必填", "required")
    if len(value) > limit:
        return _fail(line, field, "too_long", f"至多 {limit} 个字符", f"at most {limit} characters")
    try:
        check_text(value, line_breaks=False)
    except ValueError:
        return _fail(
            line, field, "invalid_text", "含不可见或控制字符", "invisible or control characters"
        )
    return None


def _code_problem(line: int, raw: str) -> RowFailure | None:
    problem = credit_code_problem(normalise(raw)) if raw else "required"
    if problem is None:
        return None
    return _fail(line, "credit_code", "invalid_credit_code", "统一社会信用代码无效", problem)


def _district_problem(line: int, district: str, actor: Actor | None) -> RowFailure | None:
    if district not in DISTRICTS or district == CITY:
        return _fail(
            line, "district", "unknown_district", "区县不存在", f"one of: {', '.join(DISTRICTS)}"
        )
    if actor is not None and not actor.covers(district):
        return _fail(
            line,
            "district",
            "outside_jurisdiction",
            f"不在您的管辖范围 {actor.district} 内",
            "outside your jurisdiction",
        )
    return None


def _fen(line: int, field: str, text: str, *, zero: bool = False) -> RowFailure | int:
    if not text.isascii() or not text.isdigit() or (int(text) <= 0 and not zero):
        return _fail(
            line, field, "invalid_amount", "金额须为正整数（分）", "a positive whole number of fen"
        )
    return int(text)


def _period_problem(line: int, period: str, year: int) -> RowFailure | None:
    m = _PERIOD.match(period)
    if m is None:
        return _fail(
            line, "period", "invalid_period", "缴费期间格式为 YYYY-MM/YYYY-MM", "YYYY-MM/YYYY-MM"
        )
    start, end = (int(m[1]), int(m[2])), (int(m[3]), int(m[4]))
    if start[0] != year or end[0] != year or start > end:
        return _fail(
            line, "period", "period_outside_year", f"缴费期间须在 {year} 年内", f"within {year}"
        )
    return None


def check_payment_file(
    rows: Iterable[Mapping[str, str]], year: int, actor: Actor | None = None
) -> PaymentFileCheck:
    """Each row checked on its own, then one record per firm in the file: every problem
    reported by line and field."""
    accepted: list[PaymentRecord] = []
    failed: list[RowFailure] = []
    seen: dict[str, int] = {}
    for raw in rows:
        line = int(raw["line"])
        problem = (
            _text_problem(line, "firm", raw.get("firm", ""), 100)
            or _code_problem(line, raw.get("credit_code", ""))
            or _district_problem(line, raw.get("district", ""), actor)
        )
        account = raw.get("union_account") or None
        if problem is None and account is not None and not bank_account_ok(account):
            problem = _fail(
                line,
                "union_account",
                "invalid_bank_account",
                "银行账号须为 8 至 30 位数字",
                "8 to 30 digits",
            )
        dues = _fen(line, "dues_fen", raw.get("dues_fen", "")) if problem is None else 0
        if isinstance(dues, RowFailure):
            problem = dues
        problem = problem or _period_problem(line, raw.get("period", ""), year)
        code = normalise(raw.get("credit_code", ""))
        if problem is None and code in seen:
            problem = _fail(
                line,
                "credit_code",
                "duplicate_in_file",
                f"与第 {seen[code]} 行重复",
                f"same firm as line {seen[code]}",
            )
        if problem is not None:
            failed.append(problem)
            continue
        seen[code] = line
        assert isinstance(dues, int)
        accepted.append(
            PaymentRecord(
                line=line,
                firm=raw["firm"],
                credit_code=code,
                district=raw["district"],
                union_account=account,
                dues_fen=dues,
                period=raw["period"],
            )
        )
    return PaymentFileCheck(accepted=accepted, failed=failed)


class RefundApplication(BaseModel):
    """A firm union's application for a year's refund (申请), one at a time
    (`casework case open refund --file …`) or many (`refunds apply`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    year: int = Field(ge=2000, le=2100, description="The year whose dues are refunded.")
    firm: str = Field(min_length=1, max_length=100, description="The firm's registered name.")
    credit_code: str = Field(description="统一社会信用代码 (GB 32100), 18 characters.")
    district: str = Field(description="The firm's district.")
    claimed_fen: int = Field(gt=0, description="The refund asked for, in fen.")
    employees: int = Field(ge=0, le=10_000_000, description="Headcount (the size limit).")
    small_scale_taxpayer: bool = Field(
        default=False, description="小规模纳税人: eligible whatever its headcount."
    )

    @field_validator("firm")
    @classmethod
    def _plain(cls, v: str) -> str:
        check_text(v, line_breaks=False)
        return v

    @field_validator("credit_code")
    @classmethod
    def _code(cls, v: str) -> str:
        code = normalise(v)
        problem = credit_code_problem(code)
        if problem:
            raise ValueError(f"统一社会信用代码无效 (invalid credit code): {problem}")
        return code

    @field_validator("district")
    @classmethod
    def _district(cls, v: str) -> str:
        if v not in DISTRICTS or v == CITY:
            raise ValueError(f"unknown district {v!r}; one of: {', '.join(DISTRICTS)}")
        return v


APPLICATION_EXAMPLE = {
    "year": 2026,
    "firm": "南通市崇川区示例纺织有限公司",
    "credit_code": "91320602MA1X2Y3W4J",
    "district": "崇川区",
    "claimed_fen": 250_000,
    "employees": 35,
    "small_scale_taxpayer": True,
}


def check_application_file(
    rows: Iterable[Mapping[str, str]], year: int
) -> tuple[list[tuple[int, RefundApplication]], list[RowFailure]]:
    """The bulk applications file: each row an application of `year`, or its failure."""
    from pydantic import ValidationError

    ok: list[tuple[int, RefundApplication]] = []
    failed: list[RowFailure] = []
    for raw in rows:
        line = int(raw["line"])
        small = raw.get("small_scale", "").lower()
        if small not in ("", "0", "1", "yes", "no", "true", "false", "是", "否"):
            failed.append(_fail(line, "small_scale", "invalid_flag", "须为 是/否", "yes or no"))
            continue
        for field in ("claimed_fen", "employees"):
            if not raw.get(field, "").isdigit():
                failed.append(_fail(line, field, "invalid_number", "须为整数", "a whole number"))
                break
        else:
            try:
                app = RefundApplication(
                    year=year,
                    firm=raw.get("firm", ""),
                    credit_code=raw.get("credit_code", ""),
                    district=raw.get("district", ""),
                    claimed_fen=int(raw["claimed_fen"]),
                    employees=int(raw["employees"]),
                    small_scale_taxpayer=small in ("1", "yes", "true", "是"),
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                field = str(err["loc"][0]) if err["loc"] else "row"
                failed.append(_fail(line, field, "invalid", "无效", err["msg"]))
                continue
            ok.append((line, app))
    return ok, failed


class RefundsConfig(BaseModel):
    """`[refunds]` of the configuration file: who qualifies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size_limit_employees: int = Field(default=100, ge=1, le=1_000_000)
    """A firm with more employees qualifies only as a small-scale taxpayer (小规模纳税人)."""


class Exception_(StrEnum):
    """Why an application is not paid by the run but reviewed by a person."""

    NO_PAYMENT_RECORD = "no_payment_record"
    MISMATCH = "mismatch"
    NO_BANK_ACCOUNT = "no_bank_account"
    ABOVE_SIZE_LIMIT = "above_size_limit"
    SECOND_APPLICATION = "second_application"
    ABOVE_DUES = "above_dues"


EXCEPTION_WORDS: dict[str, tuple[str, str]] = {
    Exception_.NO_PAYMENT_RECORD: ("无缴费记录", "no dues payment record"),
    Exception_.MISMATCH: (
        "企业名称或区县与缴费记录不符",
        "firm or district differs from the record",
    ),
    Exception_.NO_BANK_ACCOUNT: ("工会无独立银行账户", "the union has no bank account of its own"),
    Exception_.ABOVE_SIZE_LIMIT: ("超过小微企业规模", "above the size limit"),
    Exception_.SECOND_APPLICATION: ("本年度重复申请", "a second application for the year"),
    Exception_.ABOVE_DUES: ("申请金额超过实缴经费", "amount above the dues paid"),
}


class Matched(BaseModel):
    """An application's match: paid `refund_fen` (the dues paid), or its exceptions."""

    exceptions: list[Exception_] = Field(default_factory=list)
    refund_fen: int = 0


def match(
    app: RefundApplication,
    record: PaymentRecord | None,
    *,
    earlier_application: bool,
    config: RefundsConfig,
) -> Matched:
    """The run's rule for one application: clean, or every reason it is not."""
    reasons: list[Exception_] = []
    if earlier_application:
        reasons.append(Exception_.SECOND_APPLICATION)
    if app.employees > config.size_limit_employees and not app.small_scale_taxpayer:
        reasons.append(Exception_.ABOVE_SIZE_LIMIT)
    if record is None:
        reasons.append(Exception_.NO_PAYMENT_RECORD)
        return Matched(exceptions=reasons)
    if record.firm != app.firm or record.district != app.district:
        reasons.append(Exception_.MISMATCH)
    if not record.union_account:
        reasons.append(Exception_.NO_BANK_ACCOUNT)
    if app.claimed_fen > record.dues_fen:
        reasons.append(Exception_.ABOVE_DUES)
    if reasons:
        return Matched(exceptions=reasons)
    return Matched(refund_fen=record.dues_fen)


def check_runner(actor: Actor, district: str | None) -> None:
    """Who imports a payment file or runs the match: a district officer for their own
    district, a city officer for any or all (district None: the whole city)."""
    if actor.district == CITY:
        if not actor.has_role(Role.CITY_OFFICER):
            raise Refused("role_not_held", "需要市总 city_officer 角色 (a city officer)")
        return
    if not actor.has_role(Role.DISTRICT_OFFICER):
        raise Refused("role_not_held", "需要 district_officer 角色 (a district officer)")
    if district is None or district != actor.district:
        raise Refused(
            "outside_jurisdiction",
            f"区县干部只能处理本区县 {actor.district} (your own district only)",
            "district",
        )


# -- the run: what the workflow and its activity exchange -------------------------------

REFUND_BATCH = "refund_batch"
"""The activity that matches and pays a year's applications in batches."""
REFUND_SETTINGS = "refund_settings"
"""The activity that reads the `[refunds]` rules once per run."""


class RefundRequest(BaseModel):
    year: int
    district: str | None
    """None: every district (a city officer's run)."""
    actor: Actor
    cursor: int = 0
    config: RefundsConfig | None = None


class RefundRunState(BaseModel):
    """The run's workflow state, carried through continue-as-new."""

    year: int
    district: str | None
    actor: Actor
    config: RefundsConfig | None = None
    cursor: int = 0
    calls: int = 0
    progress: RunProgress = Field(default_factory=RunProgress)
    heartbeat_timeout_s: float | None = None
    calls_per_run: int = 200


def refund_run_id(year: int, district: str | None) -> str:
    """The run's workflow id: one at a time per year and scope."""
    return f"refunds-{year}-{district or 'all'}"


def refund_stream(year: int) -> str:
    return f"{REFUNDS_PREFIX}-{year}"


def application_id(no: int, year: int) -> str:
    """How an application is shown: `RA-YYYY-NNNNNNN` (its row number)."""
    return f"RA-{year}-{no:07d}"


REFUND_INTAKE = Intake(
    name="refund",
    label=("工会经费返还申请", "union-dues refund application"),
    application_model=RefundApplication,
    application_example=APPLICATION_EXAMPLE,
    receiver="casework.store.refunds:receive_application",
)
"""`casework case open refund`: recorded as a row for the year's run (registry.INTAKES)."""
