"""Placing an order: the family chooses pickup at a pharmacy or home delivery, and the
stock is reserved in the same transaction.

Placing locks the prescription row, and a partial unique index allows one live order per
prescription, so two family members ordering at once get one order.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import User
from cloudhospital.permissions import require
from pharmacy import dispatch
from pharmacy.models import LIVE_ORDER_STATUSES, Order, OrderAssignment, OrderKind, OrderLine, Pharmacy
from pharmacy.orders.base import (
    NAME_MAX,
    SEARCH_LIMIT,
    order_notify,
    prescription_items,
    text_clean,
    webhook_on_commit,
)
from prescriptions.lifecycle import prescription_check_dispensable
from prescriptions.models import Prescription


def order_place(*, by: User, prescription: Prescription, kind: str, pharmacy: Pharmacy | None = None,
                lat=None, lng=None, address: str = "", contact_name: str = "", contact_phone: str = "") -> Order:
    """The patient or a proxy orders an approved prescription: `pickup` at `pharmacy`, or
    `delivery` to `address` at (lat, lng), where the nearest delivering pharmacy whose
    radius covers the address and which has every item gets it, with a promised date.

    Only the patient or a proxy (403, refused before anything else). Stock is
    reserved in the same transaction; a delivery whose first choice lost a race moves to
    the next candidate. Errors, with nothing reserved: bad kind / coordinates / address (400
    naming the field); prescription not approved or expired, or already with a live order
    (409); pickup pharmacy inactive (422) or short of an item (409 `out_of_stock`); address
    outside every delivery radius (422 `outside_delivery_area`); nobody delivering there has
    everything (409 `no_pharmacy_has_stock`).
    """
    require("pharmacy.place_order", by, prescription, message=_("Only the patient or their proxies may order this prescription."))
    if kind not in OrderKind.values:
        raise DomainError(_("kind must be pickup or delivery."), code="invalid_kind", field="kind", kind=Kind.INVALID)
    if kind == OrderKind.PICKUP:
        if pharmacy is None:
            raise DomainError(_("Choose the pharmacy to pick up from."), code="pharmacy_required", field="pharmacy",
                              kind=Kind.INVALID)
        if lat is None and lng is None:
            lat, lng = pharmacy.latitude, pharmacy.longitude
        lat, lng = dispatch.coordinates_check(lat, lng)
        address = ""
    else:
        lat, lng = dispatch.coordinates_check(lat, lng)
        address = text_clean(address, field="address", required=True, limit=200)
    contact_name = text_clean(contact_name, field="contact_name", limit=NAME_MAX)
    contact_phone = text_clean(contact_phone, field="contact_phone", limit=20)
    now = timezone.now()
    try:
        with transaction.atomic():
            # The prescription lock serialises orders for one prescription (two family members
            # ordering at once); the partial unique index is the backstop.
            prescription = Prescription.objects.select_for_update().get(pk=prescription.pk)
            prescription_check_dispensable(prescription, now=now)
            if Order.objects.filter(prescription=prescription, status__in=LIVE_ORDER_STATUSES).exists():
                raise DomainError(_("This prescription already has an order in progress."), code="order_exists",
                                  field="prescription", kind=Kind.CONFLICT)
            items = prescription_items(prescription)
            if kind == OrderKind.PICKUP:
                chosen = _pickup_reserve(pharmacy, items=items, lat=lat, lng=lng, by=by)
                promised = None
            else:
                chosen = _delivery_reserve(items=items, lat=lat, lng=lng, by=by)
                promised = dispatch.promised_delivery_date(pharmacy=chosen, at=now)
            patient = prescription.patient
            order = Order(
                prescription=prescription, patient=patient, placed_by=by, kind=kind, pharmacy=chosen,
                latitude=lat, longitude=lng, delivery_address=address,
                contact_name=contact_name or patient.full_name,
                contact_phone=contact_phone or patient.phone or by.phone,
                promised_date=promised, created_at=now, assigned_at=now, updated_at=now,
            )
            stamp(order, by=by, reason=f"placed ({kind}) at {chosen.name}"[:100])
            order.save()
            OrderLine.objects.bulk_create([OrderLine(order=order, drug_id=d, quantity=q) for d, q in items.items()])
            OrderAssignment.objects.create(order=order, attempt=1, pharmacy=chosen, assigned_at=now)
            when = f", to arrive on {promised:%Y-%m-%d}" if promised else ""
            order_notify(order, "placed", f"药品订单已提交 Order placed at {chosen.name}",
                    f"Your {kind} order for prescription {prescription.pk} went to {chosen.name}{when}. "
                    f"We will tell you when the pharmacy accepts it.")
            webhook_on_commit(order)
    except IntegrityError:
        raise DomainError(_("This prescription already has an order in progress."), code="order_exists",
                          field="prescription", kind=Kind.CONFLICT) from None
    return order


def _pickup_reserve(pharmacy: Pharmacy, *, items, lat, lng, by) -> Pharmacy:
    if not pharmacy.active:
        raise DomainError(_("%(pharmacy)s is not taking orders.") % {"pharmacy": pharmacy.name}, code="pharmacy_inactive",
                          field="pharmacy",
                          kind=Kind.UNPROCESSABLE)
    candidate = dispatch.Candidate(pharmacy=pharmacy, distance_km=0.0, opening=None)
    try:
        dispatch.dispatch_reserve(candidates=[candidate], items=items, by=by, reason="order placed")
    except DomainError as error:
        if error.code != "no_pharmacy_has_stock":
            raise
        raise DomainError(
            _("%(pharmacy)s does not have every item of this prescription available any more; choose another pharmacy.")
            % {"pharmacy": pharmacy.name}, code="out_of_stock", field="pharmacy", kind=Kind.CONFLICT,
        ) from None
    return pharmacy


def _delivery_reserve(*, items, lat, lng, by) -> Pharmacy:
    candidates = dispatch.delivery_candidates(items=items, lat=lat, lng=lng, limit=SEARCH_LIMIT)
    if not candidates and not dispatch.delivery_area_covered(lat=lat, lng=lng):
        raise DomainError(_("No pharmacy delivers to this address."), code="outside_delivery_area",
                          field="address", kind=Kind.UNPROCESSABLE)
    return dispatch.dispatch_reserve(candidates=candidates, items=items, by=by, reason="order placed").pharmacy


