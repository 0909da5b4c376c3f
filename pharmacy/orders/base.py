"""What every step of an order shares: locking the row, checking the caller acts for the
order's pharmacy, cleaning text inputs, telling the family, queueing the pharmacy's webhook
and the reassignment, and giving a reservation back."""

from __future__ import annotations

from collections import Counter

from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from cloudhospital.outbox import outbox_add
from cloudhospital.models import User
from cloudhospital.notifications import notification_send
from cloudhospital.permissions import require, user_or_none
from pharmacy.models import AssignmentOutcome, Order, OrderAssignment, Pharmacy
from pharmacy.permissions import pharmacy_may_see
from pharmacy.stock import stock_release
from prescriptions.models import Prescription

TEXT_MAX = 300
NAME_MAX = 60
# How many candidates one dispatch search returns; tried pharmacies are skipped from these.
SEARCH_LIMIT = 10


def actor_label(actor) -> str:
    """How the dispense record and history name who acted: a person, a pharmacy token, the system."""
    if isinstance(actor, User):
        return actor.full_name or actor.phone
    token = getattr(actor, "token", None)
    if token is not None:
        return f"API token {token.prefix}… ({token.name})"[:120]
    return "system"


def text_clean(value, *, field: str, required: bool = False, limit: int = TEXT_MAX) -> str:
    """A trimmed text input, or 400 naming `field` when required and missing or too long."""
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise DomainError(_("%(field)s is required.") % {"field": field.replace("_", " ").capitalize()},
                          code=f"{field}_required",
                          field=field, kind=Kind.INVALID)
    if len(value) > limit:
        raise DomainError(_("At most %(limit)s characters.") % {"limit": limit}, code=f"{field}_too_long", field=field,
                          kind=Kind.INVALID)
    return value


def order_lock(order: Order | int) -> Order:
    pk = order.pk if isinstance(order, Order) else order
    # No select_related: PostgreSQL re-checks a FOR UPDATE join after waiting for the lock,
    # and an order whose pharmacy changed meanwhile (a reassignment) would drop out of it.
    return Order.objects.select_for_update().get(pk=pk)


def order_lock_for_pharmacy(order: Order | int, *, pharmacy: Pharmacy, by) -> Order:
    """Check `by` acts for `pharmacy` (403), lock the order and check it is with `pharmacy`
    now (it may have been reassigned since the caller read it): another pharmacy's order is
    not found (404)."""
    require("pharmacy.act_for", by, pharmacy, message=_("Only this pharmacy's staff or API token may do this."))
    locked = order_lock(order)
    if not pharmacy_may_see(pharmacy, locked):
        raise DomainError(_("No such order for this pharmacy."), code="not_found", kind=Kind.NOT_FOUND)
    return locked


def order_notify(order: Order, event: str, title: str, body: str, *, key_suffix: str = "",
                 data: dict | None = None) -> None:
    """Tell the patient and proxies. The key makes a retried task notify once."""
    notification_send(
        key=f"order:{order.pk}:{event}{key_suffix}", patient=order.patient, kind=f"order_{event}",
        title=title, body=body, data={"order": order.pk, "prescription": order.prescription_id, **(data or {})},
    )


def webhook_on_commit(order: Order) -> None:
    """Tell the order's pharmacy system of the new order after commit (if it has a webhook)."""
    if not order.pharmacy.webhook_url:
        return
    # A failing webhook is the outbox's to retry; it never becomes the order's error.
    outbox_add("pharmacy.tasks.order_webhook_deliver", order.pk, order.attempt)


def reassign_on_commit(order: Order) -> None:
    outbox_add("pharmacy.tasks.order_reassign_task", order.pk, order.attempt)


def prescription_items(prescription: Prescription) -> dict[int, int]:
    """The prescription's items as {drug_id: quantity}, lines of the same drug added up."""
    totals: Counter[int] = Counter()
    for item in prescription.items.all():
        totals[item.drug_id] += item.quantity
    return dict(sorted(totals.items()))


def order_release(order: Order, *, outcome: str, reason: str, by=None) -> None:
    """Give the current pharmacy's reservation back and close its assignment (if still open)."""
    now = timezone.now()
    stock_release(pharmacy=order.pharmacy, items=order.items, by=user_or_none(by),
                  reason=f"order {order.pk} {reason}"[:100])
    OrderAssignment.objects.filter(order=order, attempt=order.attempt, outcome=AssignmentOutcome.ACTIVE).update(
        outcome=outcome, ended_at=now, reason=reason[:TEXT_MAX])
