"""Read queries for orders: which orders and prescriptions a caller may see.

One queryset per side: the family sees the orders of the patients they manage, a pharmacy
the orders routed to it now. Views start from these, so a foreign id is a 404.
"""

from django.db.models import Prefetch, QuerySet

from consult.selectors import patients_managed_by
from pharmacy.models import Order, OrderLine, Pharmacy
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionStatus


def prescriptions_orderable_by(user) -> QuerySet[Prescription]:
    """Prescriptions of the patients `user` manages (own and dependants'), drafts excluded:
    the ones they may choose a pharmacy for. Whether each is approved is the domain's check."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return Prescription.objects.none()
    return Prescription.objects.filter(patient__in=patients_managed_by(user).values("pk")).exclude(
        status=PrescriptionStatus.DRAFT
    )


def orders_visible_to(user) -> QuerySet[Order]:
    """Orders for the patients `user` manages."""
    if not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return Order.objects.none()
    return Order.objects.filter(patient__in=patients_managed_by(user).values("pk"))


def orders_for_pharmacy(pharmacy: Pharmacy) -> QuerySet[Order]:
    """Orders routed to `pharmacy` now (an order reassigned away is no longer its own)."""
    return Order.objects.filter(pharmacy=pharmacy)


def orders_for_display(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Everything the order views render, in a fixed number of queries."""
    return queryset.select_related(
        "pharmacy", "patient", "prescription", "prescription__doctor", "dispense_record"
    ).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("drug").order_by("drug__code")),
        Prefetch("prescription__items", queryset=PrescriptionItem.objects.select_related("drug").order_by("position")),
    )
