"""Fulfilment orders: place, the pharmacy's steps, dispensing, reassignment, cancellation.

TRANSITIONS is the whole state machine; `_transition` is the only place `status` changes and
it refuses any other move with a 409 naming the current state. Every verb locks the order
row first (select_for_update), so a pharmacy accepting while the timeout sweep reassigns,
or two clerks entering the pickup code, are serialised: the second sees the first's result.

Stock follows the order: placing reserves its lines (pharmacy.dispatch.dispatch_reserve, a
conditional UPDATE per line), reassignment and cancellation release them, dispensing
consumes them. Placing locks the prescription row, and a partial unique index allows one
live order per prescription, so two family members ordering at once get one order.

A rejection hands the order to pharmacy.reassignment (after commit, through a Celery task),
which moves it to the next pharmacy or fails it.

Voiding or expiring the prescription withdraws its live order, whatever its step: the
stock goes back and nobody can hand over medicine on a prescription that is no longer
valid. prescriptions.lifecycle calls orders_lock_live before it locks the prescription,
because handing over locks the order and then the prescription: one lock order, no deadlock.
"""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError
from cloudhospital.models import User
from cloudhospital.notifications import notification_send
from pharmacy import dispatch
from pharmacy.models import (
    LIVE_ORDER_STATUSES,
    AssignmentOutcome,
    DispenseRecord,
    Order,
    OrderAssignment,
    OrderKind,
    OrderLine,
    OrderStatus,
    Pharmacy,
)
from pharmacy.stock import stock_consume, stock_release
from prescriptions import lifecycle as rx_lifecycle
from prescriptions.models import Prescription, PrescriptionStatus

O = OrderStatus
# WITHDRAWN is reachable from every live step: the prescription was voided or expired.
TRANSITIONS: dict[str, set[str]] = {
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
}
# Steps that belong to one kind of order only.
KIND_ONLY = {O.READY_FOR_PICKUP: OrderKind.PICKUP, O.PICKED_UP: OrderKind.PICKUP,
             O.OUT_FOR_DELIVERY: OrderKind.DELIVERY, O.DELIVERED: OrderKind.DELIVERY}
TEXT_MAX = 300
NAME_MAX = 60
# How many candidates one dispatch search returns; tried pharmacies are skipped from these.
SEARCH_LIMIT = 10


# --- Helpers ----------------------------------------------------------------------------
def accept_timeout() -> timedelta:
    return timedelta(minutes=settings.ORDER_ACCEPT_TIMEOUT_MINUTES)


def _user(actor) -> User | None:
    """The User to attribute history to: a staff or patient login; None for a pharmacy token."""
    return actor if isinstance(actor, User) else None


def _actor_label(actor) -> str:
    if isinstance(actor, User):
        return actor.full_name or actor.phone
    token = getattr(actor, "token", None)
    if token is not None:
        return f"API token {token.prefix}… ({token.name})"[:120]
    return "system"


def _text(value, *, field: str, required: bool = False, limit: int = TEXT_MAX) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise DomainError(f"{field.replace('_', ' ').capitalize()} is required.", code=f"{field}_required",
                          field=field, status=400)
    if len(value) > limit:
        raise DomainError(f"At most {limit} characters.", code=f"{field}_too_long", field=field, status=400)
    return value


def _locked(order: Order | int) -> Order:
    pk = order.pk if isinstance(order, Order) else order
    # No select_related: PostgreSQL re-checks a FOR UPDATE join after waiting for the lock,
    # and an order whose pharmacy changed meanwhile (a reassignment) would drop out of it.
    return Order.objects.select_for_update().get(pk=pk)


def _locked_for(order: Order | int, pharmacy: Pharmacy) -> Order:
    """Lock the order and check it is with `pharmacy` now (it may have been reassigned
    since the caller read it): another pharmacy's order is not found (404)."""
    locked = _locked(order)
    if locked.pharmacy_id != pharmacy.pk:
        raise DomainError("No such order for this pharmacy.", code="not_found", status=404)
    return locked


def _transition(order: Order, to: str, *, by, reason: str, now: datetime | None = None) -> Order:
    """Move a locked `order` to `to`, or refuse (409 naming the state, or the kind when the
    step belongs to the other kind of order). Callers set the fields that go with the move
    first; this stamps who and why and saves."""
    required_kind = KIND_ONLY.get(to)
    if required_kind and order.kind != required_kind:
        raise DomainError(f"This is a {order.kind} order; it cannot become {to}.", code="wrong_order_kind",
                          status=409)
    if to not in TRANSITIONS[order.status]:
        raise DomainError(f"The order is {order.status}; it cannot become {to}.", code="invalid_transition",
                          status=409)
    order.status = to
    order.updated_at = now or timezone.now()
    stamp(order, by=_user(by), reason=reason or to)
    order.save()
    return order


def _notify(order: Order, event: str, title: str, body: str, *, key_suffix: str = "", data: dict | None = None) -> None:
    """Tell the patient and proxies. The key makes a retried task notify once."""
    notification_send(
        key=f"order:{order.pk}:{event}{key_suffix}", patient=order.patient, kind=f"order_{event}",
        title=title, body=body, data={"order": order.pk, "prescription": order.prescription_id, **(data or {})},
    )


def _webhook_on_commit(order: Order) -> None:
    if not order.pharmacy.webhook_url:
        return
    from pharmacy.tasks import order_webhook_deliver

    order_id, attempt = order.pk, order.attempt
    # robust: an eager run (no broker) must not turn a webhook failure into the order's error.
    transaction.on_commit(lambda: order_webhook_deliver.delay(order_id, attempt), robust=True)


def _reassign_on_commit(order: Order) -> None:
    from pharmacy.tasks import order_reassign_task

    order_id, attempt = order.pk, order.attempt
    # robust: if queueing fails, the beat sweep picks the rejected order up a minute later.
    transaction.on_commit(lambda: order_reassign_task.delay(order_id, attempt), robust=True)


def prescription_items(prescription: Prescription) -> dict[int, int]:
    """The prescription's items as {drug_id: quantity}, lines of the same drug added up."""
    totals: Counter[int] = Counter()
    for item in prescription.items.all():
        totals[item.drug_id] += item.quantity
    return dict(sorted(totals.items()))


def prescription_check_orderable(prescription: Prescription, *, now: datetime | None = None) -> None:
    """Refuse (409 naming the state) unless the prescription is approved and within its
    validity; the expiry task may not have run yet, so the clock decides."""
    if prescription.status != PrescriptionStatus.APPROVED:
        raise DomainError(
            f"The prescription is {prescription.status}; only an approved prescription can be filled.",
            code="prescription_not_orderable", field="prescription", status=409,
        )
    if prescription.expires_at is not None and (now or timezone.now()) >= prescription.expires_at:
        raise DomainError(
            f"The prescription expired at {timezone.localtime(prescription.expires_at):%Y-%m-%d %H:%M}.",
            code="prescription_expired", field="prescription", status=409,
        )


# --- Placing an order ---------------------------------------------------------------------
def order_place(*, by: User, prescription: Prescription, kind: str, pharmacy: Pharmacy | None = None,
                lat=None, lng=None, address: str = "", contact_name: str = "", contact_phone: str = "") -> Order:
    """The patient or a proxy orders an approved prescription: `pickup` at `pharmacy`, or
    `delivery` to `address` at (lat, lng), where the nearest delivering pharmacy whose
    radius covers the address and which has every item gets it, with a promised date.

    The caller has already checked that `by` manages the prescription's patient. Stock is
    reserved in the same transaction; a delivery whose first choice lost a race moves to
    the next candidate. Errors, with nothing reserved: bad kind / coordinates / address (400
    naming the field); prescription not approved or expired, or already with a live order
    (409); pickup pharmacy inactive (422) or short of an item (409 `out_of_stock`); address
    outside every delivery radius (422 `outside_delivery_area`); nobody delivering there has
    everything (409 `no_pharmacy_has_stock`).
    """
    if kind not in OrderKind.values:
        raise DomainError("kind must be pickup or delivery.", code="invalid_kind", field="kind", status=400)
    if kind == OrderKind.PICKUP:
        if pharmacy is None:
            raise DomainError("Choose the pharmacy to pick up from.", code="pharmacy_required", field="pharmacy",
                              status=400)
        if lat is None and lng is None:
            lat, lng = pharmacy.latitude, pharmacy.longitude
        lat, lng = dispatch.coordinates_check(lat, lng)
        address = ""
    else:
        lat, lng = dispatch.coordinates_check(lat, lng)
        address = _text(address, field="address", required=True, limit=200)
    contact_name = _text(contact_name, field="contact_name", limit=NAME_MAX)
    contact_phone = _text(contact_phone, field="contact_phone", limit=20)
    now = timezone.now()
    try:
        with transaction.atomic():
            # The prescription lock serialises orders for one prescription (two family members
            # ordering at once); the partial unique index is the backstop.
            prescription = Prescription.objects.select_for_update().get(pk=prescription.pk)
            prescription_check_orderable(prescription, now=now)
            if Order.objects.filter(prescription=prescription, status__in=LIVE_ORDER_STATUSES).exists():
                raise DomainError("This prescription already has an order in progress.", code="order_exists",
                                  field="prescription", status=409)
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
            _notify(order, "placed", f"药品订单已提交 Order placed at {chosen.name}",
                    f"Your {kind} order for prescription {prescription.pk} went to {chosen.name}{when}. "
                    f"We will tell you when the pharmacy accepts it.")
            _webhook_on_commit(order)
    except IntegrityError:
        raise DomainError("This prescription already has an order in progress.", code="order_exists",
                          field="prescription", status=409) from None
    return order


def _pickup_reserve(pharmacy: Pharmacy, *, items, lat, lng, by) -> Pharmacy:
    if not pharmacy.active:
        raise DomainError(f"{pharmacy.name} is not taking orders.", code="pharmacy_inactive", field="pharmacy",
                          status=422)
    candidate = dispatch.Candidate(pharmacy=pharmacy, distance_km=0.0, opening=None)
    try:
        dispatch.dispatch_reserve(candidates=[candidate], items=items, by=by, reason="order placed")
    except DomainError as error:
        if error.code != "no_pharmacy_has_stock":
            raise
        raise DomainError(
            f"{pharmacy.name} does not have every item of this prescription available any more; "
            f"choose another pharmacy.", code="out_of_stock", field="pharmacy", status=409,
        ) from None
    return pharmacy


def _delivery_reserve(*, items, lat, lng, by) -> Pharmacy:
    candidates = dispatch.delivery_candidates(items=items, lat=lat, lng=lng, limit=SEARCH_LIMIT)
    if not candidates and not dispatch.delivery_area_covered(lat=lat, lng=lng):
        raise DomainError("No pharmacy delivers to this address.", code="outside_delivery_area",
                          field="address", status=422)
    return dispatch.dispatch_reserve(candidates=candidates, items=items, by=by, reason="order placed").pharmacy


# --- The pharmacy's steps -----------------------------------------------------------------
def order_accept(*, order: Order | int, pharmacy: Pharmacy, by) -> Order:
    """The pharmacy accepts a placed order: placed -> accepted. The prescription's signature
    is verified here as well, so an order whose prescription was altered after signing can
    never be accepted. Errors: another pharmacy's order (404), not placed (409), signature
    invalid (409 `signature_invalid`), prescription no longer approved or expired (409)."""
    with transaction.atomic():
        order = _locked_for(order, pharmacy)
        if order.status != O.PLACED:
            _transition(order, O.ACCEPTED, by=by, reason="accepted")  # raises the 409 naming the state
        prescription = order.prescription
        prescription_check_orderable(prescription)
        valid, why = rx_lifecycle.prescription_verify(prescription)
        if not valid:
            raise DomainError(f"The prescription's signature does not verify: {why}", code="signature_invalid",
                              status=409)
        order.accepted_at = timezone.now()
        _transition(order, O.ACCEPTED, by=by, reason=f"accepted by {_actor_label(by)}"[:100], now=order.accepted_at)
        _notify(order, "accepted", f"药房已接单 {order.pharmacy.name} accepted your order",
                f"{order.pharmacy.name} accepted order {order.pk} and is preparing it.")
    return order


def order_reject(*, order: Order | int, pharmacy: Pharmacy, by, reason: str) -> Order:
    """The pharmacy rejects an order it has not handed over, with a reason: -> rejected. A
    Celery task then moves it to the next pharmacy (after commit). Errors: reason missing
    (400), another pharmacy's order (404), a state that cannot be rejected (409)."""
    reason = _text(reason, field="reason", required=True)
    with transaction.atomic():
        order = _locked_for(order, pharmacy)
        order.reject_reason = reason
        _transition(order, O.REJECTED, by=by, reason=f"rejected: {reason}"[:100])
        OrderAssignment.objects.filter(order=order, attempt=order.attempt).update(
            outcome=AssignmentOutcome.REJECTED, ended_at=order.updated_at, reason=reason)
        _reassign_on_commit(order)
    return order


def order_prepare(*, order: Order | int, pharmacy: Pharmacy, by) -> Order:
    """accepted -> preparing. Errors: 404 another pharmacy's order, 409 any other state."""
    with transaction.atomic():
        order = _locked_for(order, pharmacy)
        return _transition(order, O.PREPARING, by=by, reason="preparing")


def order_ready(*, order: Order | int, pharmacy: Pharmacy, by) -> Order:
    """A pickup order is ready: accepted or preparing -> ready_for_pickup, with a new 6-digit
    pickup code that the family gets in a notification and in their order view. Errors: 404
    another pharmacy's order, 409 a delivery order or any other state."""
    with transaction.atomic():
        order = _locked_for(order, pharmacy)
        order.pickup_code = f"{secrets.randbelow(10**6):06d}"
        order.pickup_code_attempts = 0
        order.ready_at = timezone.now()
        _transition(order, O.READY_FOR_PICKUP, by=by, reason="ready for pickup", now=order.ready_at)
        _notify(order, "ready", f"可以取药了 Ready for pickup: code {order.pickup_code}",
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
        order = _locked_for(order, pharmacy)
        if order.status != O.READY_FOR_PICKUP:
            _transition(order, O.PICKED_UP, by=by, reason="picked up")  # raises the 409 naming the state
        if order.pickup_locked_at is not None:
            raise DomainError("Too many wrong pickup codes: this order is locked; hospital staff will follow up.",
                              code="pickup_locked", field="pickup_code", status=409)
        if not (len(code) == 6 and hmac.compare_digest(code.encode(), order.pickup_code.encode())):
            # The count must survive the refusal, so it is saved and the error raised after commit.
            order.pickup_code_attempts += 1
            left = limit - order.pickup_code_attempts
            if left <= 0:
                order.pickup_locked_at = timezone.now()
                order.flagged_for_staff = True
                refusal = DomainError("Wrong pickup code. Too many wrong codes: this order is now locked.",
                                      code="pickup_locked", field="pickup_code", status=409)
            else:
                refusal = DomainError(f"Wrong pickup code; {left} attempt{'s' if left != 1 else ''} left.",
                                      code="wrong_pickup_code", field="pickup_code", status=422)
            stamp(order, by=_user(by), reason="wrong pickup code")
            order.save(update_fields=["pickup_code_attempts", "pickup_locked_at", "flagged_for_staff"])
        else:
            _dispense(order, by=by, pharmacist_name=pharmacist_name, to=O.PICKED_UP)
            _notify(order, "picked_up", "已取药 Medicines picked up",
                    f"Order {order.pk} was picked up at {order.pharmacy.name}.")
    if refusal is not None:
        raise refusal
    return order


def order_dispatch(*, order: Order | int, pharmacy: Pharmacy, by, courier_name: str, courier_phone: str,
                   tracking_number: str) -> Order:
    """A delivery order leaves with a courier: accepted or preparing -> out_for_delivery.
    Errors: courier name, phone or tracking number missing (400), 404 another pharmacy's
    order, 409 a pickup order or any other state."""
    courier_name = _text(courier_name, field="courier_name", required=True, limit=NAME_MAX)
    courier_phone = _text(courier_phone, field="courier_phone", required=True, limit=20)
    tracking_number = _text(tracking_number, field="tracking_number", required=True, limit=60)
    with transaction.atomic():
        order = _locked_for(order, pharmacy)
        order.courier_name, order.courier_phone, order.tracking_number = courier_name, courier_phone, tracking_number
        order.dispatched_at = timezone.now()
        _transition(order, O.OUT_FOR_DELIVERY, by=by, reason="out for delivery", now=order.dispatched_at)
        _notify(order, "out_for_delivery", "药品配送中 Out for delivery",
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
    recipient_name = _text(recipient_name, field="recipient_name", required=True, limit=NAME_MAX)
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + timedelta(minutes=5):
        raise DomainError("The receipt time is in the future.", code="received_at_future", field="received_at",
                          status=400)
    with transaction.atomic():
        order = _locked_for(order, pharmacy)
        if order.dispatched_at and received_at < order.dispatched_at:
            raise DomainError("The receipt time is before the order left the pharmacy.", code="received_at_early",
                              field="received_at", status=400)
        order.recipient_name, order.received_at = recipient_name, received_at
        _dispense(order, by=by, pharmacist_name=pharmacist_name, to=O.DELIVERED)
        _notify(order, "delivered", "药品已送达 Delivered",
                f"Order {order.pk} was delivered to {recipient_name} at {timezone.localtime(received_at):%H:%M}.")
    return order


def _dispense(order: Order, *, by, pharmacist_name: str, to: str) -> DispenseRecord:
    """Hand-over of a locked order: the transition, the dispense record, the reserved stock
    consumed and the prescription marked dispensed, all in the caller's transaction, so a
    prescription that cannot be dispensed any more (voided, expired) leaves nothing done."""
    pharmacist_name = _text(pharmacist_name, field="pharmacist_name", limit=NAME_MAX)
    now = timezone.now()
    order.completed_at = now
    _transition(order, to, by=by, reason=f"{to} ({_actor_label(by)})"[:100], now=now)
    lines = list(order.lines.select_related("drug"))
    items = {line.drug_id: line.quantity for line in lines}
    stock_consume(pharmacy=order.pharmacy, items=items, by=_user(by), reason=f"order {order.pk} dispensed")
    record = DispenseRecord(
        order=order, prescription_id=order.prescription_id, pharmacy=order.pharmacy, pharmacist=_user(by),
        dispensed_by=pharmacist_name or _actor_label(by), dispensed_at=now,
        handover="pickup" if to == O.PICKED_UP else "delivery",
        lines=[{"drug_id": line.drug_id, "drug_code": line.drug.code, "drug_name": str(line.drug),
                "quantity": line.quantity} for line in lines],
    )
    stamp(record, by=_user(by), reason=f"order {order.pk} {to}")
    record.save()
    OrderAssignment.objects.filter(order=order, attempt=order.attempt).update(
        outcome=AssignmentOutcome.COMPLETED, ended_at=now)
    rx_lifecycle.prescription_dispense(prescription=order.prescription_id, by=_user(by),
                                       reason=f"order {order.pk} at {order.pharmacy.name}"[:100])
    return record


# --- The patient's cancellation ------------------------------------------------------------
def order_cancel(*, order: Order | int, by: User) -> Order:
    """The family cancels an order the pharmacy has not started preparing (placed, rejected or
    accepted): the reservation is released. The caller has checked `by` manages the patient.
    Errors: 409 naming any other state."""
    with transaction.atomic():
        order = _locked(order)
        _transition(order, O.CANCELLED, by=by, reason="cancelled by the family")
        _release(order, outcome=AssignmentOutcome.CANCELLED, reason="cancelled", by=by)
    return order


# --- The prescription withdrawn -----------------------------------------------------------
def orders_lock_live(*, prescription_id: int) -> list[Order]:
    """Lock the prescription's live orders (at most one) before the prescription itself."""
    return list(Order.objects.select_for_update().filter(prescription_id=prescription_id,
                                                         status__in=LIVE_ORDER_STATUSES).order_by("pk"))


def orders_withdraw(*, prescription_id: int, by, reason: str) -> list[Order]:
    """Withdraw the live orders of a prescription that was just voided or expired, in the
    caller's transaction: each releases its reservation, closes its assignment, keeps the
    reason in `failure_reason` and tells the family; the pharmacy sees `withdrawn` in its
    order list, and any further step on the order is a 409."""
    withdrawn = orders_lock_live(prescription_id=prescription_id)
    for order in withdrawn:
        order.failure_reason = reason[:TEXT_MAX]
        _transition(order, O.WITHDRAWN, by=by, reason=f"withdrawn: {reason}"[:100])
        _release(order, outcome=AssignmentOutcome.WITHDRAWN, reason="prescription withdrawn", by=by)
        _notify(order, "withdrawn", "药品订单已撤销 Order withdrawn",
                f"{reason} 订单已撤销，药房不会再配药。The order is withdrawn; the pharmacy will not fill it.")
    return withdrawn


def _release(order: Order, *, outcome: str, reason: str, by=None) -> None:
    """Give the current pharmacy's reservation back and close its assignment (if still open)."""
    now = timezone.now()
    stock_release(pharmacy=order.pharmacy, items=order.items, by=_user(by), reason=f"order {order.pk} {reason}"[:100])
    OrderAssignment.objects.filter(order=order, attempt=order.attempt, outcome=AssignmentOutcome.ACTIVE).update(
        outcome=outcome, ended_at=now, reason=reason[:TEXT_MAX])
