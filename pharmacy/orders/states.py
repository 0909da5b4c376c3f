"""The order's state machine, and the rules that depend on an order's state and clock: when
the pharmacy must accept by, whether the family sees the pickup code, how many code attempts
are left. Serializers and pages ask these; they hold no order rule of their own."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from cloudhospital.states import StateTable, require_move, transition
from pharmacy.models import Order, OrderKind, OrderStatus

O = OrderStatus
# WITHDRAWN is reachable from every live step: the prescription was voided or expired.
ORDER_STATES = StateTable(
    label="order",
    moves={
        O.PLACED: {O.ACCEPTED, O.REJECTED, O.PLACED, O.FAILED, O.CANCELLED, O.WITHDRAWN},
        O.REJECTED: {O.PLACED, O.FAILED, O.CANCELLED, O.WITHDRAWN},
        O.ACCEPTED: {O.PREPARING, O.READY_FOR_PICKUP, O.OUT_FOR_DELIVERY, O.REJECTED, O.CANCELLED, O.WITHDRAWN},
        O.PREPARING: {O.READY_FOR_PICKUP, O.OUT_FOR_DELIVERY, O.REJECTED, O.WITHDRAWN},
        O.READY_FOR_PICKUP: {O.PICKED_UP, O.WITHDRAWN},
        O.OUT_FOR_DELIVERY: {O.DELIVERED, O.WITHDRAWN},
        O.PICKED_UP: set(),
        O.DELIVERED: set(),
        O.FAILED: set(),
        O.CANCELLED: set(),
        O.WITHDRAWN: set(),
    },
    always=("updated_at",),
)
TRANSITIONS = ORDER_STATES.moves
# Steps that belong to one kind of order only.
KIND_ONLY = {O.READY_FOR_PICKUP: OrderKind.PICKUP, O.PICKED_UP: OrderKind.PICKUP,
             O.OUT_FOR_DELIVERY: OrderKind.DELIVERY, O.DELIVERED: OrderKind.DELIVERY}


def order_require_move(order: Order, to: str) -> None:
    """Refuse (409) a move the table does not allow, or a step of the other kind of order."""
    required_kind = KIND_ONLY.get(to)
    if required_kind and order.kind != required_kind:
        raise DomainError(_("This is a %(kind)s order; it cannot become %(status)s.") % {"kind": order.kind, "status": to},
                          code="wrong_order_kind",
                          kind=Kind.CONFLICT)
    require_move(order, to, table=ORDER_STATES)


def order_transition(order: Order, to: str, *, by, reason: str, now: datetime | None = None) -> Order:
    """Move a locked `order` to `to` (cloudhospital.states), after the kind check. Callers
    set the fields that go with the move first."""
    order_require_move(order, to)
    return transition(order, to, table=ORDER_STATES, by=by, reason=reason or to, now=now)


# --- Rules that depend on the order's state and clock ---------------------------------------
def accept_timeout() -> timedelta:
    return timedelta(minutes=settings.ORDER_ACCEPT_TIMEOUT_MINUTES)


def accept_by(order: Order) -> datetime | None:
    """When the pharmacy must have accepted a placed order before it moves on; None otherwise."""
    return order.assigned_at + accept_timeout() if order.status == O.PLACED else None


def accept_overdue(order: Order, now: datetime | None = None) -> bool:
    deadline = accept_by(order)
    return deadline is not None and deadline <= (now or timezone.now())


def pickup_code_for_family(order: Order) -> str | None:
    """The family sees the pickup code only while the order waits at the counter."""
    return order.pickup_code if order.status == O.READY_FOR_PICKUP else None


def pickup_attempts_left(order: Order) -> int | None:
    """Wrong pickup codes the counter may still enter before the order locks (pickup orders)."""
    if order.kind != OrderKind.PICKUP:
        return None
    return max(settings.PICKUP_CODE_MAX_ATTEMPTS - order.pickup_code_attempts, 0)
