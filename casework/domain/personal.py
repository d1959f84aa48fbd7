"""Personal data of an applicant: which fields are personal, their sealed (encrypted)
form as events and workflow inputs carry it, and who may see them in clear.

The cryptography lives in `casework.privacy`; this module only describes the shapes and
the rules, so that workflows may import it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from casework.domain.org import Actor, Role

ID_NUMBER = "id_number"
PHONE = "phone"
BANK_ACCOUNT = "bank_account"
PERSONAL_FIELDS: tuple[str, ...] = (ID_NUMBER, PHONE, BANK_ACCOUNT)
"""Fields stored only encrypted with the case's data key, and shown masked by default."""

ERASED = "[已销毁 erased]"
"""What is shown for a personal field whose case key was destroyed (crypto-shredding)."""


class SealedValue(BaseModel):
    """One personal field encrypted with its case's data key (AES-256-GCM; the case id
    and field name are bound as associated data, so a value cannot be moved to another
    case or field). `ct` is base64 of nonce || ciphertext || tag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alg: str = "A256GCM"
    ct: str


SealedFields = dict[str, SealedValue]
"""Field name -> sealed value; a field the applicant did not give is absent."""

WHO_SEES: dict[str, frozenset[Role]] = {
    # The grassroots officer opens the case and visits the home; the district officer
    # reviews it and registers the household in the national system; the city officer
    # reviews the cases the city approves (deep hardship, large grants).
    ID_NUMBER: frozenset({Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER, Role.CITY_OFFICER}),
    # Those who contact the applicant: the grassroots officer, the district officer.
    PHONE: frozenset({Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER}),
    # The district pays relief from its own fund (processes.md, 资金发放) and follows
    # up a rejected account.
    BANK_ACCOUNT: frozenset({Role.DISTRICT_OFFICER}),
}
"""Roles whose work needs a field in clear, within their jurisdiction. Everyone else
(leaders, supervisors, auditors, administrators) sees masked forms: signing, watching
the clock or administering the system does not need the numbers."""


def visible_fields(actor: Actor | None, case_district: str) -> tuple[str, ...]:
    """The personal fields of a case in `case_district` that `actor` may see in clear."""
    if actor is None or not actor.covers(case_district):
        return ()
    return tuple(f for f in PERSONAL_FIELDS if any(actor.has_role(r) for r in WHO_SEES[f]))
