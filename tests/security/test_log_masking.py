"""Masking of personal data in logs (casework.logging): what counts as an ID number, a
mobile number or a bank account, the structlog processor on nested values, keys and
exceptions, and records of the standard `logging` module (the Temporal SDK, uvicorn)."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.domain.hardship import HardshipApplication
from casework.domain.identity import id_check_digit, mask, mask_phone
from casework.logging import (
    PersonalDataFilter,
    configure_logging,
    mask_personal_data,
    mask_record,
    redact,
    redact_value,
)
from tests.factories import application_data

ID_NUMBER = "320602198001011235"
ID_NUMBER_X = "11010519491231002X"
OLD_ID_NUMBER = "320602800101123"  # 15 digits, before 1999
PHONE = "13912345678"
ACCOUNT = "6222020012345678901"
CLEAR = (ID_NUMBER, ID_NUMBER_X, OLD_ID_NUMBER, PHONE, ACCOUNT)


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isdigit() else c for c in text)


def assert_no_clear_value(text: str) -> None:
    leaked = [v for v in CLEAR if v in text]
    assert not leaked, f"{leaked} in {text!r}"


# -- shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (ID_NUMBER, mask(ID_NUMBER)),
        (ID_NUMBER_X, mask(ID_NUMBER_X)),
        ("11010519491231002x", "1101**********002x"),
        (OLD_ID_NUMBER, mask(OLD_ID_NUMBER)),
        (PHONE, mask_phone(PHONE)),
        (ACCOUNT, mask(ACCOUNT)),
        ("622202001234", "6222****1234"),  # 12 digits: the shortest account
        ("6" * 30, mask("6" * 30)),
        ("1" * 45, mask("1" * 45)),  # longer than any account: still masked
        ("139 1234 5678", "139 **** 5678"),
        ("139-1234-5678", "139-****-5678"),
        ("320602 19800101 1235", "3206** ******** 1235"),
        ("6222 0200 1234 5678 901", "6222 **** **** ***8 901"),
        ("6222-0200-1234-5678", "6222-****-****-5678"),
        (fullwidth(PHONE), mask_phone(fullwidth(PHONE))),
        (fullwidth(ID_NUMBER), mask(fullwidth(ID_NUMBER))),
        ("+86" + PHONE, "+8613*****5678"),  # one run of 13 digits
    ],
)
def test_each_shape_is_masked_as_identity_mask_does(text: str, masked: str) -> None:
    assert redact(text) == masked


@pytest.mark.parametrize(
    "context",
    [
        "身份证号{}，请核实",
        "id={}&x=1",
        "abc{}def",  # letters glued to the number do not protect it
        '{{"applicant": {{"id_number": "{}"}}}}',
        "账户{}号",
        "{}",
        "line one\n{}\nline three",
    ],
)
@pytest.mark.parametrize("value", CLEAR)
def test_numbers_are_masked_wherever_they_sit_in_text(context: str, value: str) -> None:
    assert_no_clear_value(redact(context.format(value)))


@pytest.mark.parametrize(
    "text",
    [
        "HR-2026-000123",
        "case HR-2026-000123 seq 42 position 1234567",
        "2026-03-01T09:30:00.123456+00:00",
        "2026-03-01 09:30:00",
        "requested_amount_fen=1000000000",  # 10**9 fen, the largest request
        "monthly_income_fen=9999999999",
        "12345678901",  # 11 digits, not a mobile number
        "12812345678",  # 12x is not a mobile prefix
        "epoch 1767225600",
        "127.0.0.1:7233",
        "0513-85000000",  # a landline
        "2026-2027 budget, 2026年3月1日",
        "a3f2c1d4-5b6e-4f70-8a9b-0c1d2e3f4a5b",
    ],
)
def test_case_ids_amounts_times_and_short_numbers_stay_readable(text: str) -> None:
    assert redact(text) == text


def test_masking_twice_changes_nothing() -> None:
    once = redact(" ".join(CLEAR))
    assert redact(once) == once


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    return first17 + id_check_digit(first17)


phones = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
accounts = st.text(alphabet="0123456789", min_size=12, max_size=30)
surroundings = st.text(
    alphabet=st.characters(blacklist_categories=("Nd", "Cs")), max_size=20
)  # anything but digits: a number is bounded by non-digits


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(id_numbers(), phones, accounts),
    before=surroundings,
    after=surroundings,
)
def test_any_id_phone_or_account_in_any_text_is_masked_and_its_middle_hidden(
    value: str, before: str, after: str
) -> None:
    out = redact(before + value + after)
    assert value not in out
    keep = 3 if len(value) == 11 else 4
    assert out == before + value[:keep] + "*" * (len(value) - keep - 4) + value[-4:] + after


# -- the structlog processor ----------------------------------------------------------


def test_processor_masks_nested_values_keys_and_numbers() -> None:
    event = {
        "event": f"applicant {PHONE} opened",
        "application": application_data(
            applicant={"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT}
        ),
        "rows": [(ID_NUMBER, 1), {ACCOUNT}, frozenset({PHONE})],
        ACCOUNT: "the key itself",
        "as_int": int(ID_NUMBER[:17] + "1"),
        "as_float": float(PHONE),
        "amount_fen": 300000,
        "ok": True,
        "nothing": None,
    }
    out = mask_personal_data(None, "info", event)
    assert_no_clear_value(json.dumps(out, ensure_ascii=False))
    assert out["application"]["applicant"]["id_number"] == mask(ID_NUMBER)
    assert out["application"]["applicant"]["phone"] == mask_phone(PHONE)
    assert out["application"]["applicant"]["name"] == "张三"
    assert out["amount_fen"] == 300000 and out["ok"] is True and out["nothing"] is None
    assert out[mask(ACCOUNT)] == "the key itself"


class Opaque:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __repr__(self) -> str:
        return f"Opaque(secret={self.secret!r})"


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError(ID_NUMBER)


def test_processor_masks_objects_as_the_renderer_would_print_them() -> None:
    application = HardshipApplication.model_validate(
        application_data(applicant={"id_number": ID_NUMBER, "phone": PHONE})
    )
    out = mask_personal_data(
        None,
        "info",
        {
            "event": "x",
            "model": application,
            "error": ValueError(f"bad account {ACCOUNT}"),
            "raw": ACCOUNT.encode(),
            "opaque": Opaque(PHONE),
            "broken": BrokenRepr(),
            "when": datetime(2026, 3, 1, tzinfo=UTC),
        },
    )
    rendered = structlog.processors.JSONRenderer()(None, "info", out)
    assert isinstance(rendered, str)
    assert_no_clear_value(rendered)
    assert mask(ID_NUMBER) in out["model"]
    assert out["broken"] == "<BrokenRepr (unrepresentable)>"


def test_processor_survives_deep_and_cyclic_structures() -> None:
    deep: list[Any] = [ACCOUNT]
    for _ in range(200):
        deep = [deep]
    cyclic: dict[str, Any] = {"phone": PHONE}
    cyclic["self"] = cyclic
    out = mask_personal_data(None, "info", {"event": "x", "deep": deep, "cyclic": cyclic})
    assert_no_clear_value(repr(out))


def test_huge_integers_do_not_break_logging() -> None:
    assert redact_value(10**5000) == "<int with too many digits>"


# -- configured logging, as the worker and the command line run it -------------------


def log_output(json_lines: bool, emit: Any) -> str:
    """Configure logging onto a buffer standing in for stderr, run `emit`, return it."""
    buffer = io.StringIO()
    stderr, sys.stderr = sys.stderr, buffer
    try:
        configure_logging("DEBUG", json_lines)
        emit(structlog.get_logger("test"))
    finally:
        sys.stderr = stderr
    return buffer.getvalue()


@pytest.mark.parametrize("json_lines", [True, False], ids=["json", "console"])
def test_structlog_lines_and_their_tracebacks_are_masked(json_lines: bool) -> None:
    def emit(log: Any) -> None:
        log.info(f"opening for {ID_NUMBER}", applicant={"phone": PHONE}, items=[ACCOUNT])
        try:
            raise ValueError(f"bank refused {ACCOUNT} of {ID_NUMBER_X}")
        except ValueError:
            log.exception("transfer failed", account=ACCOUNT)
        log.debug("stack", stack_info=True, old=OLD_ID_NUMBER)

    out = log_output(json_lines, emit)
    assert "transfer failed" in out and "Traceback" in out and "ValueError" in out
    assert mask(ACCOUNT) in out and mask(ID_NUMBER) in out
    assert_no_clear_value(out)


def test_the_processor_runs_after_exception_formatting_and_before_the_renderer() -> None:
    configure_logging("INFO", True)
    processors = structlog.get_config()["processors"]
    position = processors.index(mask_personal_data)
    assert processors.index(structlog.processors.format_exc_info) < position
    assert position == len(processors) - 2  # the renderer is last


@pytest.fixture
def stdlib_capture() -> Any:
    """A handler like basicConfig's (format %(message)s) on the root logger."""
    root = logging.getLogger()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    level = root.level
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def test_stdlib_records_are_masked_message_arguments_and_traceback(
    stdlib_capture: io.StringIO,
) -> None:
    configure_logging("INFO", True)
    log = logging.getLogger("temporalio.activity")
    log.warning("Completing activity with completion: %s", {"account": ACCOUNT})
    log.warning("phone %s id %s", PHONE, ID_NUMBER)
    log.warning("glued %s%s", PHONE[:5], PHONE[5:])  # only whole once formatted
    try:
        raise RuntimeError(f"transfer to {ACCOUNT} failed")
    except RuntimeError:
        log.warning("Completing activity as failed", exc_info=True)
    log.error("stack", stack_info=True, extra={"payload": {"id_number": ID_NUMBER}})
    out = stdlib_capture.getvalue()
    assert "Completing activity as failed" in out and "RuntimeError" in out
    assert mask(ACCOUNT) in out and mask_phone(PHONE) in out
    assert_no_clear_value(out)


def test_records_of_loggers_that_do_not_propagate_are_masked_too() -> None:
    """uvicorn's loggers have handlers of their own and do not reach the root logger:
    records are masked when they are made, so every handler sees them masked."""
    from uvicorn.logging import AccessFormatter

    configure_logging("INFO", True)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(AccessFormatter('%(client_addr)s "%(request_line)s" %(status_code)s'))
    access = logging.getLogger("test.uvicorn.access")
    access.addHandler(handler)
    access.propagate = False
    try:
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            f"/api/cases?phone={PHONE}",
            "1.1",
            200,
        )
    finally:
        access.removeHandler(handler)
    out = buffer.getvalue()
    assert mask_phone(PHONE) in out and "200" in out  # formatted, not a logging error
    assert_no_clear_value(out)


def test_the_root_handler_filter_masks_extra_attributes() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain", (), None)
    record.payload = {"phone": PHONE, "nested": [ACCOUNT]}
    record.message = f"already formatted {ID_NUMBER}"
    assert PersonalDataFilter().filter(record) is True
    assert_no_clear_value(repr(record.__dict__))


def test_stdlib_records_come_out_in_the_same_json_lines(stdlib_capture: io.StringIO) -> None:
    """One log format: the calendar's warning (a standard logger) is a JSON line like
    structlog's own, its traceback under `exception`, masked."""
    configure_logging("INFO", True)
    logging.getLogger("casework.calendar").warning("no data for %s", 2027)
    try:
        raise RuntimeError(f"transfer to {ACCOUNT} failed")
    except RuntimeError:
        logging.getLogger("temporalio.activity").warning("failed", exc_info=True)
    first, second = (json.loads(line) for line in stdlib_capture.getvalue().splitlines())
    assert first["event"] == "no data for 2027" and first["level"] == "warning"
    assert first["logger"] == "casework.calendar" and "timestamp" in first
    assert "RuntimeError" in second["exception"] and mask(ACCOUNT) in second["exception"]
    assert_no_clear_value(json.dumps(second, ensure_ascii=False))


def test_configure_logging_filters_every_root_handler_once(
    stdlib_capture: io.StringIO,
) -> None:
    configure_logging("INFO", True)
    configure_logging("INFO", True)
    for handler in logging.getLogger().handlers:
        assert sum(isinstance(f, PersonalDataFilter) for f in handler.filters) == 1
    factory = logging.getLogRecordFactory()
    configure_logging("INFO", True)
    assert logging.getLogRecordFactory() is factory  # not wrapped twice


def test_a_record_that_cannot_be_formatted_shows_no_clear_value() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d %d", (ACCOUNT,), None)
    mask_record(record)
    assert_no_clear_value(repr(record.msg) + repr(record.args))


def test_uncaught_exceptions_are_printed_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", True)
    try:
        raise KeyError(f"no case for {ID_NUMBER}")
    except KeyError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)

    def crash() -> None:
        raise RuntimeError(f"account {ACCOUNT}")

    thread = threading.Thread(target=crash, name="crasher")
    thread.start()
    thread.join()
    err = capsys.readouterr().err
    assert "KeyError" in err and "RuntimeError" in err and "crasher" in err
    assert_no_clear_value(err)


def test_the_command_line_prints_an_unexpected_error_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error nobody expected ends the command with its traceback on stderr (exit 1),
    e.g. a database error that quotes the statement's parameters: masked."""
    import casework.cli

    def crash() -> None:
        raise RuntimeError(f"INSERT failed, parameters: ('{ID_NUMBER}', '{PHONE}', '{ACCOUNT}')")

    monkeypatch.setattr(casework.cli, "app", crash)
    monkeypatch.setattr(casework.cli, "_temporal_used", False)  # else it leaves by os._exit
    with pytest.raises(SystemExit) as ended:
        casework.cli.main()
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "INSERT failed" in err
    assert_no_clear_value(err)


def test_trace_and_span_ids_pass_whole_other_values_under_their_keys_do_not() -> None:
    """A trace id is random hex: one with twelve decimal digits in a row is not a number
    to hide. Only the exact shapes pass; a phone number under the same key is masked."""
    trace, span = "e0ded5f5437c96668d43972852780333", "3972852780333abc"
    line = mask_personal_data(None, "info", {"event": "x", "trace_id": trace, "span_id": span})
    assert (line["trace_id"], line["span_id"]) == (trace, span)
    forged = mask_personal_data(None, "info", {"event": "x", "trace_id": "13812345678"})
    assert forged["trace_id"] != "13812345678"
    assert mask_personal_data(None, "info", {"note": trace})["note"] != trace
