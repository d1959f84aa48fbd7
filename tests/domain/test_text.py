"""Free text: which characters names, employers, reasons and comments refuse, and the
JSON-schema patterns the API states for them say exactly the same."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest

from casework.domain.hardship import (
    NAME_PATTERN,
    REASON_PATTERN,
    Applicant,
    HardshipApplication,
)
from casework.domain.text import check_text, forbidden_character
from tests.domain.test_application import assert_refused_at, example

INVISIBLE = {
    "\u200b": "zero-width space",
    "\u200c": "zero-width non-joiner",
    "\u200d": "zero-width joiner",
    "\u2060": "word joiner",
    "\ufeff": "byte-order mark",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
}


@pytest.mark.parametrize("bad", INVISIBLE, ids=list(INVISIBLE.values()))
@pytest.mark.parametrize("field", ["name", "employer"])
def test_invisible_characters_in_names_are_refused(bad: str, field: str) -> None:
    """A name with a zero-width space looks like the name without and is another."""
    assert_refused_at(example(applicant={field: f"张{bad}三"}), ("applicant", field))


@pytest.mark.parametrize("bad", INVISIBLE, ids=list(INVISIBLE.values()))
def test_invisible_characters_are_refused_in_reasons_and_comments_too(bad: str) -> None:
    assert_refused_at(example(reason=f"家庭困难{bad}请核实"), ("reason",))
    found = forbidden_character(f"材料齐全{bad}", line_breaks=True)
    assert found is not None and found.startswith(f"U+{ord(bad):04X} ")
    assert found.endswith("at position 5")


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "\udc80"], ids=["high", "low", "escaped"])
@pytest.mark.parametrize("field", ["name", "employer"])
def test_a_lone_surrogate_in_a_name_is_refused(bad: str, field: str) -> None:
    """A lone surrogate comes from invalid UTF-8 (Python's surrogateescape gives
    U+DC80–U+DCFF for undecodable bytes) or a broken JSON escape such as "\\ud800"; it
    cannot be stored as UTF-8 anywhere."""
    assert_refused_at(example(applicant={field: f"张{bad}三"}), ("applicant", field))
    with pytest.raises(ValueError, match="U\\+D[89A-F][0-9A-F]{2} surrogate"):
        check_text(f"comment{bad}", line_breaks=True)


def test_astral_characters_stay_welcome() -> None:
    """Rare characters of Chinese names lie outside the BMP (CJK extension B)."""
    app = HardshipApplication.model_validate(example(applicant={"name": "王\U00020000"}))
    assert app.applicant.name == "王\U00020000"


APPLICANT = {
    "name": "x",
    "id_number": "320602198001011235",
    "phone": "13800000000",
    "employer": "e",
    "district": "崇川区",
}


def accepted_name(value: str) -> bool:
    try:
        Applicant.model_validate({**APPLICANT, "name": value})
    except ValueError:
        return False
    return True


def test_the_name_pattern_accepts_exactly_the_names_the_server_accepts() -> None:
    """Every character of the basic plane, inside a name and alone (so that blank names
    count too): the schema's pattern and the model agree, so a client that follows the
    schema is never refused, and one that is refused was told why by the schema.
    Surrogates aside: no pattern may name them (Rust and JavaScript regex engines refuse
    it), and a body holding one is refused before any field is looked at."""
    pattern = re.compile(NAME_PATTERN)
    disagree = []
    for code in [*range(0xD800), *range(0xE000, 0x10000)]:
        c = chr(code)
        for value in (f"张{c}三", c, f" {c} "):
            if accepted_name(value) != bool(pattern.match(value)):
                disagree.append((hex(code), value))
    assert not disagree, disagree[:20]


INTERESTING = [
    *range(0x00, 0x21),
    *range(0x7F, 0xA1),
    0x061C,
    0x1680,
    *range(0x2000, 0x2030),
    *range(0x205F, 0x2070),
    0x3000,
    0xFEFF,
    0x4E00,
    0xFF10,
    0x1F600,
]


def test_the_patterns_are_valid_for_rust_and_javascript_regex_engines() -> None:
    """A validator built on Rust's regex crate (jsonschema-rs, which Schemathesis uses) or
    on JavaScript's refuses a pattern naming surrogates, and then ignores it."""
    for pattern in (NAME_PATTERN, REASON_PATTERN):
        assert not re.search(r"\\ud[89a-f]", pattern, re.IGNORECASE), pattern
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})


@pytest.mark.parametrize("text", ["申请{}5000元", "{}", "\n{}\t"])
def test_the_reason_pattern_accepts_exactly_the_reasons_the_server_accepts(text: str) -> None:
    pattern = re.compile(REASON_PATTERN)
    for code in INTERESTING:
        value = text.format(chr(code))
        server: Any
        try:
            HardshipApplication.model_validate(example(reason=value))
            server = True
        except ValueError:
            server = False
        assert server == bool(pattern.match(value)), (hex(code), value)


@pytest.mark.parametrize(("field", "limit"), [("name", 50), ("employer", 200), ("reason", 4000)])
def test_a_text_is_at_most_its_length_as_sent_spaces_included(field: str, limit: int) -> None:
    """The schema's maxLength counts what is sent; the model strips surrounding spaces and
    counted only what was left, so it took a padded text the schema refuses."""
    changes: dict[str, Any] = {}
    padded = "\u00a0" + "张" * limit
    if field == "reason":
        changes["reason"] = padded
    else:
        changes["applicant"] = {field: padded}
    assert_refused_at(example(**changes), (field,) if field == "reason" else ("applicant", field))
    fits = "\u00a0" + "张" * (limit - 1)
    HardshipApplication.model_validate(
        example(**({"reason": fits} if field == "reason" else {"applicant": {field: fits}}))
    )
