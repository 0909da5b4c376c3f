"""The pharmacy counter console (柜台): pages for a small pharmacy without till software that
speaks the API. A logged-in member of a pharmacy's staff (pharmacy staff or a pharmacist with
a membership) sees their pharmacy's incoming orders, takes each step of an order, and keeps
the stock.

As thin as the pharmacy API (pharmacy/api/order_views.py, pharmacy/api/views.py): the
pharmacy comes from `pharmacy.access.pharmacy_for`, every order from
`pharmacy.permissions.orders_for_pharmacy` (another pharmacy's order id is a 404), every
step is one verb of `pharmacy.orders`, offered only when `orders.order_allowed_actions`
allows it, and a stock adjustment is `pharmacy.stock.stock_upsert_bulk`. A domain refusal
is shown at the field it names, with the status the API would give.
"""

from __future__ import annotations

import math

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from cloudhospital.api.errors import HTTP_STATUS
from cloudhospital.errors import DomainError
from cloudhospital.identity import mask_mobile
from cloudhospital.web import refusal_into_form
from pharmacy import orders
from pharmacy.access import pharmacy_for
from pharmacy.api.order_serializers import mask_name
from pharmacy.models import LIVE_ORDER_STATUSES, Order, OrderKind, OrderStatus, Stock
from pharmacy.permissions import orders_for_pharmacy
from pharmacy.selectors import orders_for_display
from pharmacy.stock import (
    LOW_STOCK_AVAILABLE,
    LineStatus,
    stock_is_low,
    stock_upsert_bulk,
)
from prescriptions import lifecycle as rx_lifecycle
from prescriptions.models import Drug, PrescriptionStatus

O = OrderStatus
PAGE_SIZE = 30

# The words the counter uses for each state (the model's labels are English-only).
STATUS_LABELS = {
    O.PLACED: gettext_lazy("New: accept or reject"),
    O.REJECTED: gettext_lazy("Rejected"),
    O.ACCEPTED: gettext_lazy("Accepted"),
    O.PREPARING: gettext_lazy("Preparing"),
    O.READY_FOR_PICKUP: gettext_lazy("Ready for pickup"),
    O.PICKED_UP: gettext_lazy("Picked up"),
    O.OUT_FOR_DELIVERY: gettext_lazy("Out for delivery"),
    O.DELIVERED: gettext_lazy("Delivered"),
    O.FAILED: gettext_lazy("Failed"),
    O.CANCELLED: gettext_lazy("Cancelled by the patient"),
    O.WITHDRAWN: gettext_lazy("Withdrawn (prescription voided or expired)"),
}
KIND_LABELS = {OrderKind.PICKUP: gettext_lazy("Pickup"), OrderKind.DELIVERY: gettext_lazy("Delivery")}
PRESCRIPTION_STATUS_LABELS = {
    PrescriptionStatus.DRAFT: gettext_lazy("Draft"),
    PrescriptionStatus.SIGNED: gettext_lazy("Signed, awaiting review"),
    PrescriptionStatus.APPROVED: gettext_lazy("Approved by the review pharmacist"),
    PrescriptionStatus.REJECTED: gettext_lazy("Rejected by the review pharmacist"),
    PrescriptionStatus.DISPENSED: gettext_lazy("Dispensed"),
    PrescriptionStatus.EXPIRED: gettext_lazy("Expired"),
    PrescriptionStatus.VOIDED: gettext_lazy("Voided by the doctor"),
}
# The list's filter: the open orders (default), every order, or one state.
OPEN = "open"
ALL = "all"
STATUS_FILTERS = [(OPEN, gettext_lazy("Open orders")), (ALL, gettext_lazy("All orders")),
                  *STATUS_LABELS.items()]

# What each step's button says, in the order the console shows them.
ACTION_LABELS = {
    "accept": gettext_lazy("Accept the order"),
    "preparing": gettext_lazy("Start preparing"),
    "ready": gettext_lazy("Ready for pickup"),
    "picked-up": gettext_lazy("Hand over"),
    "out-for-delivery": gettext_lazy("Out for delivery"),
    "delivered": gettext_lazy("Delivered"),
    "reject": gettext_lazy("Reject the order"),
}
DONE_MESSAGES = {
    "accept": gettext_lazy("Order %(id)s accepted."),
    "preparing": gettext_lazy("Order %(id)s is being prepared."),
    "ready": gettext_lazy("Order %(id)s is ready for pickup; the patient has been sent the pickup code."),
    "picked-up": gettext_lazy("Order %(id)s handed over; the dispensing is recorded."),
    "out-for-delivery": gettext_lazy("Order %(id)s is out for delivery."),
    "delivered": gettext_lazy("Order %(id)s delivered; the dispensing is recorded."),
    "reject": gettext_lazy("Order %(id)s rejected; it goes to the next pharmacy."),
}


# --- Forms: one per step (the inputs of the API's step serializers) -------------------------
class EmptyForm(forms.Form):
    pass


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for rejecting"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Say why you reject this order: the patient and the next pharmacy see it.")},
    )


class PickUpForm(forms.Form):
    pickup_code = forms.CharField(
        label=gettext_lazy("Pickup code the patient shows"), max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]*"}),
        error_messages={"required": gettext_lazy("Enter the 6-digit pickup code the patient shows.")},
    )
    pharmacist_name = forms.CharField(label=gettext_lazy("Dispensed by (optional)"), max_length=60, required=False)


class DispatchForm(forms.Form):
    courier_name = forms.CharField(label=gettext_lazy("Courier name"), max_length=60)
    courier_phone = forms.CharField(label=gettext_lazy("Courier phone"), max_length=20,
                                    widget=forms.TextInput(attrs={"inputmode": "tel"}))
    tracking_number = forms.CharField(label=gettext_lazy("Tracking number"), max_length=60)


class DeliverForm(forms.Form):
    recipient_name = forms.CharField(label=gettext_lazy("Received by"), max_length=60)
    pharmacist_name = forms.CharField(label=gettext_lazy("Dispensed by (optional)"), max_length=60, required=False)


STEPS = {
    "accept": (EmptyForm, orders.order_accept),
    "reject": (RejectForm, orders.order_reject),
    "preparing": (EmptyForm, orders.order_prepare),
    "ready": (EmptyForm, orders.order_ready),
    "picked-up": (PickUpForm, orders.order_pick_up),
    "out-for-delivery": (DispatchForm, orders.order_dispatch),
    "delivered": (DeliverForm, orders.order_deliver),
}
assert set(STEPS) == set(orders.PHARMACY_ORDER_ACTIONS)  # a new pharmacy step needs its form here


class StockAdjustForm(forms.Form):
    CHANGE, LEVEL = "change", "level"

    drug = forms.ModelChoiceField(
        label=gettext_lazy("Drug"), queryset=Drug.objects.none(), to_field_name="code",
        error_messages={"required": gettext_lazy("Choose the drug."),
                        "invalid_choice": gettext_lazy("Choose a drug from the list.")},
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Adjust by"), widget=forms.RadioSelect, initial=CHANGE,
        choices=[(CHANGE, gettext_lazy("Change (+ received, − removed)")), (LEVEL, gettext_lazy("New level counted"))],
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"), min_value=-1_000_000, max_value=1_000_000,
        error_messages={"required": gettext_lazy("Enter a whole number."),
                        "invalid": gettext_lazy("Enter a whole number, e.g. 30 or -5.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the change"), max_length=100,
        help_text=gettext_lazy("E.g. delivery received, stocktake, damaged, expired."),
        error_messages={"required": gettext_lazy("Say why the stock changes.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["drug"].queryset = Drug.objects.filter(active=True).order_by("code")
        self.fields["drug"].label_from_instance = lambda drug: (
            f"{drug.code} · {drug.display_name} {drug.strength:g}{drug.strength_unit}")


def _mark_errors(form: forms.Form) -> forms.Form:
    """Tie each field's error message to its input for screen readers (aria-describedby)."""
    for name, field in form.fields.items():
        if form.is_bound and name in form.errors:
            bound = form[name]
            field.widget.attrs.update({"aria-invalid": "true", "aria-describedby": f"{bound.auto_id}-errors"})
        elif field.help_text:
            field.widget.attrs.setdefault("aria-describedby", f"{form[name].auto_id}-help")
    return form


# --- Who is at the counter ------------------------------------------------------------------
class _Problem(Exception):
    """A refusal shown as a page of its own, in plain words, with its status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message, self.status = message, status


def counter_view(view):
    """login_required; then the pharmacy the user acts for, found as the pharmacy API finds
    it (ActsForPharmacy: pharmacy_for), is passed to the view. Anyone else gets a 403 page."""

    @login_required
    def wrapped(request, *args, **kwargs):
        try:
            pharmacy = pharmacy_for(user=request.user, auth=None)
            if pharmacy is None:
                raise _Problem(_("The pharmacy counter is for the staff of a pharmacy. Your login does not belong "
                                 "to an active pharmacy."), 403)
            return view(request, pharmacy, *args, **kwargs)
        except _Problem as problem:
            return render(request, "pharmacy/counter/problem.html", {"message": problem.message}, status=problem.status)

    wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
    return wrapped


def _order_or_404(pharmacy, order_id: int) -> Order:
    """The order, if it is with this pharmacy now; any other id is "not found" (404)."""
    order = orders_for_display(orders_for_pharmacy(pharmacy)).filter(pk=order_id).first()
    if order is None:
        raise _Problem(_("This pharmacy has no order with this number."), 404)
    return order


def _deadline(order: Order, now) -> dict | None:
    """The accept-by time of a placed order and the whole minutes left (0 when overdue)."""
    deadline = orders.accept_by(order)
    if deadline is None:
        return None
    seconds = (deadline - now).total_seconds()
    return {"at": deadline, "minutes_left": max(math.ceil(seconds / 60), 0), "overdue": seconds <= 0}


def _row(order: Order, now) -> dict:
    """What the counter shows of an order: the API's masking (name and phone in full only
    for a delivery to the door)."""
    delivery = order.kind == OrderKind.DELIVERY
    return {
        "order": order,
        "status_label": STATUS_LABELS.get(order.status, order.status),
        "kind_label": KIND_LABELS.get(order.kind, order.kind),
        "deadline": _deadline(order, now),
        "patient_name": order.contact_name if delivery else mask_name(order.patient.full_name),
        "patient_phone": order.contact_phone if delivery else mask_mobile(order.contact_phone or ""),
        "delivery": delivery,
        "item_count": sum(line.quantity for line in order.lines.all()),
        "lines": list(order.lines.all()),
    }


# --- Orders ---------------------------------------------------------------------------------
@counter_view
def counter_orders(request, pharmacy):
    """This pharmacy's orders, newest first, filtered by ?status= (open orders by default).
    An htmx poll (every 10 s) asks for the table alone, so new orders appear."""
    chosen = request.GET.get("status") or OPEN
    if chosen not in dict(STATUS_FILTERS):
        raise _Problem(_("Unknown status filter; choose one from the list."), 400)
    queryset = orders_for_display(orders_for_pharmacy(pharmacy)).order_by("-assigned_at", "-id")
    if chosen == OPEN:
        queryset = queryset.filter(status__in=LIVE_ORDER_STATUSES)
    elif chosen != ALL:
        queryset = queryset.filter(status=chosen)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    context = {
        "pharmacy": pharmacy, "rows": [_row(order, now) for order in page], "page": page,
        "status_filters": STATUS_FILTERS, "chosen": chosen, "now": now,
        "poll_url": request.get_full_path(),
    }
    if request.htmx and request.htmx.target == "orders":
        return render(request, "pharmacy/counter/_orders_table.html", context)
    return render(request, "pharmacy/counter/orders.html", context)


def _verification(order: Order) -> dict:
    """The prescription's signature checked now, and whether it may be dispensed: what the
    API's order detail shows (prescription_verify, prescription_check_dispensable)."""
    prescription = order.prescription
    valid, reason = rx_lifecycle.prescription_verify(prescription)
    refusal = ""
    try:
        rx_lifecycle.prescription_check_dispensable(prescription)
    except DomainError as exc:
        refusal = exc.message
    return {
        "valid": valid, "reason": reason, "dispensable": valid and not refusal, "refusal": refusal,
        "status": prescription.status, "status_label": PRESCRIPTION_STATUS_LABELS.get(prescription.status, prescription.status),
        "key_id": prescription.key_id, "content_hash": prescription.content_hash,
    }


def _render_order(request, pharmacy, order: Order, *, forms_by_action: dict | None = None, status: int = 200):
    allowed = orders.order_allowed_actions(order, actor=request.user, actions=orders.PHARMACY_ORDER_ACTIONS)
    steps = []
    for action, label in ACTION_LABELS.items():
        if action not in allowed:
            continue
        form_class, _verb = STEPS[action]
        form = (forms_by_action or {}).get(action) or form_class(prefix=action, auto_id=f"id_{action}_%s")
        steps.append({"action": action, "label": label, "form": _mark_errors(form),
                      "url": reverse("counter-order-step", args=[order.pk, action])})
    # A refused step that the order no longer offers (another clerk moved it on) has no form
    # on the page any more: its message goes above the steps.
    refusals = [str(error) for action, form in (forms_by_action or {}).items() if action not in allowed
                for field_errors in form.errors.values() for error in field_errors]
    return render(request, "pharmacy/counter/order.html", {
        "pharmacy": pharmacy, "row": _row(order, timezone.now()), "order": order,
        "verification": _verification(order), "items": list(order.prescription.items.all()),
        "steps": steps, "refusals": refusals, "attempts_left": orders.pickup_attempts_left(order),
    }, status=status)


@counter_view
def counter_order(request, pharmacy, order_id: int):
    """One order: the prescription's verification, the items, pickup or delivery, and the
    steps the order allows now."""
    return _render_order(request, pharmacy, _order_or_404(pharmacy, order_id))


@require_POST
@counter_view
def counter_order_step(request, pharmacy, order_id: int, action: str):
    """Take one step (an action name of orders.PHARMACY_ORDER_ACTIONS) through the same verb
    as the API. Bad input or a refusal re-renders the order with the message at the field."""
    if action not in STEPS:
        raise _Problem(_("There is no such step for an order."), 404)
    order = _order_or_404(pharmacy, order_id)
    form_class, verb = STEPS[action]
    form = form_class(request.POST, prefix=action, auto_id=f"id_{action}_%s")
    if not form.is_valid():
        return _render_order(request, pharmacy, order, forms_by_action={action: form}, status=400)
    try:
        verb(order=order, pharmacy=pharmacy, by=request.user, **form.cleaned_data)
    except DomainError as exc:
        refusal_into_form(form, exc)
        fresh = orders_for_display(orders_for_pharmacy(pharmacy)).filter(pk=order.pk).first()
        if fresh is None:  # moved to another pharmacy meanwhile: no longer ours to show
            raise _Problem(exc.message, HTTP_STATUS[exc.kind]) from None
        return _render_order(request, pharmacy, fresh, forms_by_action={action: form}, status=HTTP_STATUS[exc.kind])
    messages.success(request, DONE_MESSAGES[action] % {"id": order.pk})
    if action == "reject":
        return redirect("counter-orders")
    return redirect("counter-order", order_id=order.pk)


# --- Stock ----------------------------------------------------------------------------------
def _render_stock(request, pharmacy, form: StockAdjustForm, *, status: int = 200):
    rows = [{"stock": row, "low": stock_is_low(row)}
            for row in Stock.objects.filter(pharmacy=pharmacy).select_related("drug").order_by("drug__code")]
    rows.sort(key=lambda row: not row["low"])  # the low lines first, each group by drug code
    return render(request, "pharmacy/counter/stock.html", {
        "pharmacy": pharmacy, "rows": rows, "form": _mark_errors(form), "low_threshold": LOW_STOCK_AVAILABLE,
        "low_count": sum(1 for row in rows if row["low"]),
    }, status=status)


@require_http_methods(["GET", "POST"])
@counter_view
def counter_stock(request, pharmacy):
    """The pharmacy's stock, the low lines highlighted, and the adjustment form: a change
    (+/-) or a new counted level, with a reason, set through stock_upsert_bulk as the stock
    API's PUT does."""
    if request.method == "GET":
        initial = {"drug": request.GET["drug"]} if request.GET.get("drug") else {}
        return _render_stock(request, pharmacy, StockAdjustForm(initial=initial))
    form = StockAdjustForm(request.POST)
    if not form.is_valid():
        return _render_stock(request, pharmacy, form, status=400)
    drug, quantity = form.cleaned_data["drug"], form.cleaned_data["quantity"]
    level = quantity
    if form.cleaned_data["mode"] == StockAdjustForm.CHANGE:
        current = Stock.objects.filter(pharmacy=pharmacy, drug=drug).values_list("on_hand", flat=True).first() or 0
        level = current + quantity
        if level < 0:
            form.add_error("quantity", _("Only %(current)s on hand: the change cannot take more than that.")
                           % {"current": current})
            return _render_stock(request, pharmacy, form, status=400)
    elif level < 0:
        form.add_error("quantity", _("A counted level is 0 or more."))
        return _render_stock(request, pharmacy, form, status=400)
    try:
        (result,) = stock_upsert_bulk(pharmacy=pharmacy, lines=[(drug.code, level)], by=request.user,
                                      reason=f"counter: {form.cleaned_data['reason']}"[:100])
    except DomainError as exc:
        refusal_into_form(form, exc, fields={"lines": "quantity"})
        return _render_stock(request, pharmacy, form, status=HTTP_STATUS[exc.kind])
    if not result.ok:
        if result.status == LineStatus.BELOW_RESERVED:
            form.add_error("quantity", _("%(reserved)s are reserved for orders; the level cannot go below that.")
                           % {"reserved": result.reserved})
        else:
            form.add_error("drug", _("This drug is not in the formulary."))
        return _render_stock(request, pharmacy, form, status=409 if result.status == LineStatus.BELOW_RESERVED else 400)
    messages.success(request, _("%(drug)s: %(level)s on hand now.") % {"drug": drug.display_name, "level": result.on_hand})
    return redirect(f"{reverse('counter-stock')}?drug={drug.code}")
