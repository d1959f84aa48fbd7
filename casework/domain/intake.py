"""An application that is a row, not a case: one firm's refund application among
seventeen thousand (casework.domain.refund). The edges accept it as they accept a case
type's application (`casework case open refund --file …`) and give it to its receiver,
which records the row and answers its id; the volume run decides later which of them
need a person (and opens those as cases)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

Pair = tuple[str, str]


@dataclass(frozen=True)
class Intake:
    name: str
    """As typed: `refund`."""
    label: Pair
    application_model: type[BaseModel]
    application_example: dict[str, Any]
    receiver: str
    """`module:function(engine, application, actor) -> id` that records it (a store
    function: the domain names it, the edges import it)."""
