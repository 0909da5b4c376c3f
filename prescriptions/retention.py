"""Prescriptions in the retention table (cloudhospital.retention).

处方管理办法 art. 50: a prescription is kept at least 1 year (ordinary), 2 years (医疗用毒性药品,
第二类精神药品) or 3 years (麻醉药品, 第一类精神药品) (PRESCRIPTION_RETENTION_YEARS, by legal class);
one with items of several classes keeps the longest, a class the rule does not name keeps the
longest of the table. Counted from issue (signing), or from creation for one never signed.

A purged prescription is deleted with its items and history. Its consultation is kept for its
own 15 years; its pharmacy orders and dispense records go first (pharmacy registers them with
the same period, so they never outlive it). A revision points at the rejected prescription it
replaced (PROTECT): newest first, so a chain past retention goes in one run, and a revision
still kept keeps its predecessor (reported as skipped).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from cloudhospital.retention import RetentionKind, retention_register, years_before
from prescriptions.models import LegalClass, Prescription


def prescription_retention_years(prescription: Prescription) -> int:
    """The prescription's minimum retention: the longest period of its items' legal classes."""
    table = settings.PRESCRIPTION_RETENTION_YEARS
    longest = max(table.values())
    classes = {item.drug.legal_class for item in prescription.items.all()} or {LegalClass.ORDINARY}
    return max(table.get(legal_class, longest) for legal_class in classes)


def prescription_kept_from(prescription: Prescription) -> datetime:
    return prescription.issued_at or prescription.created_at


def prescription_past_retention(prescription: Prescription, *, now: datetime) -> bool:
    return prescription_kept_from(prescription) < years_before(now, prescription_retention_years(prescription))


def prescriptions_expired(now: datetime) -> list[Prescription]:
    """Prescriptions past their class's retention at `now`, newest first. Only those older
    than the shortest period are looked at."""
    shortest = min(settings.PRESCRIPTION_RETENTION_YEARS.values())
    candidates = (Prescription.objects.filter(created_at__lt=years_before(now, shortest))
                  .select_related("consultation").prefetch_related("items__drug").order_by("-id"))
    return [p for p in candidates if prescription_past_retention(p, now=now)]


def _covers(prescription: Prescription):
    return prescription.patient_id, [prescription, prescription.consultation]


def register() -> None:
    retention_register(RetentionKind(
        name="prescriptions",
        label="E-prescriptions (with their items)",
        rule="处方管理办法: ordinary 1 year; 医疗用毒性药品, 第二类精神药品 2 years; 麻醉药品, 第一类精神药品 3 years",
        years=lambda: "/".join(f"{k} {v}" for k, v in settings.PRESCRIPTION_RETENTION_YEARS.items()) + " years",
        expired=prescriptions_expired,
        covers=_covers,
    ))
