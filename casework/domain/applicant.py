"""The worker who applies, as every process that serves one records them: name, ID
number (GB 11643), mobile, employer and district, validated as the API's schema states.
Hardship relief adds a bank account (casework.domain.hardship.Applicant); legal aid
takes it as it is. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from casework.domain.identity import id_number_problem, phone_problem
from casework.domain.org import DISTRICTS
from casework.domain.text import check_text, text_pattern

STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

# The rules below as the HTTP API's schema states them (`json_schema_extra`), so that a
# request valid by the schema is not refused by the server. The validators stay what
# they were: the schema describes them, it does not replace them.
ID_NUMBER_PATTERN = "^[0-9]{17}[0-9Xx]$"
ID_NUMBER_FORMAT = "gb11643-id"
"""A JSON-schema `format` of our own: the birth date and the check digit (GB 11643,
ISO 7064 MOD 11-2), which no pattern states; tools that do not know it ignore it."""
PHONE_PATTERN = "^1[3-9][0-9]{9}$"
NAME_PATTERN = text_pattern(line_breaks=False)
"""A name or employer: no control, bidirectional formatting or invisible characters,
and not blank."""
REASON_PATTERN = text_pattern(line_breaks=True)
"""As a name, but line breaks and tabs are fine."""


RAW_MAX_LENGTH = {"name": 50, "employer": 200, "reason": 4000}


def at_most(
    value: object, info: ValidationInfo, limits: Mapping[str, int] = RAW_MAX_LENGTH
) -> object:
    """Free text at most its length as sent, the whitespace that is stripped included:
    what the schema's maxLength says (pydantic counts after stripping). `limits`: by
    field name (a model's own table; the applicant's by default)."""
    limit = limits[info.field_name or ""]
    if isinstance(value, str) and len(value) > limit:
        raise ValueError(f"至多 {limit} 个字符 (at most {limit} characters)")
    return value


def known_district(value: str) -> str:
    """One of the city's districts (市直 for city-level units), or ValueError listing them."""
    if value not in DISTRICTS:
        raise ValueError(f"未知区县 (unknown district); one of: {', '.join(DISTRICTS)}")
    return value


class Person(BaseModel):
    """Who applies (the worker), as every process that serves a worker records them."""

    model_config = STRICT

    name: str = Field(
        min_length=1,
        max_length=50,
        description="The applicant's name: no control characters, no bidirectional "
        "formatting or invisible characters (U+200B–U+200F, U+2028–U+202E, U+2060, "
        "U+2066–U+2069, U+FEFF, U+061C), not blank.",
        json_schema_extra={"pattern": NAME_PATTERN, "examples": ["张三"]},
    )
    id_number: str = Field(
        description="18-character resident ID number (GB 11643): 17 digits, then a digit "
        "or X. Characters 7–14 must be a real birth date (YYYYMMDD) and the last one the "
        "check character computed from the first 17 (ISO 7064 MOD 11-2), which a pattern "
        f"cannot state (`format: {ID_NUMBER_FORMAT}`); a wrong one is refused with 422 "
        "naming `applicant.id_number`. Never shown or stored in clear outside the "
        "applicant record.",
        json_schema_extra={
            "pattern": ID_NUMBER_PATTERN,
            "minLength": 18,
            "maxLength": 18,
            "format": ID_NUMBER_FORMAT,
            "examples": ["320602198001011235"],
        },
    )
    phone: str = Field(
        description="Mainland mobile number: 11 digits starting 13–19.",
        json_schema_extra={
            "pattern": PHONE_PATTERN,
            "minLength": 11,
            "maxLength": 11,
            "examples": ["13800000000"],
        },
    )
    employer: str = Field(
        min_length=1,
        max_length=200,
        description="The employer, with the same character rules as the name.",
        json_schema_extra={"pattern": NAME_PATTERN, "examples": ["南通某纺织有限公司"]},
    )
    district: str = Field(
        description="The applicant's district (Nantong): decides which district's "
        "officers handle the case.",
        json_schema_extra={"enum": list(DISTRICTS), "examples": ["崇川区"]},
    )

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str) -> str:
        v = v.upper()
        problem = id_number_problem(v)
        if problem:
            raise ValueError(f"身份证号无效 (invalid ID number): {problem}")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        problem = phone_problem(v)
        if problem:
            raise ValueError(f"手机号无效 (invalid phone): {problem}")
        return v

    @field_validator("district")
    @classmethod
    def _district(cls, v: str) -> str:
        return known_district(v)

    @field_validator("name", "employer", mode="before")
    @classmethod
    def _not_too_long(cls, v: object, info: ValidationInfo) -> object:
        return at_most(v, info)

    @field_validator("name", "employer")
    @classmethod
    def _printable(cls, v: str) -> str:
        return check_text(v, line_breaks=False)
