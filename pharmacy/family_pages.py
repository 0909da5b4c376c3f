"""The family's pages after a visit: the visit summary, getting the medicine (home delivery
or pickup at a pharmacy that has everything), following an order, and the messages.

Thin, as the API is: bookings and consultations are read through consult.selectors
(`booking_for`, `consultation_for`), prescriptions through prescriptions.selectors
(`prescription_for`) from `prescriptions_visible_to`, orders from
`pharmacy.permissions.orders_visible_to`; ordering calls `pharmacy.orders.order_place` and
the pharmacy search `pharmacy.dispatch`, exactly as pharmacy/api/order_views.py does. A
refusal is the domain's message at the field it names, with the status its kind maps to.
"""

from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cloudhospital.errors import DomainError
from cloudhospital.models import Notification
from cloudhospital.web import refusal_into_form
from consult import consultation as consult_rules
from consult.acting import act_for, acting_context, acting_for
from consult.care_pages import family_booking, refusal_status, status_label
from consult.icd10 import icd10_display_name
from consult.models import Consultation, ConsultationOutcome
from consult.permissions import (
    consultation_role,
    consultations_visible_to,
    patients_managed_by,
)
from consult.selectors import consultation_for
from pharmacy import dispatch, orders
from pharmacy.hours import opening_status
from pharmacy.models import LIVE_ORDER_STATUSES, Order, OrderKind, OrderStatus, Pharmacy
from pharmacy.permissions import orders_visible_to, prescriptions_orderable_by
from pharmacy.selectors import orders_for_display
from prescriptions.lifecycle import prescription_check_dispensable
from prescriptions.models import PrescriptionStatus
from prescriptions.permissions import prescriptions_visible_to
from prescriptions.selectors import prescription_for, prescriptions_for_display

# How many pickup pharmacies the page offers, nearest first.
PICKUP_CHOICES = 5
# How often the order page asks for news while the order is live (htmx poll).
ORDER_POLL_SECONDS = 3

# The review status in plain words (a family member is not a pharmacist).
RX_STATUS_WORDS = {
    PrescriptionStatus.CONFIRMING: gettext_lazy("A long-term prescription: please confirm it so it goes to the pharmacist"),
    PrescriptionStatus.SIGNED: gettext_lazy("Waiting for the pharmacist's review"),
    PrescriptionStatus.APPROVED: gettext_lazy("Approved by the pharmacist: you can get the medicine"),
    PrescriptionStatus.REJECTED: gettext_lazy("Not approved by the pharmacist; the doctor will revise it"),
    PrescriptionStatus.DISPENSED: gettext_lazy("Medicine handed over"),
    PrescriptionStatus.EXPIRED: gettext_lazy("Expired: ask the doctor for a new prescription"),
    PrescriptionStatus.VOIDED: gettext_lazy("Withdrawn by the doctor"),
}
O = OrderStatus
ORDER_STATUS_WORDS = {
    O.PLACED: gettext_lazy("Order placed: waiting for the pharmacy to accept it"),
    O.REJECTED: gettext_lazy("The pharmacy could not take it: passing it to another pharmacy"),
    O.ACCEPTED: gettext_lazy("Accepted by the pharmacy"),
    O.PREPARING: gettext_lazy("The pharmacy is preparing the medicine"),
    O.READY_FOR_PICKUP: gettext_lazy("Ready for pickup"),
    O.PICKED_UP: gettext_lazy("Picked up"),
    O.OUT_FOR_DELIVERY: gettext_lazy("Out for delivery"),
    O.DELIVERED: gettext_lazy("Delivered"),
    O.FAILED: gettext_lazy("No pharmacy could fill it: hospital staff will contact you"),
    O.CANCELLED: gettext_lazy("Cancelled"),
    O.WITHDRAWN: gettext_lazy("Withdrawn: the prescription was voided or expired"),
}
# The steps the family follows, in order, with the time each one was reached.
STEPS = {
    OrderKind.DELIVERY: [
        (O.PLACED, gettext_lazy("Placed"), "created_at"),
        (O.ACCEPTED, gettext_lazy("Accepted"), "accepted_at"),
        (O.PREPARING, gettext_lazy("Preparing"), None),
        (O.OUT_FOR_DELIVERY, gettext_lazy("Out for delivery"), "dispatched_at"),
        (O.DELIVERED, gettext_lazy("Delivered"), "completed_at"),
    ],
    OrderKind.PICKUP: [
        (O.PLACED, gettext_lazy("Placed"), "created_at"),
        (O.ACCEPTED, gettext_lazy("Accepted"), "accepted_at"),
        (O.PREPARING, gettext_lazy("Preparing"), None),
        (O.READY_FOR_PICKUP, gettext_lazy("Ready for pickup"), "ready_at"),
        (O.PICKED_UP, gettext_lazy("Picked up"), "completed_at"),
    ],
}


def _follow(request, patient_id: int, *, elsewhere: str):
    """Opening a managed person's visit or order acts for them, so the banner names whom the
    page is about (act_for re-checks the access policy). When the family member has just
    switched the banner to someone else on this very page (it posts back here), they go to
    `elsewhere` for that person instead of being switched back. Returns that redirect, or None.
    Only for a page opened by navigation (GET, not an htmx fragment)."""
    if request.method != "GET" or request.htmx:
        return None
    acting = acting_for(request)
    if acting is not None and acting.pk == patient_id:
        return None
    if urlsplit(request.META.get("HTTP_REFERER", "")).path == request.path:
        return redirect(elsewhere)
    act_for(request, patient_id)
    return None


def _not_found(exc: DomainError) -> Http404:
    return Http404(exc.message)


def _family_prescriptions(user):
    return prescriptions_for_display(prescriptions_visible_to(user).filter(patient__in=patients_managed_by(user).values("pk")))


def _family_orders(user):
    return orders_for_display(orders_visible_to(user))


def _diagnosis(entries) -> list[dict]:
    return [{"code": d.get("code", ""), "name": icd10_display_name(d.get("code", ""), d.get("name", ""))} for d in entries or []]


def _live_orders(prescriptions) -> dict[int, Order]:
    """The latest order of each prescription (live first), one query."""
    latest: dict[int, Order] = {}
    ids = [rx.pk for rx in prescriptions]
    for order in Order.objects.filter(prescription_id__in=ids).order_by("created_at", "id"):
        current = latest.get(order.prescription_id)
        if current is None or current.status not in LIVE_ORDER_STATUSES or order.status in LIVE_ORDER_STATUSES:
            latest[order.prescription_id] = order
    return latest


def _rx_rows(prescriptions) -> list[dict]:
    prescriptions = list(prescriptions)
    latest = _live_orders(prescriptions)
    rows = []
    for rx in prescriptions:
        order = latest.get(rx.pk)
        rows.append({
            "rx": rx,
            "status_words": RX_STATUS_WORDS.get(rx.status, rx.get_status_display()),
            "diagnosis": _diagnosis(rx.diagnosis),
            "order": order,
            "order_words": ORDER_STATUS_WORDS.get(order.status, "") if order else "",
            "orderable": rx.status == PrescriptionStatus.APPROVED and (order is None or order.status not in LIVE_ORDER_STATUSES),
        })
    return rows


# --- Visit summary ---------------------------------------------------------------------------


@login_required
def visit_summary(request, booking_id: int):
    """One visit as the family sees it afterwards: the doctor, the date, the diagnosis, the
    advice and follow-up, and the visit's prescriptions with their review status."""
    booking = family_booking(request, booking_id, purpose="visit_summary")
    moved = _follow(request, booking.patient_id, elsewhere="patient-home")
    if moved:
        return moved
    consultation = Consultation.objects.filter(booking=booking).first()
    clinical, rows = False, []
    if consultation is not None:
        consultation = consultation_for(request.user, consultation.pk, purpose="visit_summary",
                                        queryset=consultations_visible_to(request.user).select_related("booking__slot__doctor__user"))
        clinical = consult_rules.clinical_fields_visible(role=consultation_role(request.user, consultation),
                                                         consultation=consultation)
        rows = _rx_rows(_family_prescriptions(request.user).filter(consultation=consultation).order_by("created_at", "id"))
    context = {
        "booking": booking,
        "booking_status": status_label(booking),
        "doctor": booking.slot.doctor,
        "consultation": consultation,
        "clinical": clinical,
        "diagnosis": _diagnosis(consultation.diagnosis) if clinical else [],
        "follow_up_days": consultation.follow_up_interval_days if clinical else None,
        "referred": clinical and consultation.outcome == ConsultationOutcome.REFERRED_OFFLINE,
        "referral_reason": consultation.referral_reason if clinical else "",
        "prescriptions": rows,
        **acting_context(request),
    }
    return render(request, "pharmacy/family/visit.html", context)


# --- Prescriptions and medicine --------------------------------------------------------------


@login_required
def medicines(request):
    """The acted-for patient's prescriptions (those waiting, those ready to order, the past)
    and their orders."""
    patient = acting_for(request)
    prescriptions = _family_prescriptions(request.user).filter(patient=patient).order_by("-signed_at", "-id") if patient else []
    rows = _rx_rows(prescriptions)
    past_statuses = {PrescriptionStatus.DISPENSED, PrescriptionStatus.EXPIRED, PrescriptionStatus.VOIDED,
                     PrescriptionStatus.REJECTED}
    current = [row for row in rows if row["rx"].status not in past_statuses or
               (row["order"] and row["order"].status in LIVE_ORDER_STATUSES)]
    past = [row for row in rows if row not in current]
    order_list = _family_orders(request.user).filter(patient=patient).order_by("-created_at", "-id")[:50] if patient else []
    return render(request, "pharmacy/family/medicines.html", {
        "current": current, "past": past, "orders": [_order_row(order) for order in order_list], **acting_context(request),
    })


class LocationForm(forms.Form):
    """Where the patient is, to find the pharmacies nearby (filled by the browser's location,
    or by hand)."""

    lat = forms.FloatField(label=gettext_lazy("Latitude"), required=False,
                           widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    lng = forms.FloatField(label=gettext_lazy("Longitude"), required=False,
                           widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))


class DeliveryForm(forms.Form):
    address = forms.CharField(label=gettext_lazy("Delivery address"), max_length=200, required=False,
                              widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "street-address"}))
    contact_name = forms.CharField(label=gettext_lazy("Who receives it"), max_length=60, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "name"}))
    contact_phone = forms.CharField(label=gettext_lazy("Contact phone"), max_length=20, required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)


class PickupForm(forms.Form):
    pharmacy = forms.IntegerField(min_value=1)
    lat = forms.FloatField(required=False)
    lng = forms.FloatField(required=False)


def _orderable_prescription(request, prescription_id):
    """A prescription of the family's that they may order (the API's queryset), read through
    `prescription_for`; anyone else's id is a 404."""
    try:
        rx = prescription_for(request.user, prescription_id, purpose="medicine_order",
                              queryset=prescriptions_for_display(prescriptions_orderable_by(request.user)))
    except DomainError as exc:
        raise _not_found(exc) from None
    return rx


def _where(request, rx, data) -> tuple[float | None, float | None]:
    """The location the page searches from: what was sent, else the patient's last order's."""
    location = LocationForm(data)
    if location.is_valid() and location.cleaned_data["lat"] is not None and location.cleaned_data["lng"] is not None:
        return location.cleaned_data["lat"], location.cleaned_data["lng"]
    last = orders_visible_to(request.user).filter(patient=rx.patient).order_by("-created_at", "-id").first()
    return (last.latitude, last.longitude) if last else (None, None)


def _options(request, rx, lat, lng) -> dict:
    """What the family can choose from (lat, lng): the pharmacies nearby with every item,
    and whether and when a delivery there would come. Refusals become messages."""
    context = {"lat": lat, "lng": lng, "located": lat is not None and lng is not None, "pickup": [],
               "delivery_date": None, "delivery_refusal": "", "pickup_refusal": "", "location_refusal": ""}
    if not context["located"]:
        return context
    items = orders.prescription_items(rx)
    try:
        context["pickup"] = dispatch.pharmacies_with_stock(items=items, lat=lat, lng=lng, limit=PICKUP_CHOICES)
        delivering = dispatch.delivery_candidates(items=items, lat=lat, lng=lng, limit=1)
    except DomainError as exc:
        context["location_refusal"] = exc.message
        context["located"] = False
        return context
    if not context["pickup"]:
        context["pickup_refusal"] = _("No pharmacy nearby has every item of this prescription in stock right now.")
    if delivering:
        context["delivery_date"] = dispatch.promised_delivery_date(pharmacy=delivering[0].pharmacy)
    elif not dispatch.delivery_area_covered(lat=lat, lng=lng):
        context["delivery_refusal"] = _("No pharmacy delivers to this address.")
    else:
        context["delivery_refusal"] = _("No pharmacy that delivers here has every item of this prescription in stock right now.")
    return context


def _order_page(request, rx, *, delivery_form=None, pickup_error="", lat=None, lng=None, refusal="", status=200):
    if lat is None or lng is None:
        lat, lng = _where(request, rx, request.GET)
    dispensable = True
    try:
        prescription_check_dispensable(rx)
    except DomainError as exc:
        dispensable, refusal = False, refusal or exc.message
        status = status if status != 200 else refusal_status(exc)
    live = Order.objects.filter(prescription=rx, status__in=LIVE_ORDER_STATUSES).first()
    patient = rx.patient
    delivery_form = delivery_form or DeliveryForm(initial={
        "address": patient.address, "contact_name": patient.full_name, "contact_phone": patient.phone or request.user.phone, "lat": lat, "lng": lng,
    })
    context = {
        "rx": rx, "items": list(rx.items.all()), "status_words": RX_STATUS_WORDS.get(rx.status, rx.get_status_display()),
        "refusal": refusal, "live_order": live, "delivery_form": delivery_form, "pickup_error": pickup_error,
        "location_form": LocationForm(initial={"lat": lat, "lng": lng}),
        "dispensable": dispensable and live is None,
        **(_options(request, rx, lat, lng) if dispensable and live is None else {}), **acting_context(request),
    }
    template = "pharmacy/family/_options.html" if request.htmx and request.method == "GET" else "pharmacy/family/order_new.html"
    return render(request, template, context, status=status)


@login_required
def medicine_order(request, prescription_id: int):
    """Get the medicine of an approved prescription: home delivery (the address prefilled,
    the promised date the domain computes) or pickup at one of the nearest pharmacies that
    have every item. POST places the order (pharmacy.orders.order_place, as the API)."""
    rx = _orderable_prescription(request, prescription_id)
    moved = _follow(request, rx.patient_id, elsewhere="family-medicines")
    if moved:
        return moved
    if request.method != "POST":
        return _order_page(request, rx)
    kind = request.POST.get("kind")
    if kind == OrderKind.PICKUP:
        form = PickupForm(request.POST)
        if not form.is_valid():
            return _order_page(request, rx, pickup_error=_("Choose the pharmacy to pick up from."), status=400)
        pharmacy = Pharmacy.objects.filter(pk=form.cleaned_data["pharmacy"]).first()
        if pharmacy is None:
            return _order_page(request, rx, pickup_error=_("No pharmacy with this id."), status=400)
        lat, lng = form.cleaned_data["lat"], form.cleaned_data["lng"]
        try:
            order = orders.order_place(by=request.user, prescription=rx, kind=OrderKind.PICKUP, pharmacy=pharmacy,
                                       lat=lat, lng=lng)
        except DomainError as exc:
            return _order_page(request, rx, pickup_error=exc.message, lat=lat, lng=lng, status=refusal_status(exc))
    elif kind == OrderKind.DELIVERY:
        form = DeliveryForm(request.POST)
        if not form.is_valid():
            return _order_page(request, rx, delivery_form=form, status=400)
        data = form.cleaned_data
        try:
            order = orders.order_place(by=request.user, prescription=rx, kind=OrderKind.DELIVERY, lat=data["lat"],
                                       lng=data["lng"], address=data["address"], contact_name=data["contact_name"],
                                       contact_phone=data["contact_phone"])
        except DomainError as exc:
            lat, lng = data["lat"], data["lng"]  # before the refusal takes the field out of cleaned_data
            if exc.field in ("lat", "lng"):
                form.add_error(None, _("We do not know where to deliver yet: use your location or enter it by hand, then try again."))
            refusal_into_form(form, exc)
            return _order_page(request, rx, delivery_form=form, lat=lat, lng=lng, status=refusal_status(exc))
    else:
        return _order_page(request, rx, refusal=_("Choose home delivery or pickup at a pharmacy."), status=400)
    messages.success(request, _("Order placed."))
    return redirect("family-order", order_id=order.pk)


# --- Following an order ----------------------------------------------------------------------


def _order_row(order: Order) -> dict:
    return {"order": order, "words": ORDER_STATUS_WORDS.get(order.status, order.get_status_display()),
            "live": order.status in LIVE_ORDER_STATUSES}


def _progress(order: Order) -> list[dict]:
    steps = STEPS[order.kind]
    statuses = [status for status, _label, _stamp in steps]
    # A rejected order waits for its next pharmacy: back at the first step.
    reached = statuses.index(order.status) if order.status in statuses else 0
    finished = order.status in (O.DELIVERED, O.PICKED_UP)
    return [
        {"status": status, "label": label, "at": getattr(order, stamp) if stamp else None, "current": i == reached,
         "state": "done" if i < reached or (finished and i == reached) else ("current" if i == reached else "todo")}
        for i, (status, label, stamp) in enumerate(steps)
    ]


def _order_context(request, order: Order) -> dict:
    return {
        **_order_row(order),
        "steps": _progress(order) if order.status not in (O.FAILED, O.CANCELLED, O.WITHDRAWN) else [],
        "pickup_code": orders.pickup_code_for_family(order),
        "may_cancel": "cancel" in orders.order_allowed_actions(order, actor=request.user, actions=orders.FAMILY_ORDER_ACTIONS),
        "poll_seconds": ORDER_POLL_SECONDS,
        "version": f"{order.updated_at.timestamp():.6f}",
        "opening": opening_status(order.pharmacy.opening_hours.all()) if order.kind == OrderKind.PICKUP else None,
    }


def _family_order(request, order_id) -> Order:
    order = _family_orders(request.user).filter(pk=order_id).first() if str(order_id).isdigit() else None
    if order is None:
        raise Http404(_("No order with this id among yours."))
    return order


@login_required
def order_detail(request, order_id: int):
    """One order's progress, refreshed by an htmx poll while it is live; the pickup code large
    once it is ready at the counter."""
    order = _family_order(request, order_id)
    moved = _follow(request, order.patient_id, elsewhere="family-medicines")
    if moved:
        return moved
    context = _order_context(request, order)
    if request.htmx:
        if request.GET.get("seen") == context["version"]:
            # Nothing new since the page's copy: no swap (htmx ignores a 204), so a screen
            # reader is not told the same again and the focus stays where it was.
            return HttpResponse(status=204)
        return render(request, "pharmacy/family/_order_progress.html", context)
    return render(request, "pharmacy/family/order.html", {**context, **acting_context(request)})


@login_required
@require_POST
def order_cancel(request, order_id: int):
    """Cancel before the pharmacy starts preparing (pharmacy.orders.order_cancel)."""
    order = _family_order(request, order_id)
    try:
        orders.order_cancel(order=order, by=request.user)
    except DomainError as exc:
        context = {**_order_context(request, order), **acting_context(request), "refusal": exc.message}
        return render(request, "pharmacy/family/order.html", context, status=refusal_status(exc))
    messages.success(request, _("Order cancelled."))
    return redirect("family-order", order_id=order.pk)


# --- Messages --------------------------------------------------------------------------------


@login_required
def notifications(request):
    """Every notification addressed to this login: about themself and the people they act
    for (the API's list). The model keeps no read state, so there is nothing to mark."""
    queryset = Notification.objects.filter(recipients=request.user).select_related("patient").order_by("-created_at", "-id")
    page = Paginator(queryset, 30).get_page(request.GET.get("page"))
    return render(request, "pharmacy/family/notifications.html", {"page": page, "now": timezone.now(),
                                                                   **acting_context(request)})

