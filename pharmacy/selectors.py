"""Read queries for orders: what the order views render. Which orders each side may see is
pharmacy.permissions."""

from django.db.models import Prefetch, QuerySet

from pharmacy.models import Order, OrderLine
from prescriptions.models import PrescriptionItem


def orders_for_display(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Everything the order views render, in a fixed number of queries."""
    return queryset.select_related(
        "pharmacy", "patient", "prescription", "prescription__doctor", "dispense_record"
    ).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("drug").order_by("drug__code")),
        Prefetch("prescription__items", queryset=PrescriptionItem.objects.select_related("drug").order_by("position")),
    )
