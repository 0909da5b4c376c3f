"""Kidney function for dosing: how old an eGFR may be, the conservative step for an old one,
and Cockcroft-Gault creatinine clearance.

KDIGO 2012 CKD grades GFR in bands (G1 >= 90, G2 60-89, G3a 45-59, G3b 30-44, G4 15-29,
G5 < 15) and says how often to measure it; `settings.CHECKS_EGFR_VALID_DAYS` holds that
window per band. An eGFR older than its window still counts, one band lower: the dose rules
then apply as if kidney function had declined by one step since it was measured.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings

EGFR_BAND_FLOORS = (Decimal(90), Decimal(60), Decimal(45), Decimal(30), Decimal(15), Decimal(0))
STEP_BELOW = Decimal("0.1")
# Serum creatinine: 1 mg/dL = 88.4 umol/L (the Cockcroft-Gault formula is in mg/dL).
CREATININE_UMOL_PER_MG_DL = Decimal("88.4")


def valid_days(egfr: Decimal) -> int:
    """How many days an eGFR of this value stays current (settings.CHECKS_EGFR_VALID_DAYS)."""
    windows = sorted(((Decimal(str(floor)), days) for floor, days in settings.CHECKS_EGFR_VALID_DAYS.items()),
                     reverse=True)
    for floor, days in windows:
        if egfr >= floor:
            return days
    return windows[-1][1]


def age_in_days(measured_at, as_of: datetime) -> int | None:
    if measured_at is None or as_of is None:
        return None
    return (as_of - measured_at).days


def egfr_is_stale(egfr: Decimal | None, measured_at, as_of) -> bool:
    """Whether the eGFR is older than its band's window (unknown dates are not judged)."""
    days = age_in_days(measured_at, as_of)
    return egfr is not None and days is not None and days > valid_days(egfr)


def next_lower_band(egfr: Decimal) -> Decimal:
    """Just below the floor of `egfr`'s band (48 -> 44.9, the top of G3b); G5 stays as it is."""
    for floor in EGFR_BAND_FLOORS:
        if egfr >= floor:
            return egfr if floor == 0 else floor - STEP_BELOW
    return egfr


def cockcroft_gault(*, age: int, female: bool, weight_kg: Decimal, creatinine_umol_l: Decimal) -> Decimal:
    """Creatinine clearance (mL/min): (140 - age) x weight / (72 x Scr mg/dL), x 0.85 for a woman
    (Cockcroft DW, Gault MH. Nephron 1976;16:31-41), to one decimal."""
    scr = Decimal(creatinine_umol_l) / CREATININE_UMOL_PER_MG_DL
    clearance = (Decimal(140 - age) * Decimal(weight_kg)) / (Decimal(72) * scr)
    if female:
        clearance *= Decimal("0.85")
    return max(clearance, Decimal(0)).quantize(Decimal("0.1"))
