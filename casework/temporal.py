"""Temporal connection details shared by the worker and every client."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter

from casework.settings import Settings

CASE_TYPE = SearchAttributeKey.for_keyword("CaseType")
CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
CASE_DISTRICT = SearchAttributeKey.for_keyword("CaseDistrict")
CASE_ASSIGNEE = SearchAttributeKey.for_keyword("CaseAssignee")
CASE_DUE_AT = SearchAttributeKey.for_datetime("CaseDueAt")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")

SEARCH_ATTRIBUTES = (CASE_TYPE, CASE_STAGE, CASE_DISTRICT, CASE_ASSIGNEE, CASE_DUE_AT, CASE_STATUS)
"""Registered when the embedded dev server starts (`--search-attribute Name=Type`)."""


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=settings.temporal_tls,
    )
