"""Current medications as formulary drugs: the lookup the health record's forms use (installed
into consult.medications by PrescriptionsConfig.ready) and the resolution the safety checks use.

A medication with a `drug_code` is that drug. One recorded as free text is matched best-effort
by the formulary's ingredient or generic name appearing in it ("络活喜 苯磺酸氨氯地平 5mg" is
amlodipine); the longest name found wins, and nothing found leaves it uncoded (the checks then
cannot weigh it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import F, Q, Value
from django.db.models.functions import Length

from cloudhospital.languages import in_language
from consult.medications import FormularyEntry
from prescriptions.formulary import drugs_matching
from prescriptions.models import Drug


def _entry(drug: Drug) -> FormularyEntry:
    strength = format(Decimal(drug.strength).normalize(), "f")
    return FormularyEntry(drug.code, f"{in_language(drug.generic_name_zh, drug.generic_name)} {strength}{drug.strength_unit}")


def formulary_search(query: str, limit: int) -> list[FormularyEntry]:
    """Active drugs matching `query` as the prescribing panel's search does (prescriptions.formulary)."""
    return [_entry(drug) for drug in drugs_matching(query).order_by("generic_name", "strength")[:limit]]


def formulary_get(code: str) -> FormularyEntry | None:
    drug = Drug.objects.filter(code=code, active=True).first()
    return _entry(drug) if drug else None


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


def _names(drug: Drug) -> list[str]:
    return [n for n in (drug.ingredient, drug.ingredient_zh, drug.generic_name, drug.generic_name_zh) if n]


def _mentions(text: str, name: str) -> bool:
    name = _normalise(name)
    if name.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", text) is not None
    return name in text


def drug_named_in(text: str) -> Drug | None:
    """The formulary drug whose ingredient or generic name appears in free text, or None."""
    text = _normalise(text).strip()
    if not text:
        return None
    value = Value(text)
    candidates = Drug.objects.alias(text=value).filter(
        Q(ingredient__gt="", text__contains=F("ingredient")) | Q(ingredient_zh__gt="", text__contains=F("ingredient_zh"))
        | Q(generic_name_zh__gt="", text__contains=F("generic_name_zh"))
    ).order_by(Length("ingredient").desc(), "-active", "strength")
    best = None
    for drug in candidates[:20]:
        found = max((len(n) for n in _names(drug) if _mentions(text, n)), default=0)
        if found and (best is None or found > best[0]):
            best = (found, drug)
    return best[1] if best else None


def drugs_for_medications(medications: Sequence) -> dict[int, Drug]:
    """{medication pk: Drug} for the current medications that are coded or matched by name."""
    codes = {m.drug_code for m in medications if getattr(m, "drug_code", "")}
    by_code = {d.code: d for d in Drug.objects.filter(code__in=codes)} if codes else {}
    resolved = {}
    for medication in medications:
        drug = by_code.get(medication.drug_code) if medication.drug_code else drug_named_in(medication.name)
        if drug is not None:
            resolved[medication.pk] = drug
    return resolved
