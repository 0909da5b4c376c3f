"""The pharmacy's steps on an order routed to it: accept (the signature verified first) or
reject, prepare, ready for pickup with a code, hand over at the counter or out for delivery
and delivered. Every step checks the caller acts for the pharmacy, locks the order row and
checks it is still with that pharmacy (a reassignment may have moved it), and runs its own
checks before the state moves.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import user_or_none
from pharmacy.models import AssignmentOutcome, DispenseRecord, Order, OrderAssignment, OrderStatus, Pharmacy
from pharmacy.orders.actions import order_check
from pharmacy.orders.base import (
    NAME_MAX,
    actor_label,
    order_lock_for_pharmacy,
    order_notify,
    reassign_on_commit,
    text_clean,
)
from pharmacy import regulator_events
from pharmacy.orders.states import order_transition
from pharmacy.stock import stock_consume
from prescriptions import lifecycle as rx_lifecycle

O = OrderStatus


def order_accept(*, order: Order | int, pharmacy: Pharmacy, by) -> Order:
    """The pharmacy accepts a placed order: placed -> accepted. The prescription's signature
    is verified here as well, so an order whose prescription was altered after signing can
    never be accepted. Errors: another pharmacy's order (404), not placed (409), signature
    invalid (409 `signature_invalid`), prescription no longer approved or expired (409)."""
    with transaction.atomic():
        order = order_lock_for_pharmacy(order, pharmacy=pharmacy, by=by)
        order_check("accept", order, actor=by, at=timezone.now())
        prescription = order.prescription
        valid, why = rx_lifecycle.prescription_verify(prescription)
        if not valid:
            raise DomainError(_("The prescription's signature does not verify: %(why)s") % {"why": why},
                              code="signature_invalid",
                              kind=Kind.CONFLICT)
        order.accepted_at = timezone.now()
        order_transition(order, O.ACCEPTED, by=by, reason=f"accepted by {actor_label(by)}"[:100], now=order.accepted_at)
        order_notify(order, "accepted", f"药房已接单 {order.pharmacy.name} accepted your order",
                f"{order.pharmacy.name} accepted order {order.pk} and is preparing it.")
    return order


def order_reject(*, order: Order | int, pharmacy: Pharmacy, by, reason: str) -> Order:
    """The pharmacy rejects an order it has not handed over, with a reason: -> rejected. A
    Celery task then moves it to the next pharmacy (after commit). Errors: reason missing
    (400), another pharmacy's order (404), a state that cannot be rejected (409)."""
    reason = text_clean(reason, field="reason", required=True)
    with transaction.atomic():
        order = order_lock_for_pharmacy(order, pharmacy=pharmacy, by=by)
        order_check("reject", order, actor=by, at=timezone.now())
        order.reject_reason = reason
        order_transition(order, O.REJECTED, by=by, reason=f"rejected: {reason}"[:100])
        OrderAssignment.objects.filter(order=order, attempt=order.attempt).update(
            outcome=AssignmentOutcome.REJECTED, ended_at=order.updated_at, reason=reason)
        reassign_on_commit(order)
    return order


def order_prepare(*, order: Order | int, pharmacy: Pharmacy, by) -> Order:
    """accepted -> preparing. Errors: 404 another pharmacy's order, 409 any other state."""
    with transaction.atomic():
        order = order_lock_for_pharmacy(order, pharmacy=pharmacy, by=by)
        order_check("preparing", order, actor=by, at=timezone.now())
        return order_transition(order, O.PREPARING, by=by, reason="preparing")


def order_ready(*, order: Order | int, pharmacy: Pharmacy, by) -> Order:
    """A pickup order is ready: accepted or preparing -> ready_for_pickup, with a new 6-digit
    pickup code that the family gets in a notification and in their order view. Errors: 404
    another pharmacy's order, 409 a delivery order or any other state."""
    with transaction.atomic():
        order = order_lock_for_pharmacy(order, pharmacy=pharmacy, by=by)
        order_check("ready", order, actor=by, at=timezone.now())
        order.pickup_code = f"{secrets.randbelow(10**6):06d}"
        order.pickup_code_attempts = 0
        order.ready_at = timezone.now()
        order_transition(order, O.READY_FOR_PICKUP, by=by, reason="ready for pickup", now=order.ready_at)
        order_notify(order, "ready", f"可以取药了 Ready for pickup: code {order.pickup_code}",
                f"Order {order.pk} is ready at {order.pharmacy.name}, {order.pharmacy.address}. "
                f"Show pickup code {order.pickup_code} at the counter.", data={"pickup_code": order.pickup_code})
    return order


def order_pick_up(*, order: Order | int, pharmacy: Pharmacy, by, pickup_code: str, pharmacist_name: str = "") -> Order:
    """The pharmacy hands a ready pickup order over after entering the patient's code:
    ready_for_pickup -> picked_up, and the dispensing is recorded (see `_dispense`).

    A wrong code is refused (422 `wrong_pickup_code`, naming the attempts left) and counted;
    after PICKUP_CODE_MAX_ATTEMPTS wrong codes the order is locked (409 `pickup_locked`)
    until hospital staff look at it. Errors also: 404 another pharmacy's order, 409 any
    other state, 409 if the prescription can no longer be dispensed.
    """
    code = pickup_code.strip() if isinstance(pickup_code, str) else ""
    limit = settings.PICKUP_CODE_MAX_ATTEMPTS
    refusal = None
    with transaction.atomic():
        order = order_lock_for_pharmacy(order, pharmacy=pharmacy, by=by)
        order_check("picked-up", order, actor=by, at=timezone.now())
        if not (len(code) == 6 and hmac.compare_digest(code.encode(), order.pickup_code.encode())):
            # The count must survive the refusal, so it is saved and the error raised after commit.
            order.pickup_code_attempts += 1
            left = limit - order.pickup_code_attempts
            if left <= 0:
                order.pickup_locked_at = timezone.now()
                order.flagged_for_staff = True
                refusal = DomainError(_("Wrong pickup code. Too many wrong codes: this order is now locked."),
                                      code="pickup_locked", field="pickup_code", kind=Kind.CONFLICT)
            else:
                refusal = DomainError(_("Wrong pickup code; %(left)s attempts left.") % {"left": left},
                                      code="wrong_pickup_code", field="pickup_code", kind=Kind.UNPROCESSABLE)
                if left == 1:
                    refusal = DomainError(_("Wrong pickup code; 1 attempt left."), code="wrong_pickup_code",
                                          field="pickup_code", kind=Kind.UNPROCESSABLE)
            stamp(order, by=by, reason="wrong pickup code")
            order.save(update_fields=["pickup_code_attempts", "pickup_locked_at", "flagged_for_staff"])
        else:
            _hand_over(order, by=by, pharmacist_name=pharmacist_name, to=O.PICKED_UP)
            order_notify(order, "picked_up", "已取药 Medicines picked up",
                    f"Order {order.pk} was picked up at {order.pharmacy.name}.")
    if refusal is not None:
        raise refusal
    return order


def order_dispatch(*, order: Order | int, pharmacy: Pharmacy, by, courier_name: str, courier_phone: str,
                   tracking_number: str) -> Order:
    """A delivery order leaves with a courier: accepted or preparing -> out_for_delivery.
    Errors: courier name, phone or tracking number missing (400), 404 another pharmacy's
    order, 409 a pickup order or any other state."""
    courier_name = text_clean(courier_name, field="courier_name", required=True, limit=NAME_MAX)
    courier_phone = text_clean(courier_phone, field="courier_phone", required=True, limit=20)
    tracking_number = text_clean(tracking_number, field="tracking_number", required=True, limit=60)
    with transaction.atomic():
        order = order_lock_for_pharmacy(order, pharmacy=pharmacy, by=by)
        order_check("out-for-delivery", order, actor=by, at=timezone.now())
        order.courier_name, order.courier_phone, order.tracking_number = courier_name, courier_phone, tracking_number
        order.dispatched_at = timezone.now()
        order_transition(order, O.OUT_FOR_DELIVERY, by=by, reason="out for delivery", now=order.dispatched_at)
        order_notify(order, "out_for_delivery", "药品配送中 Out for delivery",
                f"Order {order.pk} is on its way with {courier_name} ({courier_phone}), "
                f"tracking number {tracking_number}.",
                data={"tracking_number": tracking_number})
    return order


def order_deliver(*, order: Order | int, pharmacy: Pharmacy, by, recipient_name: str,
                  received_at: datetime | None = None, pharmacist_name: str = "") -> Order:
    """The courier handed the medicines over: out_for_delivery -> delivered, with who received
    them and when (default now; not in the future, not before dispatch), and the dispensing
    is recorded. Errors: recipient missing or time out of range (400), 404 another pharmacy's
    order, 409 any other state or a prescription that can no longer be dispensed."""
    recipient_name = text_clean(recipient_name, field="recipient_name", required=True, limit=NAME_MAX)
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + timedelta(minutes=5):
        raise DomainError(_("The receipt time is in the future."), code="received_at_future", field="received_at",
                          kind=Kind.INVALID)
    with transaction.atomic():
        order = order_lock_for_pharmacy(order, pharmacy=pharmacy, by=by)
        order_check("delivered", order, actor=by, at=timezone.now())
        if order.dispatched_at and received_at < order.dispatched_at:
            raise DomainError(_("The receipt time is before the order left the pharmacy."), code="received_at_early",
                              field="received_at", kind=Kind.INVALID)
        order.recipient_name, order.received_at = recipient_name, received_at
        _hand_over(order, by=by, pharmacist_name=pharmacist_name, to=O.DELIVERED)
        order_notify(order, "delivered", "药品已送达 Delivered",
                f"Order {order.pk} was delivered to {recipient_name} at {timezone.localtime(received_at):%H:%M}.")
    return order


def _hand_over(order: Order, *, by, pharmacist_name: str, to: str) -> DispenseRecord:
    """Hand-over of a locked order: the transition, the dispense record, the reserved stock
    consumed and the prescription marked dispensed, all in the caller's transaction, so a
    prescription that cannot be dispensed any more (voided, expired) leaves nothing done."""
    pharmacist_name = text_clean(pharmacist_name, field="pharmacist_name", limit=NAME_MAX)
    now = timezone.now()
    order.completed_at = now
    order_transition(order, to, by=by, reason=f"{to} ({actor_label(by)})"[:100], now=now)
    lines = list(order.lines.select_related("drug"))
    items = {line.drug_id: line.quantity for line in lines}
    stock_consume(pharmacy=order.pharmacy, items=items, by=user_or_none(by), reason=f"order {order.pk} dispensed")
    record = DispenseRecord(
        order=order, prescription_id=order.prescription_id, pharmacy=order.pharmacy, pharmacist=user_or_none(by),
        dispensed_by=pharmacist_name or actor_label(by), dispensed_at=now,
        handover="pickup" if to == O.PICKED_UP else "delivery",
        lines=[{"drug_id": line.drug_id, "drug_code": line.drug.code, "drug_name": str(line.drug),
                "quantity": line.quantity} for line in lines],
    )
    stamp(record, by=user_or_none(by), reason=f"order {order.pk} {to}")
    record.save()
    OrderAssignment.objects.filter(order=order, attempt=order.attempt).update(
        outcome=AssignmentOutcome.COMPLETED, ended_at=now)
    rx_lifecycle.prescription_dispense(prescription=order.prescription_id, by=by,
                                       reason=f"order {order.pk} at {order.pharmacy.name}"[:100])
    regulator_events.dispense_report(record)  # 互联网诊疗监管细则: reported to the platform
    return record
