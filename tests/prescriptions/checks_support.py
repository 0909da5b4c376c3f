"""Pure helpers for the checks-v2 tests: the real formulary file as unsaved Drug objects, and
PatientFacts / items built from plain values, so hundreds of cases run without a database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import cache

from django.utils import timezone

from prescriptions import checks
from prescriptions.formulary import FORMULARY
from prescriptions.models import Drug

RULE_CODES = ("days_supply", "long_term")  # prescriptions.rules' findings (the compliance area)


@cache
def formulary() -> dict[str, Drug]:
    """code -> Drug as in prescriptions/knowledge/formulary.yaml (not saved)."""
    return {entry["code"]: Drug(**entry) for entry in FORMULARY}


def drug(code: str) -> Drug:
    return formulary()[code]


def line(code: str, dose, frequency: str = "qd", days: int = 7, position: int = 0, unit: str | None = None):
    d = drug(code)
    return checks.ItemInput(position=position, drug=d, dose=Decimal(str(dose)), dose_unit=unit or d.strength_unit,
                            frequency=frequency, days_supply=days, quantity=1)


def facts(*, age: int | None = 55, sex: str = "male", egfr=None, egfr_days_ago: int = 10, conditions=(),
          allergies=(), current=(), weight=None, creatinine=None, creatinine_days_ago: int = 10) -> checks.PatientFacts:
    """PatientFacts from plain values. `allergies`: substances or (substance, category);
    `current`: formulary codes, free-text names (uncoded), or (code, days since started)."""
    now = timezone.now()
    current_medications = []
    for entry in current:
        code, days = (entry, None) if isinstance(entry, str) else entry
        started = (now - timedelta(days=days)).date() if days is not None else None
        d = formulary().get(code)
        current_medications.append(checks.CurrentMedication(d.generic_name if d else code, d, started))
    allergy_facts = tuple(checks.AllergyFact(*((a, "drug") if isinstance(a, str) else a)) for a in allergies)
    return checks.PatientFacts(
        allergies=allergy_facts,
        egfr=None if egfr is None else Decimal(str(egfr)),
        egfr_measured_at=None if egfr is None else now - timedelta(days=egfr_days_ago),
        chronic_conditions=tuple(c for c in conditions if checks.icd10_is_chronic(c)),
        conditions=tuple(conditions), age=age, sex=sex,
        weight_kg=None if weight is None else Decimal(str(weight)),
        creatinine_umol_l=None if creatinine is None else Decimal(str(creatinine)),
        creatinine_measured_at=None if creatinine is None else now - timedelta(days=creatinine_days_ago),
        current_medications=tuple(current_medications), as_of=now,
    )


def clinical(findings) -> list[checks.Finding]:
    """The findings of the clinical checks (leaving out days' supply, another area's rules)."""
    return [f for f in findings if not f.code.startswith(RULE_CODES)]


def codes(findings) -> set[tuple[str, str, int | None]]:
    return {(f.code, f.severity, f.item) for f in clinical(findings)}
