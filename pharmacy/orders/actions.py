"""What may happen to an order now: one check per API action (the family's `cancel`, the
pharmacy's steps `accept` … `delivered`), each raising the refusal its verb would meet.

The verbs (`ending.order_cancel`, `steps.order_*`) run the same check on the locked order
before they act, and `order_allowed_actions` is the checks that pass: the
`allowed_actions` the API shows each side. What depends on the request is the verb's alone:
a reason, the courier, the pickup code — and the Ed25519 signature, which `accept`
verifies when it runs (it rebuilds the signed content; too heavy for every row of a list).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import require
from cloudhospital.states import Check, actions_allowed, refusal_of
from pharmacy.models import Order, OrderStatus
from pharmacy.orders.states import order_require_move
from prescriptions.lifecycle import prescription_check_dispensable

O = OrderStatus


def _check_cancel(order: Order, by, now: datetime) -> None:
    require("pharmacy.cancel_order", by, order, message=_("Only the patient or their proxies may cancel this order."))
    order_require_move(order, O.CANCELLED)


def _fillable(order: Order, by, now: datetime) -> None:
    """The prescription may still be filled: approved and within its validity."""
    prescription_check_dispensable(order.prescription, now=now)


def _dispensing(order: Order, by, now: datetime) -> None:
    """Handing over records the dispensing (prescriptions.lifecycle.prescription_dispense)."""
    require("prescriptions.dispense", by, message=_("Only a pharmacy dispenses prescriptions."))
    prescription_check_dispensable(order.prescription, now=now)


def _pickup_unlocked(order: Order, by, now: datetime) -> None:
    if order.pickup_locked_at is not None:
        raise DomainError(_("Too many wrong pickup codes: this order is locked; hospital staff will follow up."),
                          code="pickup_locked", field="pickup_code", kind=Kind.CONFLICT)


def _step(to: str, *more: Check) -> Check:
    """A pharmacy step into `to`: the caller acts for the pharmacy the order is with now, the
    table (and the order's kind) allows the move, and the step's own checks pass."""

    def check(order: Order, by, now: datetime) -> None:
        require("pharmacy.act_for", by, order.pharmacy, message=_("Only this pharmacy's staff or API token may do this."))
        order_require_move(order, to)
        for extra in more:
            extra(order, by, now)

    return check


ORDER_ACTIONS: dict[str, Check] = {
    "cancel": _check_cancel,
    "accept": _step(O.ACCEPTED, _fillable),
    "reject": _step(O.REJECTED),
    "preparing": _step(O.PREPARING),
    "ready": _step(O.READY_FOR_PICKUP),
    "picked-up": _step(O.PICKED_UP, _pickup_unlocked, _dispensing),
    "out-for-delivery": _step(O.OUT_FOR_DELIVERY),
    "delivered": _step(O.DELIVERED, _dispensing),
}
FAMILY_ORDER_ACTIONS = ("cancel",)
PHARMACY_ORDER_ACTIONS = tuple(name for name in ORDER_ACTIONS if name not in FAMILY_ORDER_ACTIONS)


def order_check(action: str, order: Order, *, actor, at: datetime) -> None:
    """Raise the refusal `actor` meets doing `action` (an ORDER_ACTIONS name) on `order` at `at`."""
    refused = refusal_of(ORDER_ACTIONS[action], order, by=actor, now=at)
    if refused is not None:
        raise refused


def order_allowed_actions(order: Order, *, actor, at: datetime | None = None,
                          actions: Sequence[str] = tuple(ORDER_ACTIONS)) -> list[str]:
    """Of `actions` (default all), the ones `actor` may take on `order` now."""
    return actions_allowed({name: ORDER_ACTIONS[name] for name in actions}, order, by=actor, now=at)
