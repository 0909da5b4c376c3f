"""Order rules against the database: placing (reservation, refusals, nothing reserved on
failure), the pharmacy's steps and their 409s, pickup codes, dispensing, cancellation,
reassignment and the timeout sweep, notifications."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from cloudhospital.errors import DomainError
from cloudhospital.models import Notification
from pharmacy import orders
from pharmacy.orders import reassignment
from pharmacy.models import AssignmentOutcome, DispenseRecord, Order, OrderAssignment, Stock
from prescriptions import lifecycle as rx_lifecycle
from prescriptions.models import PrescriptionStatus
from tests.factories import PharmacyStaffFactory, pos
from tests.pharmacy.conftest import HOME, north_of_home

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def reserved(pharmacy) -> dict[str, int]:
    return dict(Stock.objects.filter(pharmacy=pharmacy).values_list("drug__code", "reserved"))


def on_hand(pharmacy) -> dict[str, int]:
    return dict(Stock.objects.filter(pharmacy=pharmacy).values_list("drug__code", "on_hand"))


def kinds(patient) -> list[str]:
    return list(Notification.objects.filter(patient=patient).order_by("id").values_list("kind", flat=True))


@pytest.fixture
def proxy(family):
    return family[0].account


@pytest.fixture
def place(rx, proxy):
    def make(**kwargs):
        kwargs.setdefault("prescription", rx)
        return orders.order_place(by=proxy, **kwargs)

    return make


# --- Placing ---------------------------------------------------------------------------------
def test_order_place_pickup_reserves_every_line_and_notifies_the_family(place, stocked, family):
    pharmacy = stocked()
    order = place(kind="pickup", pharmacy=pharmacy)
    assert order.status == "placed" and order.pharmacy == pharmacy and order.attempt == 1
    assert order.items == {Stock.objects.get(pharmacy=pharmacy, drug__code="AML5").drug_id: 14,
                           Stock.objects.get(pharmacy=pharmacy, drug__code="VAL80").drug_id: 28}
    assert reserved(pharmacy) == {"AML5": 14, "VAL80": 28}
    assert OrderAssignment.objects.get(order=order).outcome == AssignmentOutcome.ACTIVE
    assert kinds(family[1]) == ["order_placed"]
    notification = Notification.objects.get(kind="order_placed")
    assert set(notification.recipients.all()) == {family[0].account}


def test_order_place_pickup_refuses_a_pharmacy_short_of_one_item_and_reserves_nothing(place, stocked):
    pharmacy = stocked(val=27)
    with pytest.raises(DomainError) as error:
        place(kind="pickup", pharmacy=pharmacy)
    assert error.value.kind == "conflict" and error.value.code == "out_of_stock" and pharmacy.name in error.value.message
    assert reserved(pharmacy) == {"AML5": 0, "VAL80": 0}
    assert not Order.objects.exists()


def test_order_place_delivery_picks_the_nearest_covering_pharmacy_with_everything(place, stocked):
    far = stocked(delivering=True, latitude=north_of_home(3)[0], longitude=HOME[1])
    near_short = stocked(delivering=True, latitude=north_of_home(1)[0], longitude=HOME[1], aml=5)
    stocked(latitude=HOME[0], longitude=HOME[1])  # nearest, has everything, does not deliver
    order = place(kind="delivery", lat=HOME[0], lng=HOME[1], address="海曙区鼓楼 1 号")
    assert order.pharmacy == far
    assert reserved(far) == {"AML5": 14, "VAL80": 28} and reserved(near_short) == {"AML5": 0, "VAL80": 0}
    assert order.promised_date is not None and order.delivery_address == "海曙区鼓楼 1 号"


def test_order_place_delivery_promises_next_day_before_cutoff_and_day_after_past_it(place, stocked, time_machine):
    stocked(delivering=True, delivery_cutoff=time(18, 0))
    time_machine.move_to(datetime(2025, 3, 10, 17, 59, tzinfo=SHANGHAI), tick=False)
    first = place(kind="delivery", lat=HOME[0], lng=HOME[1], address="鼓楼")
    assert first.promised_date == date(2025, 3, 11)
    orders.order_cancel(order=first, by=first.placed_by)
    time_machine.move_to(datetime(2025, 3, 10, 18, 1, tzinfo=SHANGHAI), tick=False)
    second = place(kind="delivery", lat=HOME[0], lng=HOME[1], address="鼓楼")
    assert second.promised_date == date(2025, 3, 12)


def test_order_place_delivery_outside_every_radius_is_422_and_reserves_nothing(place, stocked):
    pharmacy = stocked(delivering=True)
    with pytest.raises(DomainError) as error:
        place(kind="delivery", lat=31.23, lng=121.47, address="上海市人民广场")
    assert (error.value.kind, error.value.code, error.value.field) == ("unprocessable", "outside_delivery_area", "address")
    assert reserved(pharmacy) == {"AML5": 0, "VAL80": 0}


def test_order_place_delivery_when_nobody_covering_has_everything_is_409(place, stocked):
    stocked(delivering=True, val=3)
    with pytest.raises(DomainError) as error:
        place(kind="delivery", lat=HOME[0], lng=HOME[1], address="鼓楼")
    assert (error.value.kind, error.value.code) == ("conflict", "no_pharmacy_has_stock")


@pytest.mark.parametrize("lat, lng, field", [(91, 121.5, "lat"), (29.8, 181, "lng"), ("north", 121.5, "lat"),
                                             (float("nan"), 121.5, "lat")])
def test_order_place_refuses_coordinates_out_of_range(place, stocked, lat, lng, field):
    stocked(delivering=True)
    with pytest.raises(DomainError) as error:
        place(kind="delivery", lat=lat, lng=lng, address="鼓楼")
    assert (error.value.kind, error.value.field) == ("invalid", field)
    assert not Stock.objects.filter(reserved__gt=0).exists()


def test_order_place_delivery_needs_an_address(place, stocked):
    stocked(delivering=True)
    with pytest.raises(DomainError) as error:
        place(kind="delivery", lat=HOME[0], lng=HOME[1], address="  ")
    assert (error.value.kind, error.value.field) == ("invalid", "address")


@pytest.mark.parametrize("status", ["signed", "rejected", "dispensed", "expired", "voided"])
def test_order_place_refuses_a_prescription_that_is_not_approved(place, stocked, rx, status):
    pharmacy = stocked()
    type(rx).objects.filter(pk=rx.pk).update(status=status)
    with pytest.raises(DomainError) as error:
        place(kind="pickup", pharmacy=pharmacy)
    assert error.value.kind == "conflict" and status in error.value.message
    assert reserved(pharmacy) == {"AML5": 0, "VAL80": 0}


def test_order_place_refuses_an_approved_prescription_past_its_validity(place, stocked, rx):
    pharmacy = stocked()
    type(rx).objects.filter(pk=rx.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(DomainError) as error:
        place(kind="pickup", pharmacy=pharmacy)
    assert error.value.code == "prescription_expired"
    assert reserved(pharmacy) == {"AML5": 0, "VAL80": 0}


def test_order_place_refuses_a_second_live_order_for_the_prescription(place, stocked):
    first, second = stocked(), stocked()
    place(kind="pickup", pharmacy=first)
    with pytest.raises(DomainError) as error:
        place(kind="pickup", pharmacy=second)
    assert (error.value.kind, error.value.code) == ("conflict", "order_exists")
    assert reserved(second) == {"AML5": 0, "VAL80": 0}


def test_database_allows_one_live_order_per_prescription(place, stocked):
    order = place(kind="pickup", pharmacy=stocked())
    duplicate = Order.objects.get(pk=order.pk)
    duplicate.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_order_place_is_allowed_again_after_a_cancellation(place, stocked, proxy):
    pharmacy = stocked()
    orders.order_cancel(order=place(kind="pickup", pharmacy=pharmacy), by=proxy)
    assert reserved(pharmacy) == {"AML5": 0, "VAL80": 0}
    again = place(kind="pickup", pharmacy=pharmacy)
    assert again.status == "placed" and reserved(pharmacy) == {"AML5": 14, "VAL80": 28}


def test_order_place_refuses_an_inactive_pickup_pharmacy(place, stocked):
    pharmacy = stocked(active=False)
    with pytest.raises(DomainError) as error:
        place(kind="pickup", pharmacy=pharmacy)
    assert (error.value.kind, error.value.field) == ("unprocessable", "pharmacy")


# --- The pharmacy's steps ------------------------------------------------------------------
@pytest.fixture
def pickup(place, stocked):
    pharmacy = stocked()
    return place(kind="pickup", pharmacy=pharmacy), pharmacy


@pytest.fixture
def delivery(place, stocked):
    pharmacy = stocked(delivering=True)
    return place(kind="delivery", lat=HOME[0], lng=HOME[1], address="海曙区鼓楼 1 号"), pharmacy


def test_pickup_flow_dispenses_consumes_stock_and_marks_the_prescription_dispensed(pickup, rx, family):
    order, pharmacy = pickup
    pharmacist = PharmacyStaffFactory(pharmacy=pharmacy).user
    orders.order_accept(order=order, pharmacy=pharmacy, by=pharmacist)
    orders.order_prepare(order=order, pharmacy=pharmacy, by=pharmacist)
    ready = orders.order_ready(order=order, pharmacy=pharmacy, by=pharmacist)
    assert len(ready.pickup_code) == 6 and ready.pickup_code.isdigit()
    done = orders.order_pick_up(order=order, pharmacy=pharmacy, by=pharmacist, pickup_code=ready.pickup_code)
    assert done.status == "picked_up" and done.completed_at is not None
    assert on_hand(pharmacy) == {"AML5": 86, "VAL80": 72} and reserved(pharmacy) == {"AML5": 0, "VAL80": 0}
    rx.refresh_from_db()
    assert rx.status == PrescriptionStatus.DISPENSED and rx.dispensed_at is not None
    record = DispenseRecord.objects.get(order=order)
    assert record.pharmacist == pharmacist and record.dispensed_by == pharmacist.full_name
    assert sorted((line["drug_code"], line["quantity"]) for line in record.lines) == [("AML5", 14), ("VAL80", 28)]
    assert kinds(family[1]) == ["order_placed", "order_accepted", "order_ready", "order_picked_up"]
    ready_note = Notification.objects.get(kind="order_ready")
    assert ready.pickup_code in ready_note.title and ready_note.data["pickup_code"] == ready.pickup_code
    assert OrderAssignment.objects.get(order=order).outcome == AssignmentOutcome.COMPLETED


def test_delivery_flow_records_courier_and_recipient(delivery, rx, family):
    order, pharmacy = delivery
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    out = orders.order_dispatch(order=order, pharmacy=pharmacy, by=pos(pharmacy), courier_name="王师傅",
                                courier_phone="13900001111", tracking_number="SF1234567890")
    assert out.status == "out_for_delivery" and out.tracking_number == "SF1234567890"
    received = timezone.now()
    done = orders.order_deliver(order=order, pharmacy=pharmacy, by=pos(pharmacy), recipient_name="张薇", received_at=received,
                                pharmacist_name="李药师")
    assert done.status == "delivered" and done.recipient_name == "张薇" and done.received_at == received
    record = DispenseRecord.objects.get(order=order)
    assert record.pharmacist is None and record.dispensed_by == "李药师" and record.handover == "delivery"
    assert on_hand(pharmacy) == {"AML5": 86, "VAL80": 72}
    rx.refresh_from_db()
    assert rx.status == "dispensed"
    assert kinds(family[1])[-3:] == ["order_accepted", "order_out_for_delivery", "order_delivered"]


@pytest.mark.parametrize("step, expected", [
    (lambda o, p: orders.order_prepare(order=o, pharmacy=p, by=pos(p)), "The order is placed; it cannot become preparing."),
    (lambda o, p: orders.order_ready(order=o, pharmacy=p, by=pos(p)), "The order is placed; it cannot become ready_for_pickup."),
    (lambda o, p: orders.order_pick_up(order=o, pharmacy=p, by=pos(p), pickup_code="123456"), "The order is placed; it cannot become picked_up."),
])
def test_steps_out_of_order_are_409_naming_the_state(pickup, step, expected):
    order, pharmacy = pickup
    with pytest.raises(DomainError) as error:
        step(order, pharmacy)
    assert (error.value.kind, error.value.message) == ("conflict", expected)


def test_delivery_steps_are_refused_on_a_pickup_order(pickup):
    order, pharmacy = pickup
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    with pytest.raises(DomainError) as error:
        orders.order_dispatch(order=order, pharmacy=pharmacy, by=pos(pharmacy), courier_name="a", courier_phone="1",
                              tracking_number="t")
    assert (error.value.kind, error.value.code) == ("conflict", "wrong_order_kind")


def test_pickup_steps_are_refused_on_a_delivery_order(delivery):
    d_order, d_pharmacy = delivery
    orders.order_accept(order=d_order, pharmacy=d_pharmacy, by=pos(d_pharmacy))
    with pytest.raises(DomainError) as error:
        orders.order_ready(order=d_order, pharmacy=d_pharmacy, by=pos(d_pharmacy))
    assert error.value.code == "wrong_order_kind"


def test_accepting_twice_is_409(pickup):
    order, pharmacy = pickup
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    with pytest.raises(DomainError) as error:
        orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    assert error.value.kind == "conflict" and "accepted" in error.value.message


def test_another_pharmacy_cannot_act_on_the_order(pickup, stocked):
    order, _ = pickup
    other = stocked()
    with pytest.raises(DomainError) as error:
        orders.order_accept(order=order, pharmacy=other, by=pos(other))
    assert error.value.kind == "not_found"
    order.refresh_from_db()
    assert order.status == "placed"


def test_accept_refuses_a_prescription_altered_after_signing(pickup, rx):
    order, pharmacy = pickup
    rx.items.filter(position=0).update(quantity=140)
    with pytest.raises(DomainError) as error:
        orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    assert (error.value.kind, error.value.code) == ("conflict", "signature_invalid")
    order.refresh_from_db()
    assert order.status == "placed"


def test_wrong_pickup_codes_are_counted_then_the_order_locks(pickup, settings):
    order, pharmacy = pickup
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    code = orders.order_ready(order=order, pharmacy=pharmacy, by=pos(pharmacy)).pickup_code
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(DomainError) as error:
            orders.order_pick_up(order=order, pharmacy=pharmacy, by=pos(pharmacy), pickup_code=wrong)
        assert (error.value.kind, error.value.code) == ("unprocessable", "wrong_pickup_code")
        assert f"{left} attempt" in error.value.message
    with pytest.raises(DomainError) as error:
        orders.order_pick_up(order=order, pharmacy=pharmacy, by=pos(pharmacy), pickup_code=wrong)
    assert error.value.code == "pickup_locked"
    with pytest.raises(DomainError) as error:
        orders.order_pick_up(order=order, pharmacy=pharmacy, by=pos(pharmacy), pickup_code=code)
    assert (error.value.kind, error.value.code) == ("conflict", "pickup_locked")
    order.refresh_from_db()
    assert order.status == "ready_for_pickup" and order.flagged_for_staff and order.pickup_code_attempts == 5
    assert reserved(pharmacy) == {"AML5": 14, "VAL80": 28}


def test_dispensing_a_prescription_voided_meanwhile_is_refused_and_nothing_consumed(pickup, rx):
    order, pharmacy = pickup
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    code = orders.order_ready(order=order, pharmacy=pharmacy, by=pos(pharmacy)).pickup_code
    type(rx).objects.filter(pk=rx.pk).update(status="voided")
    with pytest.raises(DomainError) as error:
        orders.order_pick_up(order=order, pharmacy=pharmacy, by=pos(pharmacy), pickup_code=code)
    assert error.value.kind == "conflict"
    order.refresh_from_db()
    assert order.status == "ready_for_pickup" and not DispenseRecord.objects.exists()
    assert on_hand(pharmacy) == {"AML5": 100, "VAL80": 100}


def test_deliver_refuses_a_receipt_time_in_the_future(delivery):
    order, pharmacy = delivery
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    orders.order_dispatch(order=order, pharmacy=pharmacy, by=pos(pharmacy), courier_name="王", courier_phone="139",
                          tracking_number="SF1")
    with pytest.raises(DomainError) as error:
        orders.order_deliver(order=order, pharmacy=pharmacy, by=pos(pharmacy), recipient_name="张薇",
                             received_at=timezone.now() + timedelta(hours=2))
    assert (error.value.kind, error.value.field) == ("invalid", "received_at")


def test_cancel_after_preparing_started_is_409(pickup, proxy):
    order, pharmacy = pickup
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    orders.order_prepare(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    with pytest.raises(DomainError) as error:
        orders.order_cancel(order=order, by=proxy)
    assert error.value.kind == "conflict" and "preparing" in error.value.message


# --- The prescription voided or expired -------------------------------------------------------
def _to_step(order, pharmacy, step):
    if step == "placed":
        return
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    if step == "preparing":
        orders.order_prepare(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    elif step == "ready_for_pickup":
        orders.order_ready(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    elif step == "out_for_delivery":
        orders.order_dispatch(order=order, pharmacy=pharmacy, by=pos(pharmacy), courier_name="王", courier_phone="139",
                              tracking_number="SF1")


@pytest.mark.parametrize("kind, step", [("pickup", "placed"), ("pickup", "accepted"), ("pickup", "preparing"),
                                        ("pickup", "ready_for_pickup"), ("delivery", "out_for_delivery")])
def test_voiding_the_prescription_withdraws_its_live_order_and_releases_the_stock(request, rx, family, kind, step):
    order, pharmacy = request.getfixturevalue(kind)
    _to_step(order, pharmacy, step)
    rx_lifecycle.prescription_void(by=rx.doctor, prescription=rx, reason="剂量需调整")
    order.refresh_from_db()
    assert order.status == "withdrawn" and "剂量需调整" in order.failure_reason
    assert reserved(pharmacy) == {"AML5": 0, "VAL80": 0} and on_hand(pharmacy) == {"AML5": 100, "VAL80": 100}
    assert OrderAssignment.objects.get(order=order).outcome == AssignmentOutcome.WITHDRAWN
    assert kinds(family[1])[-1] == "order_withdrawn"
    assert order.history.latest().history_user == rx.doctor
    with pytest.raises(DomainError) as error:  # the pharmacy can take no further step
        orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    assert error.value.kind == "conflict" and "withdrawn" in error.value.message


def test_expiry_withdraws_the_live_order(pickup, rx, family, time_machine):
    order, pharmacy = pickup
    orders.order_accept(order=order, pharmacy=pharmacy, by=pos(pharmacy))
    time_machine.move_to(rx.expires_at + timedelta(minutes=1))
    assert rx_lifecycle.prescriptions_expire_due() == 1
    order.refresh_from_db()
    assert order.status == "withdrawn" and "expired" in order.failure_reason
    assert reserved(pharmacy) == {"AML5": 0, "VAL80": 0}
    assert kinds(family[1])[-1] == "order_withdrawn"


def test_finished_orders_are_left_alone_when_a_prescription_is_voided(pickup, rx, proxy):
    order, pharmacy = pickup
    orders.order_cancel(order=order, by=proxy)
    rx_lifecycle.prescription_void(by=rx.doctor, prescription=rx, reason="停药")
    order.refresh_from_db()
    assert order.status == "cancelled" and order.failure_reason == ""


# --- Reassignment ----------------------------------------------------------------------------
@pytest.fixture
def chain(place, stocked):
    """Four pickup pharmacies 0, 1, 2, 3 km north of home, all stocked; the order goes to the first."""
    pharmacies = [stocked(latitude=north_of_home(km)[0], longitude=HOME[1]) for km in (0, 1, 2, 3)]
    order = place(kind="pickup", pharmacy=pharmacies[0], lat=HOME[0], lng=HOME[1])
    return order, pharmacies


def test_a_rejection_moves_the_order_to_the_next_pharmacy_and_releases_the_first(
        chain, family, django_capture_on_commit_callbacks):
    order, pharmacies = chain
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_reject(order=order, pharmacy=pharmacies[0], by=pos(pharmacies[0]), reason="冷链故障 fridge broken")
    order.refresh_from_db()
    assert (order.status, order.pharmacy, order.attempt, order.reassignments) == ("placed", pharmacies[1], 2, 1)
    assert reserved(pharmacies[0]) == {"AML5": 0, "VAL80": 0}
    assert reserved(pharmacies[1]) == {"AML5": 14, "VAL80": 28}
    first, second = OrderAssignment.objects.filter(order=order)
    assert (first.outcome, first.reason) == ("rejected", "冷链故障 fridge broken")
    assert (second.pharmacy, second.outcome) == (pharmacies[1], "active")
    assert kinds(family[1])[-1] == "order_reassigned"


def test_reassigning_the_same_attempt_twice_moves_the_order_once(chain):
    order, pharmacies = chain
    orders.order_reject(order=order, pharmacy=pharmacies[0], by=pos(pharmacies[0]), reason="no pharmacist on duty")
    assert reassignment.order_reassign(order_id=order.pk, attempt=1) == "reassigned"
    assert reassignment.order_reassign(order_id=order.pk, attempt=1) == "skipped"
    order.refresh_from_db()
    assert order.pharmacy == pharmacies[1] and order.attempt == 2
    assert [reserved(p)["AML5"] for p in pharmacies] == [0, 14, 0, 0]


def test_an_order_not_accepted_in_time_is_swept_to_the_next_pharmacy(chain, settings):
    order, pharmacies = chain
    settings.ORDER_ACCEPT_TIMEOUT_MINUTES = 10
    assert reassignment.orders_reassign_overdue(now=timezone.now() + timedelta(minutes=9)) == 0
    assert reassignment.orders_reassign_overdue(now=timezone.now() + timedelta(minutes=11)) == 1
    order.refresh_from_db()
    assert order.pharmacy == pharmacies[1]
    assert OrderAssignment.objects.get(order=order, attempt=1).outcome == "timed_out"


def test_an_accepted_order_is_not_swept(chain):
    order, pharmacies = chain
    orders.order_accept(order=order, pharmacy=pharmacies[0], by=pos(pharmacies[0]))
    assert reassignment.orders_reassign_overdue(now=timezone.now() + timedelta(hours=1)) == 0
    assert reassignment.order_reassign(order_id=order.pk, attempt=1, now=timezone.now() + timedelta(hours=1)) == "skipped"


def test_after_three_reassignments_the_order_fails_and_is_flagged(chain, family, settings):
    order, pharmacies = chain
    settings.ORDER_MAX_REASSIGNMENTS = 3
    for attempt in (1, 2, 3, 4):
        order.refresh_from_db()
        orders.order_reject(order=order, pharmacy=order.pharmacy, by=pos(order.pharmacy), reason="busy")
        reassignment.order_reassign(order_id=order.pk, attempt=attempt)
    order.refresh_from_db()
    assert order.status == "failed" and order.flagged_for_staff and order.reassignments == 3
    assert [a.pharmacy for a in OrderAssignment.objects.filter(order=order)] == pharmacies
    assert all(reserved(p) == {"AML5": 0, "VAL80": 0} for p in pharmacies)
    assert kinds(family[1]).count("order_reassigned") == 3 and kinds(family[1])[-1] == "order_failed"
    # A failed order is not live: the family can order again.
    assert orders.order_place(by=family[0].account, prescription=order.prescription, kind="pickup",
                              pharmacy=pharmacies[3]).status == "placed"


def test_when_no_other_pharmacy_has_everything_the_order_fails_at_once(place, stocked, family):
    only = stocked()
    stocked(aml=1)
    order = place(kind="pickup", pharmacy=only)
    orders.order_reject(order=order, pharmacy=only, by=pos(only), reason="out of stock really")
    assert reassignment.order_reassign(order_id=order.pk, attempt=1) == "failed"
    order.refresh_from_db()
    assert order.status == "failed" and "no other pharmacy" in order.failure_reason
    assert reserved(only) == {"AML5": 0, "VAL80": 0}


def test_a_delivery_is_reassigned_only_to_pharmacies_covering_the_address(place, stocked):
    first = stocked(delivering=True)
    stocked(latitude=HOME[0], longitude=HOME[1])  # has everything, does not deliver
    second = stocked(delivering=True, latitude=north_of_home(2)[0], longitude=HOME[1])
    order = place(kind="delivery", lat=HOME[0], lng=HOME[1], address="鼓楼")
    assert order.pharmacy == first
    orders.order_reject(order=order, pharmacy=first, by=pos(first), reason="courier ill")
    reassignment.order_reassign(order_id=order.pk, attempt=1)
    order.refresh_from_db()
    assert order.pharmacy == second and order.promised_date is not None


def test_the_old_pharmacy_cannot_act_after_reassignment(chain):
    order, pharmacies = chain
    orders.order_reject(order=order, pharmacy=pharmacies[0], by=pos(pharmacies[0]), reason="busy")
    reassignment.order_reassign(order_id=order.pk, attempt=1)
    with pytest.raises(DomainError) as error:
        orders.order_accept(order=order, pharmacy=pharmacies[0], by=pos(pharmacies[0]))
    assert error.value.kind == "not_found"
    assert orders.order_accept(order=order, pharmacy=pharmacies[1], by=pos(pharmacies[1])).status == "accepted"


def test_reject_needs_a_reason(pickup):
    order, pharmacy = pickup
    with pytest.raises(DomainError) as error:
        orders.order_reject(order=order, pharmacy=pharmacy, by=pos(pharmacy), reason=" ")
    assert (error.value.kind, error.value.field) == ("invalid", "reason")


def test_order_history_records_who_and_why(pickup):
    order, pharmacy = pickup
    staff = PharmacyStaffFactory(pharmacy=pharmacy).user
    orders.order_accept(order=order, pharmacy=pharmacy, by=staff)
    latest = order.history.latest()
    assert latest.status == "accepted" and latest.history_user == staff and "accepted" in latest.history_change_reason
