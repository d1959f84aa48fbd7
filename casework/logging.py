"""structlog set-up: JSON lines with case_id / workflow_id / actor bound by callers.

No log line carries an ID number, a mobile number or a bank account in clear, whatever
field it sits in: `configure_logging` masks everything shaped like one, in structlog
events (values, nested dicts and lists, keys, the event message, exception text) and in
records of the standard `logging` module (the Temporal SDK, uvicorn, SQLAlchemy, ...),
as well as in the traceback of an exception that ends the process.

What counts as personal data is decided by shape, not by field name (a number can hide
in a message, a key, an exception or free text):

- a run of 12 or more digits: bank accounts (12-30 digits), 15-digit and 18-digit
  resident ID numbers, and anything longer that may embed one;
- 17 digits followed by X (an ID number with the check character X);
- an 11-digit run `1[3-9]` + 9 digits: a mainland mobile number;
- the same written in groups: `138 0000 0000` / `138-0000-0000`, `320602 19800101 1235`,
  and accounts in groups of four (`6222 0200 0000 0001 234`, at least four groups).

"Digit" is any Unicode decimal digit (full-width digits included), and a run is
bounded by non-digits, so letters glued to a number do not protect it. Masking keeps
what `casework.domain.identity.mask` keeps: the first 4 and last 4 characters (first 3
and last 4 of a mobile number); separators stay where they are.

Deliberately not masked: runs of 11 digits or fewer that are not mobile numbers, so case
ids (`HR-2026-000123`), amounts in fen (at most 10 digits: 10**9 fen is the largest
request), dates and times (ISO strings have separators; epoch seconds have 10 digits),
ports, counts and sequence numbers stay readable. The price of deciding by shape: epoch
milliseconds or nanoseconds, and all-digit stretches of 12+ characters inside hashes or
UUIDs, are masked too. casework logs ISO timestamps.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import structlog

from casework.domain.identity import mask

# One alternation, scanned left to right, each alternative starting at the beginning of
# a digit run. `\d` is any Unicode decimal digit; `[1１]`, `[3-9３-９]` and `[Xx]`
# accept the full-width forms too.
_PERSONAL = re.compile(
    r"(?<!\d)(?:"
    r"(?P<phone>[1１][3-9３-９]\d{9}(?!\d))"
    r"|(?P<phone_grouped>[1１][3-9３-９]\d[ -]\d{4}[ -]\d{4}(?!\d))"
    r"|(?P<id_grouped>\d{6}[ -]\d{8}[ -]\d{3}[\dXxＸｘ](?!\d))"
    r"|(?P<account_grouped>\d{4}(?:[ -]\d{4}){3,}(?:[ -]\d{1,4})?(?!\d))"
    r"|(?P<run>\d{17}[XxＸｘ](?!\d)|\d{12,})"
    r")"
)
_SEPARATORS = " -"
_SHORTEST = 11  # no shape is shorter: a text below this length is returned as it is


def _mask_grouped(text: str, keep_start: int, keep_end: int) -> str:
    """`mask` over the digits of a grouped number, leaving the separators in place."""
    positions = [i for i, c in enumerate(text) if c not in _SEPARATORS]
    if len(positions) <= keep_start + keep_end:
        hidden = set(positions)
    else:
        hidden = set(positions[keep_start : len(positions) - keep_end])
    return "".join("*" if i in hidden else c for i, c in enumerate(text))


def _masked(match: re.Match[str]) -> str:
    text = match.group()
    kind = match.lastgroup
    if kind == "phone":
        return mask(text, 3, 4)
    if kind == "run":
        return mask(text)
    return _mask_grouped(text, 3 if kind == "phone_grouped" else 4, 4)


def redact(text: str) -> str:
    """`text` with every ID number, mobile number and bank account in it masked."""
    if len(text) < _SHORTEST:
        return text
    return _PERSONAL.sub(_masked, text)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break logging
        return f"<{type(value).__name__} (unrepresentable)>"


_MAX_DEPTH = 20
"""Deeper than this, a structure is logged as its (masked) repr."""


def redact_value(value: Any, _depth: int = 0) -> Any:
    """A log value with personal data masked: strings masked, numbers masked where their
    digits have a personal shape (they then become strings), dicts (keys too), lists,
    tuples and sets walked, any other object replaced by its masked repr (what the
    renderers would print for it)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float):
        try:
            text = repr(value)
        except ValueError:  # an int beyond the interpreter's digit limit
            return "<int with too many digits>"
        masked = redact(text)
        return value if masked == text else masked
    if _depth >= _MAX_DEPTH:
        return redact(_safe_repr(value))
    if isinstance(value, Mapping):
        return {_redact_key(k): redact_value(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, _depth + 1) for v in value]
    structlog_form = getattr(value, "__structlog__", None)
    if callable(structlog_form):
        try:
            return redact_value(structlog_form(), _depth + 1)
        except Exception:  # noqa: BLE001
            pass
    return redact(_safe_repr(value))


def _redact_key(key: Any) -> Any:
    if key is None or isinstance(key, str | int | float | bool):
        return redact_value(key)
    return redact(_safe_repr(key))


def mask_personal_data(
    logger: Any, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """structlog processor: every key and value of the event, masked (`redact_value`).
    Goes after `format_exc_info` (so exception text is masked too) and before the
    renderer."""
    return {
        _redact_key(k): v if _is_trace_id(k, v) else redact_value(v) for k, v in event_dict.items()
    }


_TRACE_ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{16}")
_TRACE_KEYS = frozenset({"trace_id", "span_id"})


def _is_trace_id(key: str, value: Any) -> bool:
    """The W3C trace and span ids casework.tracing adds to each line (32 and 16 lower-case
    hex digits): random, never personal, and useless if masked. One with a run of twelve
    decimal digits in it was masked as a number (a CI run saw `…4397******0333`). Only
    these keys with exactly these shapes pass; anything else under them is masked."""
    return key in _TRACE_KEYS and isinstance(value, str) and _TRACE_ID.fullmatch(value) is not None


# -- the standard logging module -----------------------------------------------------

_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _mask_arg(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return redact_value(value)
    text = str(value) if not isinstance(value, bytes | bytearray) else _safe_repr(value)
    shown = _safe_repr(value)
    if redact(text) != text or redact(shown) != shown:
        return redact(text)
    return value


def _mask_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_mask_arg(a) for a in args)
    if isinstance(args, Mapping):
        return {k: _mask_arg(v) for k, v in args.items()}
    return _mask_arg(args)


def _mask_message(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - logging reports it, printing msg and args
        record.msg = redact_value(record.msg)
        record.args = _mask_args(record.args)
        return
    masked = redact(message)
    if masked == message:
        return
    # Keep the message and its arguments apart where that still hides everything:
    # some formatters read the arguments (uvicorn's access log unpacks them).
    if isinstance(record.msg, str) and record.args:
        msg, args = redact(record.msg), _mask_args(record.args)
        try:
            again = msg % args
        except Exception:  # noqa: BLE001 - e.g. %d given a masked number
            again = None
        if again is not None and redact(again) == again:
            record.msg, record.args = msg, args
            return
    record.msg, record.args = masked, ()


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a standard `logging` record in place: its message (with its arguments), the
    exception (formatted now, masked, kept as `exc_text`), the stack and any `extra`
    attributes. Masking twice changes nothing."""
    try:
        _mask_message(record)
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            # A handler's formatter would format the live exception again, in clear.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name == "message" and isinstance(value, str):
                record.message = redact(value)
            elif name not in _RECORD_ATTRIBUTES:
                record.__dict__[name] = (
                    redact_value(value)
                    if value is None or isinstance(value, str | int | float | Mapping | list)
                    else _mask_arg(value)
                )
    except Exception as exc:  # noqa: BLE001 - never leak because masking failed
        record.msg = f"[log line withheld: masking failed ({type(exc).__name__})]"
        record.args = ()
        record.exc_info = record.exc_text = record.stack_info = None
    return record


class PersonalDataFilter(logging.Filter):
    """A handler filter that masks every record it passes (`mask_record`), including
    the `extra` attributes set after the record was made."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


_INSTALLED = "_casework_masks_personal_data"


def _install_record_factory() -> None:
    """Records are masked when they are made, so every handler sees them masked: the
    root handler and those of loggers that do not propagate (uvicorn's)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _INSTALLED, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    setattr(factory, _INSTALLED, True)
    logging.setLogRecordFactory(factory)


def _masked_excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(exc_type, exc, tb))))


def _masked_thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    sys.stderr.write(redact(f"Exception in thread {name}:\n{text}"))


def install_stdlib_masking() -> None:
    """Mask standard `logging` records (record factory, and a filter on each root
    handler) and the tracebacks of uncaught exceptions. Idempotent."""
    _install_record_factory()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())
    sys.excepthook = _masked_excepthook
    threading.excepthook = _masked_thread_excepthook


class _Stderr:
    """`sys.stderr` as it is at each write: a command run in-process (tests, a test
    runner's capture) swaps it, and a stream bound once may be closed later."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def add_trace_context(
    logger: Any, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """structlog processor: the current trace and span ids, and the case id of the
    request or activity (casework.tracing.current_ids), unless the line names its own.
    Not inside a workflow's sandbox (a warning logged from a domain module there): the
    import would run again inside it, where OpenTelemetry may not read the environment,
    and the line would be lost; a workflow's lines carry no span of their own anyway."""
    from temporalio import workflow

    if workflow.unsafe.in_sandbox():
        return event_dict
    from casework.tracing import current_ids

    for key, value in current_ids().items():
        event_dict.setdefault(key, value)
    return event_dict


def _record_exception(
    logger: Any, method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A standard record's traceback, already formatted and masked (`exc_text`, see
    PersonalDataFilter), as the event's `exception` key, where structlog puts its own."""
    record = event_dict.get("_record")
    if record is not None and record.exc_text and "exception" not in event_dict:
        event_dict["exception"] = record.exc_text
    return event_dict


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    level = level.upper()
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        # Plain tracebacks: the default (rich) one prints local variables.
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    logging.getLogger().setLevel(level)
    # One format: the standard library's records (the calendar's warning, the Temporal
    # SDK's, uvicorn's) rendered as structlog renders its own, JSON lines or console.
    stdlib_format = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            add_trace_context,
            _record_exception,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_personal_data,
            renderer,
        ],
    )
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:  # ours, not a test runner's capture
            handler.setFormatter(stdlib_format)
    install_stdlib_masking()
    # Migrations and the HTTP server report at INFO on every start; keep start-up quiet.
    for noisy in ("alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_personal_data,  # after everything that adds text, before the renderer
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
