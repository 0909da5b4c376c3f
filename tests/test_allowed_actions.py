"""`allowed_actions` on bookings, consultations, prescriptions and orders: what each caller
may do now, from the same checks the verbs run.

The consistency tests are the proof that the list is the truth: for every object type, in
each state of a small matrix and for each actor, every listed action performed through the
API succeeds (2xx) and every unlisted one is refused (4xx). Each action is tried on a fresh
copy of the state, so one action's effect never decides another's answer.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from cloudhospital.models import Role
from cloudhospital.permissions import SYSTEM
from consult import consultation as consult_rules
from consult.booking import BOOKING_ACTIONS
from consult.consultation import CONSULTATION_ACTIONS
from consult.models import Booking, BookingStatus, Slot
from pharmacy import orders
from pharmacy.access import token_create
from pharmacy.models import Order
from prescriptions.lifecycle import PRESCRIPTION_ACTIONS
from prescriptions.models import Prescription
from tests.consult.rooms import make_room
from tests.second_factor import code_for, token_client
from tests.factories import (
    ApprovedPrescriptionFactory,
    ConditionFactory,
    DependantFactory,
    PatientFactory,
    PharmacyFactory,
    PharmacyStaffFactory,
    StockFactory,
    UserFactory,
    pos,
)

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def as_pharmacy(pharmacy) -> APIClient:
    _, plaintext = token_create(pharmacy=pharmacy, name="tests POS", by=SYSTEM)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Pharmacy {plaintext}")
    return client


def listed(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["allowed_actions"]


def assert_list_is_the_truth(client, url: str, listed_actions: list[str], action: str, body: dict) -> None:
    response = client.post(f"{url}{action}/", body, format="json")
    if action in listed_actions:
        assert 200 <= response.status_code < 300, (action, listed_actions, response.status_code, response.content)
    else:
        assert 400 <= response.status_code < 500, (action, listed_actions, response.status_code, response.content)


# --- Bookings ---------------------------------------------------------------------------------
class BookingWorld:
    """A booking of Zhang Lin (his daughter is the proxy) with Dr. Chen, in `status`, its slot
    starting `starts_in` from now; an admin of the doctor's hospital; a free slot of the
    same clinic two days later to reschedule into."""

    def __init__(self, status: str, starts_in: timedelta):
        room = make_room(starts_in=starts_in, checked_in=False, open_consultation=False)
        Booking.objects.filter(pk=room.booking.pk).update(status=status)
        self.booking = room.booking
        self.family, self.doctor = room.proxy, room.doctor_user
        self.admin = UserFactory(role=Role.HOSPITAL_ADMIN)
        room.doctor.hospital.admins.add(self.admin)
        later = timezone.now() + timedelta(days=2)
        self.free_slot = Slot.objects.create(doctor=room.doctor, clinic=room.booking.slot.clinic, starts_at=later,
                                             ends_at=later + timedelta(minutes=15), capacity=5, fee=50)
        self.url = f"/api/bookings/{self.booking.pk}/"

    def actor(self, name):
        return as_user(getattr(self, name))

    def body(self, action: str) -> dict:
        return {"cancel": {"reason": "门诊停诊 clinic closed"}, "reschedule": {"slot": self.free_slot.pk}}.get(action, {})


BOOKING_STATES = {
    "booked, tomorrow": (BookingStatus.BOOKED, timedelta(days=1)),
    "booked, starting in 10 min": (BookingStatus.BOOKED, timedelta(minutes=10)),
    "booked, started 5 min ago": (BookingStatus.BOOKED, timedelta(minutes=-5)),
    "checked in, starting in 5 min": (BookingStatus.CHECKED_IN, timedelta(minutes=5)),
    "checked in, started 5 min ago": (BookingStatus.CHECKED_IN, timedelta(minutes=-5)),
    "in consultation": (BookingStatus.IN_CONSULT, timedelta(minutes=-5)),
    "completed": (BookingStatus.COMPLETED, timedelta(minutes=-30)),
    "cancelled": (BookingStatus.CANCELLED, timedelta(days=1)),
}


@pytest.mark.parametrize("state, actor, expected", [
    ("booked, tomorrow", "family", ["cancel", "reschedule"]),
    ("booked, tomorrow", "doctor", ["cancel", "reschedule"]),
    ("booked, tomorrow", "admin", ["cancel", "reschedule"]),
    ("booked, starting in 10 min", "family", ["check-in"]),  # past the 2 h cut-off, inside the check-in window
    ("booked, starting in 10 min", "doctor", ["cancel", "reschedule"]),
    ("booked, started 5 min ago", "doctor", ["cancel", "reschedule", "no-show"]),
    ("checked in, starting in 5 min", "family", []),
    ("checked in, starting in 5 min", "doctor", ["cancel", "start"]),
    ("checked in, started 5 min ago", "doctor", ["cancel", "start", "no-show"]),
    ("in consultation", "doctor", ["complete"]),
    ("in consultation", "family", []),
    ("completed", "doctor", []),
    ("cancelled", "family", []),
])
def test_booking_allowed_actions_for_each_actor(state, actor, expected):
    world = BookingWorld(*BOOKING_STATES[state])
    assert listed(world.actor(actor), world.url) == expected


@pytest.mark.parametrize("state", list(BOOKING_STATES))
@pytest.mark.parametrize("actor", ["family", "doctor", "admin"])
def test_booking_listed_actions_succeed_and_the_others_are_refused(state, actor):
    for action in BOOKING_ACTIONS:
        world = BookingWorld(*BOOKING_STATES[state])
        client = world.actor(actor)
        assert_list_is_the_truth(client, world.url, listed(client, world.url), action, world.body(action))


def test_booking_list_carries_the_actions_in_constant_queries(family):
    """A page of bookings asks the policy once per response, not once per row."""
    world = BookingWorld(BookingStatus.BOOKED, timedelta(days=1))
    client = world.actor("family")

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/bookings/")
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    one, rows = count()
    assert rows[0]["allowed_actions"] == ["cancel", "reschedule"]
    clinic = world.booking.slot.clinic
    for days in range(3, 8):
        start = timezone.now() + timedelta(days=days)
        slot = Slot.objects.create(doctor=world.booking.slot.doctor, clinic=clinic, starts_at=start,
                                   ends_at=start + timedelta(minutes=15), capacity=5, booked=1, fee=50)
        Booking.objects.create(patient=world.booking.patient, slot=slot, queue_number=1, reason="复诊",
                               booked_by=world.family)
    many, rows = count()
    assert len(rows) == 6 and all(row["allowed_actions"] == ["cancel", "reschedule"] for row in rows)
    assert many == one


# --- Consultations ----------------------------------------------------------------------------
class ConsultationWorld:
    def __init__(self, state: str):
        room = make_room(checked_in=state != "waiting, not checked in")
        self.consultation = room.consultation
        self.family, self.doctor = room.proxy, room.doctor_user
        if state in ("in progress", "ended"):
            consult_rules.consultation_admit(by=self.doctor, consultation=self.consultation)
        if state == "ended":
            consult_rules.consultation_end(by=self.doctor, consultation=self.consultation)
        self.url = f"/api/consultations/{self.consultation.pk}/"
        self.condition = room.patient.conditions.get(icd10_code="I10")

    def actor(self, name):
        # The doctor's token has proved its second factor (cloudhospital.step_up): admitting needs it.
        return token_client(self.doctor) if name == "doctor" else as_user(getattr(self, name))

    def body(self, action: str) -> dict:
        return {"confirm-follow-up": {"condition": self.condition.pk}}.get(action, {})


CONSULTATION_STATES = ["waiting, checked in", "waiting, not checked in", "in progress", "ended"]


@pytest.mark.parametrize("state, actor, expected", [
    ("waiting, checked in", "doctor", ["admit", "confirm-follow-up"]),
    ("waiting, checked in", "family", []),
    # Admitting starts the booking, which is not checked in; the follow-up may be confirmed already.
    ("waiting, not checked in", "doctor", ["confirm-follow-up"]),
    ("in progress", "doctor", ["end", "confirm-follow-up"]),
    ("in progress", "family", []),
    ("ended", "doctor", []),
])
def test_consultation_allowed_actions_for_each_actor(state, actor, expected):
    world = ConsultationWorld(state)
    assert listed(world.actor(actor), world.url) == expected


@pytest.mark.parametrize("state", CONSULTATION_STATES)
@pytest.mark.parametrize("actor", ["family", "doctor"])
def test_consultation_listed_actions_succeed_and_the_others_are_refused(state, actor):
    for action in CONSULTATION_ACTIONS:
        world = ConsultationWorld(state)
        client = world.actor(actor)
        assert_list_is_the_truth(client, world.url, listed(client, world.url), action, world.body(action))


# --- Prescriptions ----------------------------------------------------------------------------
class PrescriptionWorld:
    """A prescription of Dr. Chen's for Zhang Lin in `state`; the family (his daughter) and
    the hospital's review pharmacist."""

    def __init__(self, state: str):
        self.family = PatientFactory().account
        patient = DependantFactory(proxy=self.family)  # his daughter's proxy consent in force
        ConditionFactory(patient=patient, icd10_code="I10")  # a chronic condition: 14 days' supply is no block
        self.pharmacist = UserFactory(role=Role.PHARMACIST)
        status = {"draft": "draft", "signed": "signed", "signed, expired": "signed", "approved": "approved",
                  "rejected": "rejected", "rejected, revised": "rejected", "dispensed": "dispensed"}[state]
        rx = ApprovedPrescriptionFactory(patient=patient, status="approved" if status == "draft" else status)
        if status == "draft":  # as written, not yet signed
            Prescription.objects.filter(pk=rx.pk).update(
                status="draft", signature="", key_id="", content_hash="", signed_content=None, signed_at=None,
                issued_at=None, expires_at=None, reviewed_at=None)
            rx.refresh_from_db()
        self.doctor = rx.doctor
        if state == "signed, expired":
            Prescription.objects.filter(pk=rx.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        if state == "rejected, revised":
            Prescription.objects.create(consultation=rx.consultation, patient=patient, doctor=rx.doctor,
                                        diagnosis=rx.diagnosis, version=2, previous=rx)
        self.prescription = rx
        self.url = f"/api/prescriptions/{rx.pk}/"

    def actor(self, name):
        return as_user(getattr(self, name))

    def body(self, client, action: str) -> dict:
        if action in ("reject", "void"):
            return {"reason": "剂量需调整 dose to adjust"}
        if action == "sign":  # the client's flow: run the checks, give a reason for each warning
            checked = client.post(f"{self.url}check/", {}, format="json")
            required = checked.json().get("overrides_required", []) if checked.status_code == 200 else []
            # Signing needs a code from the doctor's authenticator in the same request (cloudhospital.step_up).
            return {"overrides": {key: "已评估 assessed" for key in required}, "otp": code_for(self.doctor)}
        return {}


PRESCRIPTION_STATES = ["draft", "signed", "signed, expired", "approved", "rejected", "rejected, revised", "dispensed"]


@pytest.mark.parametrize("state, actor, expected", [
    ("draft", "doctor", ["sign", "void"]),
    ("signed", "doctor", []),  # in the review pharmacist's hands
    ("signed", "pharmacist", ["approve", "reject"]),
    ("signed", "family", []),
    ("signed, expired", "pharmacist", ["reject"]),
    ("approved", "doctor", ["void"]),
    ("approved", "family", []),
    ("rejected", "doctor", ["revise"]),
    ("rejected, revised", "doctor", []),
    ("dispensed", "doctor", []),
])
def test_prescription_allowed_actions_for_each_actor(state, actor, expected):
    world = PrescriptionWorld(state)
    assert listed(world.actor(actor), world.url) == expected


@pytest.mark.parametrize("state, actor", [
    (state, actor) for state in PRESCRIPTION_STATES for actor in ("doctor", "family", "pharmacist")
    # Who sees what: the family never a draft, the review pharmacist only the queue.
    if not (state == "draft" and actor == "family") and (actor != "pharmacist" or state.startswith("signed"))
])
def test_prescription_listed_actions_succeed_and_the_others_are_refused(state, actor):
    for action in PRESCRIPTION_ACTIONS:
        world = PrescriptionWorld(state)
        client = world.actor(actor)
        assert_list_is_the_truth(client, world.url, listed(client, world.url), action, world.body(client, action))


def test_review_queue_and_prescription_list_carry_the_actions_in_constant_queries():
    world = PrescriptionWorld("signed")
    client = world.actor("pharmacist")

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/prescriptions/review-queue/")
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    one, rows = count()
    assert rows[0]["allowed_actions"] == ["approve", "reject"]
    for _ in range(4):
        ApprovedPrescriptionFactory(status="signed")
    many, rows = count()
    assert len(rows) == 5 and all(row["allowed_actions"] == ["approve", "reject"] for row in rows)
    assert many == one


# --- Orders -----------------------------------------------------------------------------------
class OrderWorld:
    """Zhang Lin's approved prescription ordered by his daughter (`kind` pickup or delivery)
    and taken by the pharmacy's POS through `steps` to the state under test."""

    STEPS = {
        "placed": [],
        "accepted": [orders.order_accept],
        "preparing": [orders.order_accept, orders.order_prepare],
        "ready for pickup": [orders.order_accept, orders.order_ready],
        "picked up": [orders.order_accept, orders.order_ready, "pick_up"],
        "out for delivery": [orders.order_accept, "dispatch"],
        "cancelled": ["cancel"],
    }

    def __init__(self, kind: str, state: str):
        self.family = PatientFactory().account
        patient = DependantFactory(proxy=self.family)  # his daughter's proxy consent in force
        rx = ApprovedPrescriptionFactory(patient=patient)
        self.pharmacy = PharmacyFactory(delivering=True)
        for item in rx.items.all():
            StockFactory(pharmacy=self.pharmacy, drug=item.drug, on_hand=100)
        if kind == "pickup":
            order = orders.order_place(by=self.family, prescription=rx, kind="pickup", pharmacy=self.pharmacy)
        else:
            order = orders.order_place(by=self.family, prescription=rx, kind="delivery", lat=29.8683, lng=121.5440,
                                       address="海曙区中山西路 2 号", contact_name="张薇", contact_phone="13900000000")
        till = pos(self.pharmacy)
        for step in self.STEPS[state]:
            if step == "cancel":
                orders.order_cancel(order=order, by=self.family)
            elif step == "pick_up":
                code = Order.objects.get(pk=order.pk).pickup_code
                orders.order_pick_up(order=order, pharmacy=self.pharmacy, by=till, pickup_code=code)
            elif step == "dispatch":
                orders.order_dispatch(order=order, pharmacy=self.pharmacy, by=till, courier_name="顺丰",
                                      courier_phone="95338", tracking_number="SF123")
            else:
                step(order=order, pharmacy=self.pharmacy, by=till)
        self.order = Order.objects.get(pk=order.pk)

    def body(self, action: str) -> dict:
        return {
            "reject": {"reason": "缺货 out of stock"},
            "picked-up": {"pickup_code": Order.objects.get(pk=self.order.pk).pickup_code or "000000"},
            "out-for-delivery": {"courier_name": "顺丰", "courier_phone": "95338", "tracking_number": "SF123"},
            "delivered": {"recipient_name": "张薇"},
        }.get(action, {})


ORDER_STATES = [
    ("pickup", "placed"), ("pickup", "accepted"), ("pickup", "preparing"), ("pickup", "ready for pickup"),
    ("pickup", "picked up"), ("pickup", "cancelled"), ("delivery", "accepted"), ("delivery", "out for delivery"),
]


@pytest.mark.parametrize("kind, state, family_expected, pharmacy_expected", [
    ("pickup", "placed", ["cancel"], ["accept", "reject"]),
    ("pickup", "accepted", ["cancel"], ["reject", "preparing", "ready"]),
    ("pickup", "preparing", [], ["reject", "ready"]),
    ("pickup", "ready for pickup", [], ["picked-up"]),
    ("pickup", "picked up", [], []),
    ("delivery", "accepted", ["cancel"], ["reject", "preparing", "out-for-delivery"]),
    ("delivery", "out for delivery", [], ["delivered"]),
])
def test_order_allowed_actions_for_the_family_and_the_pharmacy(kind, state, family_expected, pharmacy_expected):
    world = OrderWorld(kind, state)
    assert listed(as_user(world.family), f"/api/orders/{world.order.pk}/") == family_expected
    pharmacy_url = f"/api/pharmacy/orders/{world.order.pk}/"
    assert listed(as_pharmacy(world.pharmacy), pharmacy_url) == pharmacy_expected
    # A pharmacist's login at the counter sees the same steps as the POS token.
    assert listed(as_user(PharmacyStaffFactory(pharmacy=world.pharmacy).user), pharmacy_url) == pharmacy_expected


def test_order_accept_is_not_offered_once_the_prescription_expired():
    world = OrderWorld("pickup", "placed")
    Prescription.objects.filter(pk=world.order.prescription_id).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert listed(as_pharmacy(world.pharmacy), f"/api/pharmacy/orders/{world.order.pk}/") == ["reject"]


@pytest.mark.parametrize("kind, state", ORDER_STATES)
@pytest.mark.parametrize("side", ["family", "pharmacy"])
def test_order_listed_actions_succeed_and_the_others_are_refused(kind, state, side):
    names = orders.FAMILY_ORDER_ACTIONS if side == "family" else orders.PHARMACY_ORDER_ACTIONS
    for action in names:
        world = OrderWorld(kind, state)
        if side == "family":
            client, url = as_user(world.family), f"/api/orders/{world.order.pk}/"
        else:
            client, url = as_pharmacy(world.pharmacy), f"/api/pharmacy/orders/{world.order.pk}/"
        assert_list_is_the_truth(client, url, listed(client, url), action, world.body(action))


def test_order_lists_carry_the_actions_in_constant_queries():
    world = OrderWorld("pickup", "placed")
    family, pharmacy = as_user(world.family), as_pharmacy(world.pharmacy)

    def count(client, url):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    count(pharmacy, "/api/pharmacy/orders/")  # the token's first use is stamped once
    family_one, _ = count(family, "/api/orders/")
    pharmacy_one, _ = count(pharmacy, "/api/pharmacy/orders/")
    patient = world.order.patient
    for _ in range(4):
        rx = ApprovedPrescriptionFactory(patient=patient)
        for item in rx.items.all():
            StockFactory(pharmacy=world.pharmacy, drug=item.drug, on_hand=100)
        orders.order_place(by=world.family, prescription=rx, kind="pickup", pharmacy=world.pharmacy)
    family_many, rows = count(family, "/api/orders/")
    assert len(rows) == 5 and all(row["allowed_actions"] == ["cancel"] for row in rows)
    pharmacy_many, rows = count(pharmacy, "/api/pharmacy/orders/")
    assert len(rows) == 5 and all(row["allowed_actions"] == ["accept", "reject"] for row in rows)
    assert (family_many, pharmacy_many) == (family_one, pharmacy_one)
