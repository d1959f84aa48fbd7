"""Events as decided by a workflow, before the store gives them a position and a hash.

Event types are stable strings (`task.approved`), never module paths. A payload whose
shape changes gets a new `schema_version`, and an upcaster in `UPCASTERS` turns old
payloads into the current shape when they are read; stored rows are never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

JsonDict = dict[str, Any]

SYSTEM = "system"
"""actor_id of events the workflow records on its own (timers, checks, payments)."""


class NewEvent(BaseModel):
    """One state change, decided in a workflow (ids and times come from workflow APIs)."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    case_id: str
    type: str
    schema_version: int = 1
    payload: JsonDict = Field(default_factory=dict)
    actor_id: str
    occurred_at: datetime


CURRENT_VERSIONS: dict[str, int] = {}
"""Event types whose current schema version is above 1."""

Upcaster = Callable[[JsonDict], JsonDict]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(type, version) -> function giving the payload of version + 1."""


def upcast(event_type: str, version: int, payload: JsonDict) -> tuple[int, JsonDict]:
    """Bring a stored payload up to the current schema version of its type."""
    target = CURRENT_VERSIONS.get(event_type, 1)
    while version < target:
        payload = UPCASTERS[(event_type, version)](payload)
        version += 1
    return version, payload
