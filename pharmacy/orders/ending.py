"""The order ends early: the family cancels it, or the prescription it fills was voided or
expired and every live order on it is withdrawn.

prescriptions.lifecycle locks the live orders (orders_lock_live, registered with it at
start-up by pharmacy.apps) before it locks the prescription, because handing medicine over
locks the order and then the prescription: one lock order, no deadlock.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import User
from pharmacy.models import LIVE_ORDER_STATUSES, AssignmentOutcome, Order, OrderStatus
from pharmacy.orders.actions import order_check
from pharmacy.orders.base import TEXT_MAX, order_lock, order_notify, order_release
from pharmacy.orders.states import order_transition
from prescriptions.models import Prescription, PrescriptionStatus

O = OrderStatus
WITHDRAWN_PRESCRIPTION_STATUSES = (PrescriptionStatus.VOIDED, PrescriptionStatus.EXPIRED)


def order_cancel(*, order: Order | int, by: User) -> Order:
    """The family cancels an order the pharmacy has not started preparing (placed, rejected or
    accepted): the reservation is released. Only the patient or their proxies (403).
    Errors: 409 naming any other state."""
    with transaction.atomic():
        order = order_lock(order)
        order_check("cancel", order, actor=by, at=timezone.now())
        order_transition(order, O.CANCELLED, by=by, reason="cancelled by the family")
        order_release(order, outcome=AssignmentOutcome.CANCELLED, reason="cancelled", by=by)
    return order


def orders_lock_live(*, prescription_id: int) -> list[Order]:
    """Lock the prescription's live orders (at most one) before the prescription itself."""
    return list(Order.objects.select_for_update().filter(prescription_id=prescription_id,
                                                         status__in=LIVE_ORDER_STATUSES).order_by("pk"))


def orders_withdraw(*, prescription_id: int, by, reason: str) -> list[Order]:
    """Withdraw the live orders of a prescription that was just voided or expired, in the
    caller's transaction: each releases its reservation, closes its assignment, keeps the
    reason in `failure_reason` and tells the family; the pharmacy sees `withdrawn` in its
    order list, and any further step on the order is a 409. Refused (409) while the
    prescription is still live: only its void or expiry withdraws its orders."""
    status = Prescription.objects.filter(pk=prescription_id).values_list("status", flat=True).first()
    if status not in WITHDRAWN_PRESCRIPTION_STATUSES:
        raise DomainError(_("Orders are withdrawn only when their prescription is voided or expires."),
                          code="prescription_live", kind=Kind.CONFLICT)
    withdrawn = orders_lock_live(prescription_id=prescription_id)
    for order in withdrawn:
        order.failure_reason = reason[:TEXT_MAX]
        order_transition(order, O.WITHDRAWN, by=by, reason=f"withdrawn: {reason}"[:100])
        order_release(order, outcome=AssignmentOutcome.WITHDRAWN, reason="prescription withdrawn", by=by)
        order_notify(order, "withdrawn", "药品订单已撤销 Order withdrawn",
                     f"{reason} 订单已撤销，药房不会再配药。The order is withdrawn; the pharmacy will not fill it.")
    return withdrawn
