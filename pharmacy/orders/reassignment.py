"""Reassignment: an order its pharmacy rejected, or did not accept within
ORDER_ACCEPT_TIMEOUT_MINUTES, moves to the nearest other pharmacy that has everything, at
most ORDER_MAX_REASSIGNMENTS times; then it fails, is flagged for hospital staff and the
family is told.

It runs in Celery tasks keyed by (order id, attempt): the rejection queues one after commit,
and a beat sweep catches overdue orders and rejections whose task was lost. A second run of
the same task finds the attempt already moved on and does nothing; a run killed half way
committed nothing (release, new reservation and new assignment are one transaction).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError
from cloudhospital.permissions import SYSTEM, require
from pharmacy import dispatch
from pharmacy.models import AssignmentOutcome, Order, OrderAssignment, OrderKind, OrderStatus, Pharmacy
from pharmacy.orders.base import SEARCH_LIMIT, TEXT_MAX, order_notify, order_release, webhook_on_commit
from pharmacy.orders.states import accept_overdue, accept_timeout, order_transition

logger = logging.getLogger("pharmacy.reassignment")

O = OrderStatus
# A rejected order whose reassignment task was lost (broker down) is picked up by the sweep.
REJECTED_GRACE = timedelta(minutes=1)


def order_reassign(*, order_id: int, attempt: int, by=SYSTEM, now: datetime | None = None) -> str:
    """Move an order its pharmacy rejected, or did not accept within the timeout, to the
    nearest other pharmacy that has every item (never one already tried): release the old
    reservation, reserve at the new one, record the new assignment, tell the family and the
    new pharmacy. After ORDER_MAX_REASSIGNMENTS reassignments, or when no other pharmacy
    can, the order fails: flagged for hospital staff, the family told.

    Idempotent: `attempt` is the assignment the caller saw; if the order has moved on, or
    is not (any longer) waiting, nothing happens. Returns what it did: "reassigned",
    "failed", or "skipped". Only the system reassigns (403 for anyone else); no other errors
    for callers: it runs in tasks.
    """
    require("pharmacy.reassign", by, message=_("Orders are reassigned by the system, not by hand."))
    now = now or timezone.now()
    with transaction.atomic():
        # Lock the order row alone (no join): see pharmacy.orders.base.order_lock.
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None or order.attempt != attempt:
            return "skipped"
        overdue = accept_overdue(order, now)
        if order.status != O.REJECTED and not overdue:
            return "skipped"
        old = order.pharmacy
        why = f"rejected by {old.name}: {order.reject_reason}" if order.status == O.REJECTED else (
            f"not accepted by {old.name} within {settings.ORDER_ACCEPT_TIMEOUT_MINUTES} minutes")
        outcome = AssignmentOutcome.REJECTED if order.status == O.REJECTED else AssignmentOutcome.TIMED_OUT
        items = order.items
        order_release(order, outcome=outcome, reason=why)
        new = None
        if order.reassignments < settings.ORDER_MAX_REASSIGNMENTS:
            new = next_pharmacy_reserve(order, items=items)
        if new is None:
            order.flagged_for_staff = True
            order.failure_reason = (f"{why}; no other pharmacy could take it"
                                    if order.reassignments < settings.ORDER_MAX_REASSIGNMENTS
                                    else f"{why}; reassigned {order.reassignments} times already")[:TEXT_MAX]
            order_transition(order, O.FAILED, by=by, reason="failed: flagged for staff", now=now)
            order_notify(order, "failed", "订单未能完成 We could not fill your order",
                    f"No pharmacy could take order {order.pk} ({order.failure_reason}). Hospital staff will "
                    f"contact you; you may also order again.")
            return "failed"
        order.pharmacy = new
        order.attempt += 1
        order.reassignments += 1
        order.assigned_at = now
        order.reject_reason = ""
        if order.kind == OrderKind.DELIVERY:
            order.promised_date = dispatch.promised_delivery_date(pharmacy=new, at=now)
        OrderAssignment.objects.create(order=order, attempt=order.attempt, pharmacy=new, assigned_at=now)
        order_transition(order, O.PLACED, by=by, reason=f"reassigned to {new.name}"[:100], now=now)
        when = f"; delivery on {order.promised_date:%Y-%m-%d}" if order.promised_date else ""
        order_notify(order, "reassigned", f"订单已转至 {new.name} Order moved to {new.name}",
                f"{why}. Order {order.pk} went to {new.name}, {new.address}{when}.", key_suffix=f":{order.attempt}")
        webhook_on_commit(order)
    return "reassigned"


def next_pharmacy_reserve(order: Order, *, items: dict[int, int]) -> Pharmacy | None:
    """Reserve the order's items at the nearest pharmacy not tried yet that has them all, and
    return it; None when no such pharmacy is left. Runs in order_reassign's transaction."""
    tried = set(order.assignments.values_list("pharmacy_id", flat=True))
    limit = min(dispatch.MAX_LIMIT, SEARCH_LIMIT + len(tried))
    if order.kind == OrderKind.DELIVERY:
        found = dispatch.delivery_candidates(items=items, lat=order.latitude, lng=order.longitude, limit=limit)
    else:
        found = dispatch.pharmacies_with_stock(items=items, lat=order.latitude, lng=order.longitude, limit=limit)
    candidates = [c for c in found if c.pharmacy.pk not in tried]
    try:
        return dispatch.dispatch_reserve(candidates=candidates, items=items, reason=f"order {order.pk} reassigned").pharmacy
    except DomainError as error:
        if error.code != "no_pharmacy_has_stock":
            raise
        return None


def orders_reassign_overdue(*, by=SYSTEM, now: datetime | None = None) -> int:
    """Beat sweep: reassign every order not accepted within the timeout, and every rejected
    order whose reassignment task has not run within a minute (a lost message). Each order
    in its own transaction; returns how many were moved or failed. Only the system (403)."""
    require("pharmacy.reassign", by, message=_("Orders are reassigned by the system, not by hand."))
    now = now or timezone.now()
    due = Order.objects.filter(status=O.PLACED, assigned_at__lte=now - accept_timeout()).values_list("pk", "attempt")
    lost = Order.objects.filter(status=O.REJECTED, updated_at__lte=now - REJECTED_GRACE).values_list("pk", "attempt")
    done = 0
    for order_id, attempt in list(due) + list(lost):
        try:
            done += order_reassign(order_id=order_id, attempt=attempt, by=by, now=now) != "skipped"
        except Exception:
            # One bad order must not stop the sweep of the others; it is retried next sweep.
            logger.exception("reassigning order %s failed", order_id)
    return done
