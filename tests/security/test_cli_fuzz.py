"""Fuzzing the command line's JSON inputs: `case open hardship --file F` and
`act ... --data-file F`.

Whatever the file holds (malformed JSON, wrong types, huge strings, control characters,
NUL bytes, SQL-looking text, mixed scripts, deep nesting, bytes that are not UTF-8, a
byte-order mark), the command either succeeds cleanly or refuses it clearly: exit 2, a
message on stderr naming the field or the file's problem, nothing on stdout, no Python
traceback, no escape sequence from the file echoed to the terminal. A refused input
leaves no trace: no case number allocated, no row in any table, no call to Temporal.

Breadth comes from hypothesis running the command in this process (CliRunner); the
exact contract of the real executable (exit code, stderr) from a few runs of
`casework` in processes of its own. Both against the real stack of conftest.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import casework.cli
from casework.domain.hardship import HardshipApplication
from tests.factories import application_data, fresh_id_number, id_number
from tests.security.conftest import OPENER, REVIEWER, Stack

pytestmark = pytest.mark.integration

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    "\x00",
    "张\x00三",
    "\x1b[2J\x1b[31m",
    "[/red]",
    "[bold]粗体[/bold]",
    "'; DROP TABLE case_events; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM applicant_pii;--",
    "张三 Иван محمد 𠀀 🙂",  # mixed scripts, a supplementary-plane character
    "\u202e三张",  # right-to-left override
    "\ufeff",
    "\ud800",  # a lone surrogate (valid in JSON text, not in UTF-8)
    "%s%n%x{0}",
    "320602198001011235",
    "崇川区 ",
    " deep ",
    "x" * 5000,
]

texts = st.one_of(st.text(max_size=30), st.sampled_from(NASTY))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)

VALID = application_data(applicant={"id_number": id_number(7)})


def application() -> dict[str, Any]:
    """A valid application (a copy: strategies change it; no `random` in strategies), of
    a person not seen before: one person may have one application open at a time, and
    every valid document must open a case."""
    doc = copy.deepcopy(VALID)
    doc["applicant"]["id_number"] = fresh_id_number()
    return doc


FIELDS = [
    (),
    ("applicant",),
    ("household",),
    ("category",),
    ("relief_type",),
    ("requested_amount_fen",),
    ("reason",),
    ("applicant", "name"),
    ("applicant", "id_number"),
    ("applicant", "phone"),
    ("applicant", "employer"),
    ("applicant", "district"),
    ("applicant", "bank_account"),
    ("household", "size"),
    ("household", "yearly_income_fen"),
]


ODD_BUT_VALID = [
    "'; DROP TABLE case_events; --",
    "Robert'); DELETE FROM applicant_pii;--",
    "张三 Иван محمد 𠀀 🙂",
    "%s%n%x{0}",
    "[/red][bold]",
    "<script>alert(1)</script>",
    "  前后有空格  ",
]


@st.composite
def application_documents(draw: st.DrawFn) -> Any:
    """An application with one field replaced, removed or one key added; one whose
    free text is odd but allowed (it must open a case); or any JSON at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(json_values)
    doc: Any = application()
    if kind <= 2:
        for section, field in [(None, "reason"), ("applicant", "name"), ("applicant", "employer")]:
            if draw(st.booleans()):
                (doc[section] if section else doc)[field] = draw(st.sampled_from(ODD_BUT_VALID))
        if draw(st.booleans()):
            doc["reason"] = draw(st.text(min_size=1, max_size=4000).filter(str.strip))
        return doc
    path = draw(st.sampled_from(FIELDS))
    how = draw(st.sampled_from(["replace", "delete", "add"]))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if not path:
        parent[draw(texts)] = draw(json_values)
    elif how == "replace":
        parent[path[-1]] = draw(json_values)
    elif how == "delete":
        parent.pop(path[-1], None)
    elif isinstance(parent.get(path[-1]), dict):
        parent[path[-1]][draw(texts)] = draw(json_values)
    else:
        parent[path[-1]] = draw(st.sampled_from(NASTY))
    return doc


def encoded(doc: Any, how: str) -> bytes:
    text = json.dumps(doc, ensure_ascii=how == "ascii")
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", errors="surrogatepass")
    if how == "gb18030":  # saved by an editor in the legacy Chinese encoding
        return text.encode("gb18030", errors="replace")
    if how == "utf-16":
        return text.encode("utf-16", errors="surrogatepass")
    return text.encode("utf-8", errors="surrogatepass")


@st.composite
def raw_files(draw: st.DrawFn) -> bytes:
    """Bytes that are mostly not a well-formed document at all."""
    kind = draw(st.sampled_from(["bytes", "cut", "nul", "deep", "constant", "duplicate"]))
    text = json.dumps(application(), ensure_ascii=False)
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "cut":
        return text.encode()[: draw(st.integers(0, len(text.encode()) - 1))]
    if kind == "nul":
        at = draw(st.integers(0, len(text)))
        return (text[:at] + "\x00" + text[at:]).encode()
    if kind == "deep":
        depth = draw(st.sampled_from([19, 21, 50, 999, 5000, 200_000]))
        return ('{"reason": ' + "[" * depth + "]" * depth + "}").encode()
    if kind == "constant":
        value = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1" * 5000, "1e999"]))
        return text.replace("300000", value, 1).encode()
    return text.replace('"reason"', '"requested_amount_fen": 1, "reason"', 1).encode()


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def accepted(content: bytes) -> bool:
    """Whether the file holds a valid application, judged without the command: UTF-8
    (a BOM allowed), strict JSON (RFC 8259: no NaN; unique keys), a valid application."""
    try:
        doc = json.loads(
            content.decode("utf-8-sig"), object_pairs_hook=_unique, parse_constant=_no_constant
        )
        return bool(HardshipApplication.model_validate(doc))
    except (ValueError, ValidationError, RecursionError):
        return False


@pytest.fixture
def temporal_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time the command is about to talk to Temporal."""
    calls: list[str] = []
    real = casework.cli._service

    async def counted() -> Any:
        calls.append("service")
        return await real()

    monkeypatch.setattr(casework.cli, "_service", counted)
    return calls


def assert_clear_refusal(result: Result, *expected: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    err = result.stderr
    assert err.startswith(("错误 (error):", "操作被拒绝 (refused")), err
    assert "Traceback" not in err
    assert len(err) < 2000, "the message echoes too much of the file"
    assert not any(c in err for c in "\x00\x1b\x9b"), "control characters echoed"
    assert any(e in err for e in expected), (expected, err)


def open_case(cli: Callable[..., Result], path: Path, content: bytes) -> Result:
    path.write_bytes(content)
    return cli("case", "open", "hardship", "--file", str(path), "--as", OPENER, "--json")


def check_open(
    stack: Stack,
    cli: Callable[..., Result],
    calls: list[str],
    path: Path,
    content: bytes,
) -> None:
    before = stack.row_counts()
    calls.clear()
    result = open_case(cli, path, content)
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        assert accepted(content), content[:200]
        view = json.loads(result.stdout)
        assert view["status"] == "open" and view["stage"] == "grassroots_review"
        assert stack.stage(view["case_id"]) == "grassroots_review"
        return
    assert not accepted(content) or len(content) > casework.cli.MAX_JSON_BYTES, content[:200]
    assert_clear_refusal(result, "field ", str(path))
    assert calls == [], "a refused application reached Temporal"
    assert stack.row_counts() == before, "a refused application left rows behind"


@FUZZ
@given(doc=application_documents(), how=st.sampled_from(["utf-8", "ascii", "bom", "gb18030"]))
def test_case_open_refuses_any_bad_application_clearly_and_without_a_trace(
    stack: Stack,
    cli: Callable[..., Result],
    temporal_calls: list[str],
    tmp_path: Path,
    doc: Any,
    how: str,
) -> None:
    check_open(stack, cli, temporal_calls, tmp_path / "application.json", encoded(doc, how))


@FUZZ
@given(content=raw_files())
def test_case_open_refuses_malformed_files_clearly_and_without_a_trace(
    stack: Stack,
    cli: Callable[..., Result],
    temporal_calls: list[str],
    tmp_path: Path,
    content: bytes,
) -> None:
    check_open(stack, cli, temporal_calls, tmp_path / "application.json", content)


@pytest.fixture
def cases(stack: Stack, cli: Callable[..., Result], tmp_path: Path) -> dict[str, str]:
    """A case waiting for its grassroots review, and one at the home visit."""
    ids = {}
    for stage in ("grassroots_review", "home_visit"):
        result = open_case(cli, tmp_path / "app.json", json.dumps(application()).encode("utf-8"))
        assert result.exit_code == 0, result.stderr
        ids[stage] = json.loads(result.stdout)["case_id"]
    done = cli("act", ids["home_visit"], "approve", "--as", REVIEWER, "-m", "材料齐全")
    assert done.exit_code == 0, done.stderr
    stack.wait_for_event(ids["home_visit"], "civil_affairs.checked")  # recorded on its own
    return ids


@st.composite
def data_files(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(raw_files())
    doc = draw(json_values | st.dictionaries(texts, json_values, min_size=1, max_size=4))
    return encoded(doc, draw(st.sampled_from(["utf-8", "bom", "utf-16"])))


@FUZZ
@given(content=data_files(), stage=st.sampled_from(["grassroots_review", "home_visit"]))
def test_act_refuses_any_bad_data_file_clearly_and_leaves_the_case_as_it_was(
    stack: Stack,
    cli: Callable[..., Result],
    temporal_calls: list[str],
    cases: dict[str, str],
    tmp_path: Path,
    content: bytes,
    stage: str,
) -> None:
    """The reviewer approves with a data file: no data is taken at the grassroots
    review, and only real home-visit findings (never generated here) at the visit."""
    try:
        parsed = json.loads(content.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        parsed = None
    assume(parsed != {})  # an empty object is no data: the approval would go through
    case_id = cases[stage]
    path = tmp_path / "data.json"
    path.write_bytes(content)
    before = stack.row_counts()
    temporal_calls.clear()
    result = cli("act", case_id, "approve", "--as", REVIEWER, "--data-file", str(path))
    event("reached the case" if temporal_calls else "refused by the command")
    assert_clear_refusal(result, "field", str(path))
    if not isinstance(parsed, dict):
        assert temporal_calls == [], "a file that is no JSON object reached Temporal"
    assert stack.stage(case_id) == stage
    assert stack.row_counts() == before, "a refused action left rows behind"


# -- the real executable ---------------------------------------------------------------


def _deep() -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


def _huge() -> bytes:
    return json.dumps(application_data(reason="困" * 3_500_000), ensure_ascii=False).encode()


def _markup_key() -> bytes:
    return json.dumps({**application_data(), "[/red]\x1b[2J": 1}).encode()


REFUSED_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "not-json": (lambda: b"{not json", "not valid JSON"),
    "deep-nesting": (_deep, "嵌套过深 (nested more than 20 levels deep)"),
    "10-mb": (_huge, "文件过大 (too large"),
    "markup-and-escape-in-a-key": (_markup_key, "Extra inputs are not permitted"),
}


async def _workflow_ids(stack: Stack) -> set[str]:
    from temporalio.client import Client

    client = await Client.connect(stack.env["CASEWORK_TEMPORAL_ADDRESS"])
    return {w.id async for w in client.list_workflows()}


@pytest.fixture(scope="module")
def refused_runs(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Every refused file through `casework case open` in its own process, at once; the
    store and Temporal's workflows before and after."""
    folder = tmp_path_factory.mktemp("refused")
    workflows, rows = asyncio.run(_workflow_ids(stack)), stack.row_counts()

    def run(name: str) -> Any:
        path = folder / f"{name}.json"
        path.write_bytes(REFUSED_FILES[name][0]())
        return stack.run("case", "open", "hardship", "--file", str(path), "--as", OPENER)

    with ThreadPoolExecutor(4) as pool:
        results = dict(zip(REFUSED_FILES, pool.map(run, REFUSED_FILES), strict=True))
    yield {
        "results": results,
        "rows": (rows, stack.row_counts()),
        "workflows": (workflows, asyncio.run(_workflow_ids(stack))),
    }


@pytest.mark.parametrize("name", REFUSED_FILES)
def test_the_command_refuses_a_bad_file_with_exit_2_and_one_clear_message(
    refused_runs: dict[str, Any], name: str
) -> None:
    proc = refused_runs["results"][name]
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("错误 (error):"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert REFUSED_FILES[name][1] in proc.stderr, proc.stderr
    assert len(proc.stderr) < 1000 and "\x1b" not in proc.stderr


def test_refused_files_left_nothing_in_the_store_or_in_temporal(
    refused_runs: dict[str, Any],
) -> None:
    before, after = refused_runs["rows"]
    assert after == before
    before, after = refused_runs["workflows"]
    assert after == before


def test_a_valid_file_with_a_byte_order_mark_opens_a_case(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "application.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(application_data(), ensure_ascii=False).encode())
    proc = stack.run("case", "open", "hardship", "--file", str(path), "--as", OPENER, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stage"] == "grassroots_review"


def test_act_with_data_that_is_no_object_exits_2_naming_the_field(
    stack: Stack, tmp_path: Path
) -> None:
    path = tmp_path / "data.json"
    path.write_text('["visitors"]', encoding="utf-8")
    proc = stack.run("act", "HR-2026-000001", "approve", "--as", REVIEWER, "--data-file", str(path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "field data" in proc.stderr and "Traceback" not in proc.stderr


def test_act_refuses_data_too_large_for_temporal_before_sending_it(
    stack: Stack,
    cli: Callable[..., Result],
    temporal_calls: list[str],
    cases: dict[str, str],
    tmp_path: Path,
) -> None:
    """A few megabytes of data would exceed Temporal's payload limit: the case's
    workflow task failed and the command ended in a traceback."""
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"assets": "房" * 1_000_000}, ensure_ascii=False))
    before = stack.row_counts()
    temporal_calls.clear()
    result = cli("act", cases["home_visit"], "approve", "--as", REVIEWER, "--data-file", str(path))
    assert_clear_refusal(result, "文件过大 (too large")
    assert temporal_calls == [] and stack.row_counts() == before


def test_a_comment_longer_than_an_action_takes_is_refused_naming_it(
    cli: Callable[..., Result], cases: dict[str, str]
) -> None:
    result = cli("act", cases["grassroots_review"], "reject", "--as", REVIEWER, "-m", "驳" * 2001)
    assert_clear_refusal(result, "field comment")
