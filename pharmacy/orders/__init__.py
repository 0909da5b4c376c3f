"""The fulfilment order's whole lifecycle, one package:

- `states`: the state machine, and the rules that depend on an order's state and clock
  (accept-by time, pickup-code visibility, code attempts left);
- `placing`: the family orders pickup or delivery, stock reserved in the same transaction;
- `steps`: the pharmacy's steps, accept to hand-over, with the dispensing recorded;
- `reassignment`: a rejected or overdue order moves to the next pharmacy, or fails;
- `ending`: the family cancels, or a voided or expired prescription withdraws its orders;
- `actions`: which actions may happen now (one check per API action, shared with the verbs);
- `base`: what the steps share (locking, the pharmacy check, notices, queued jobs).

Every verb locks the order row first (select_for_update), so a pharmacy accepting while the
timeout sweep reassigns, or two clerks entering the pickup code, are serialised: the second
sees the first's result. Stock follows the order: placing reserves its lines, reassignment
and cancellation release them, dispensing consumes them.

The public names are re-exported here: `from pharmacy import orders; orders.order_accept(...)`.
"""

from pharmacy.orders.states import (
    ORDER_STATES,
    TRANSITIONS,
    accept_by,
    accept_timeout,
    pickup_attempts_left,
    pickup_code_for_family,
)
from pharmacy.orders.actions import (
    FAMILY_ORDER_ACTIONS,
    ORDER_ACTIONS,
    PHARMACY_ORDER_ACTIONS,
    order_allowed_actions,
)
from pharmacy.orders.base import prescription_items
from pharmacy.orders.placing import order_place
from pharmacy.orders.steps import (
    order_accept,
    order_deliver,
    order_dispatch,
    order_pick_up,
    order_prepare,
    order_ready,
    order_reject,
)
from pharmacy.orders.ending import order_cancel, orders_lock_live, orders_withdraw
from pharmacy.orders.reassignment import order_reassign, orders_reassign_overdue

__all__ = [
    "ORDER_STATES", "TRANSITIONS", "accept_by", "accept_timeout", "pickup_attempts_left", "pickup_code_for_family",
    "ORDER_ACTIONS", "FAMILY_ORDER_ACTIONS", "PHARMACY_ORDER_ACTIONS", "order_allowed_actions",
    "prescription_items", "order_place", "order_accept", "order_deliver", "order_dispatch", "order_pick_up",
    "order_prepare", "order_ready", "order_reject", "order_cancel", "orders_lock_live", "orders_withdraw",
    "order_reassign", "orders_reassign_overdue",
]
