"""ICD-10 diagnoses as doctors write them, checked in one place for the consultation
record, the problem list and the prescription."""

import re

from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from consult.icd10 import icd10_name_zh

ICD10_PATTERN = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$")
DIAGNOSES_MAX = 20
NAME_MAX = 120


def icd10_clean(code, *, field: str = "icd10_code") -> str:
    """An ICD-10 code upper-cased, or 400 `invalid_icd10` on `field`."""
    normalised = code.strip().upper() if isinstance(code, str) else ""
    if not normalised:
        raise DomainError(_("Enter an ICD-10 code; use a code such as I10 or N18.3."), code="invalid_icd10",
                          field=field, kind=Kind.INVALID)
    if not ICD10_PATTERN.match(normalised):
        raise DomainError(_("%(code)s is not an ICD-10 code; use a code such as I10 or N18.3.")
                          % {"code": repr(normalised[:12])}, code="invalid_icd10", field=field, kind=Kind.INVALID)
    return normalised


def diagnosis_clean(diagnosis) -> list[dict]:
    """1 to 20 ICD-10 diagnoses as [{code, name}], codes upper-cased, repeats dropped; a
    missing name becomes the catalogue's Chinese name (consult.icd10), else the code. 400 naming `diagnosis` or `diagnosis[i].code` otherwise."""
    if not isinstance(diagnosis, list) or not diagnosis or len(diagnosis) > DIAGNOSES_MAX:
        raise DomainError(_("Give 1 to %(max)s diagnoses as [{code, name}].") % {"max": DIAGNOSES_MAX},
                          code="diagnosis_required",
                          field="diagnosis", kind=Kind.INVALID)
    cleaned, seen = [], set()
    for index, entry in enumerate(diagnosis):
        code = entry.get("code") if isinstance(entry, dict) else None
        if not isinstance(code, str):
            raise DomainError(_("Each diagnosis needs an ICD-10 `code`."), code="diagnosis_invalid",
                              field=f"diagnosis[{index}].code", kind=Kind.INVALID)
        code = icd10_clean(code, field=f"diagnosis[{index}].code")
        if code in seen:
            continue
        seen.add(code)
        name = entry.get("name")
        written = name.strip()[:NAME_MAX] if isinstance(name, str) else ""
        cleaned.append({"code": code, "name": written or icd10_name_zh(code) or code})
    return cleaned
