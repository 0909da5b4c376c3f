"""Pharmacy orders and dispense records in the retention table (cloudhospital.retention).

They hold patient data (the patient, a delivery address, a contact name and phone, who
received the medicines) and are the record of how the prescription was filled, so they are
kept exactly as long as their prescription (处方管理办法: 1, 2 or 3 years by the drugs' legal
class, prescriptions.retention) and purged just before it: the order and its dispense record
point at the prescription (PROTECT), and pharmacy registers after prescriptions, so
cloudhospital.retention purges them first. Deleted with their lines, assignments and history;
a hold on the order, its prescription, its consultation or its patient keeps them.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from cloudhospital.retention import RetentionKind, delete_with_history, retention_register, years_before
from pharmacy.models import DispenseRecord, Order
from prescriptions.retention import prescription_past_retention


def orders_expired(now: datetime) -> list[Order]:
    shortest = min(settings.PRESCRIPTION_RETENTION_YEARS.values())
    candidates = (Order.objects.filter(prescription__created_at__lt=years_before(now, shortest))
                  .select_related("prescription__consultation").prefetch_related("prescription__items__drug")
                  .order_by("id"))
    return [order for order in candidates if prescription_past_retention(order.prescription, now=now)]


def order_purge(order: Order) -> str:
    """The dispense record points at the order (PROTECT): it goes first."""
    delete_with_history(DispenseRecord.objects.filter(order=order))
    delete_with_history([order])
    return "deleted"


def _covers(order: Order):
    return order.patient_id, [order, order.prescription, order.prescription.consultation]


def register() -> None:
    retention_register(RetentionKind(
        name="pharmacy_orders",
        label="Pharmacy orders and dispense records",
        rule="处方管理办法: kept as long as their prescription (1, 2 or 3 years by legal class)",
        years=lambda: "as the prescription",
        expired=orders_expired,
        covers=_covers,
        purge=order_purge,
    ))
