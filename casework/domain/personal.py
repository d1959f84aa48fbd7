"""Personal data of an applicant: which fields are personal, their sealed (encrypted)
form as events and workflow inputs carry it, and who may see them in clear.

The cryptography lives in `casework.privacy`; this module only describes the shapes and
the rules, so that workflows may import it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

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

# Who may see which field in clear differs by process: each case type says it
# (`CaseType.who_sees`, casework.domain.case_type).
