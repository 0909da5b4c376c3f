"""Every write function that takes `by=` asks the access policy itself: called with a wrong
actor (a stranger's login, another doctor, a pharmacy that does not have the order, no
actor at all, or the system where no rule names it) it refuses, whatever its caller checked.

A completeness check lists every such function in the domain modules, so a new one without
a case here fails the suite.
"""

import inspect
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import Role
from cloudhospital.permissions import SYSTEM
from consult import booking, consultation, follow_up, records, schedules
from consult.models import BookingStatus, ProxyLink, ScheduleTemplate
from pharmacy import access, orders, stock
from pharmacy.orders import base as order_base
from pharmacy.orders import ending, placing, reassignment, steps
from prescriptions import lifecycle, signing
from prescriptions.models import SigningKey
from tests.consult.rooms import make_room
from tests.factories import (
    AllergyFactory,
    BloodPressureFactory,
    ApprovedPrescriptionFactory,
    ConditionFactory,
    DoctorFactory,
    MedicationFactory,
    PatientFactory,
    PharmacyFactory,
    PharmacyStaffFactory,
    SlotFactory,
    StockFactory,
    UserFactory,
    pos,
)

pytestmark = pytest.mark.django_db


class World:
    """Dr. Chen's checked-in patient Zhang Lin (his daughter is the proxy), an open
    consultation, a draft prescription, an approved one ordered for pickup, and outsiders."""

    def __init__(self):
        room = make_room()
        self.room = room
        self.doctor, self.doctor_profile = room.doctor_user, room.doctor
        self.patient, self.proxy, self.booking, self.consultation = room.patient, room.proxy, room.booking, room.consultation
        self.stranger = PatientFactory().account
        self.other_doctor = DoctorFactory().user
        self.pharmacist = UserFactory(role=Role.PHARMACIST)
        self.condition = ConditionFactory(patient=self.patient, icd10_code="E11")
        self.allergy = AllergyFactory(patient=self.patient)
        self.medication = MedicationFactory(patient=self.patient)
        self.reading = BloodPressureFactory(patient=self.patient)
        self.link = ProxyLink.objects.get(patient=self.patient, proxy=self.proxy)
        self.slot = SlotFactory(doctor=self.doctor_profile, clinic=self.booking.slot.clinic,
                                starts_at=self.booking.slot.starts_at + timedelta(hours=1))
        self.template = ScheduleTemplate.objects.create(
            doctor=self.doctor_profile, clinic=self.booking.slot.clinic, weekday=0, start_time=time(8),
            end_time=time(9), slot_minutes=15, capacity=1, fee=Decimal("20"))
        self.leave = schedules.leave_block_create(by=self.doctor, doctor=self.doctor_profile,
                                                  starts_on=date.today() + timedelta(days=30),
                                                  ends_on=date.today() + timedelta(days=31), reason="conference").leave
        self.approved = ApprovedPrescriptionFactory(patient=self.patient)
        drug = self.approved.items.get().drug
        self.pharmacy = PharmacyFactory()
        StockFactory(pharmacy=self.pharmacy, drug=drug, on_hand=100)
        self.order = orders.order_place(by=self.proxy, prescription=self.approved, kind="pickup", pharmacy=self.pharmacy)
        self.other_pharmacy = PharmacyFactory()
        self.key = SigningKey.objects.filter(doctor=self.approved.doctor).first()

    def actors(self, *names):
        return {name: self.actor(name) for name in names}

    def actor(self, name):
        return {
            "nobody": None, "system": SYSTEM, "stranger": self.stranger, "other_doctor": self.other_doctor,
            "pharmacist": self.pharmacist, "proxy": self.proxy, "doctor": self.doctor,
            "other_pharmacy_pos": pos(self.other_pharmacy) if name == "other_pharmacy_pos" else None,
        }[name]


def _png():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")


def _evidence(world):
    """An evidence file the family attached to the world's condition (consult.follow_up)."""
    return follow_up.evidence_add(by=world.proxy, condition=world.condition, file=_png())


def _awaiting_confirmation(prescription):
    """The prescription as a long-term one beyond 4 weeks leaves signing: awaiting the patient's
    confirmation (长期处方管理规范（试行）), so the refusal is about who confirms, not the state."""
    from prescriptions.models import PrescriptionStatus

    type(prescription).objects.filter(pk=prescription.pk).update(status=PrescriptionStatus.CONFIRMING)
    prescription.refresh_from_db()
    return prescription


# (function, call(world, actor), wrong actors, expected kind)
CASES = {
    "records.dependant_add": (
        records.dependant_add,
        lambda w, a: records.dependant_add(proxy=a, full_name="张三", id_number="330203195001011236", relationship="parent"),
        ("nobody", "system"), Kind.FORBIDDEN),
    "records.proxy_add": (
        records.proxy_add,
        lambda w, a: records.proxy_add(by=a, patient=w.patient, phone=w.stranger.phone, relationship="child"),
        ("nobody", "system", "stranger", "doctor"), Kind.FORBIDDEN),
    "records.proxy_remove": (
        records.proxy_remove, lambda w, a: records.proxy_remove(by=a, link=w.link),
        ("nobody", "stranger", "doctor"), Kind.FORBIDDEN),
    "records.patient_update": (
        records.patient_update, lambda w, a: records.patient_update(by=a, patient=w.patient, address="x"),
        ("nobody", "system", "stranger", "doctor"), Kind.FORBIDDEN),
    "records.condition_add": (
        records.condition_add, lambda w, a: records.condition_add(by=a, patient=w.patient, icd10_code="I10"),
        ("nobody", "system", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "records.condition_update": (
        records.condition_update, lambda w, a: records.condition_update(by=a, condition=w.condition, status="resolved"),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "records.allergy_add": (
        records.allergy_add, lambda w, a: records.allergy_add(by=a, patient=w.patient, substance="Penicillin"),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "records.allergy_update": (
        records.allergy_update, lambda w, a: records.allergy_update(by=a, allergy=w.allergy, reaction="rash"),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "records.medication_add": (
        records.medication_add, lambda w, a: records.medication_add(by=a, patient=w.patient, name="Aspirin"),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "records.medication_update": (
        records.medication_update, lambda w, a: records.medication_update(by=a, medication=w.medication, active=False),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "records.observation_add": (
        records.observation_add,
        lambda w, a: records.observation_add(by=a, patient=w.patient, kind="blood_pressure", systolic=130,
                                             diastolic=80, measured_at=timezone.now()),
        ("nobody", "system", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "records.observation_mark_entered_in_error": (
        records.observation_mark_entered_in_error,
        lambda w, a: records.observation_mark_entered_in_error(by=a, observation=w.reading, reason="typo"),
        ("nobody", "system", "stranger", "other_doctor"), Kind.FORBIDDEN),
    # A patient one does not manage reads as unknown (400), so ids cannot be probed.
    "booking.booking_create": (
        booking.booking_create,
        lambda w, a: booking.booking_create(by=a, patient=w.patient, slot=w.slot, reason="复诊"),
        ("nobody", "system", "stranger", "doctor"), Kind.INVALID),
    "booking.booking_cancel": (
        booking.booking_cancel, lambda w, a: booking.booking_cancel(by=a, booking=w.booking, reason="x"),
        ("nobody", "system", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "booking.booking_reschedule": (
        booking.booking_reschedule, lambda w, a: booking.booking_reschedule(by=a, booking=w.booking, new_slot=w.slot),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "booking.booking_check_in": (
        booking.booking_check_in, lambda w, a: booking.booking_check_in(by=a, booking=w.booking),
        ("nobody", "system", "stranger", "doctor"), Kind.FORBIDDEN),
    "booking.booking_start": (
        booking.booking_start, lambda w, a: booking.booking_start(by=a, booking=w.booking),
        ("nobody", "system", "stranger", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "booking.booking_complete": (
        booking.booking_complete, lambda w, a: booking.booking_complete(by=a, booking=w.booking),
        ("nobody", "system", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "booking.booking_mark_no_show": (
        booking.booking_mark_no_show, lambda w, a: booking.booking_mark_no_show(by=a, booking=w.booking),
        ("nobody", "stranger", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "consultation.consultation_open": (
        consultation.consultation_open, lambda w, a: consultation.consultation_open(by=a, booking=w.booking),
        ("nobody", "system", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "consultation.consultation_admit": (
        consultation.consultation_admit, lambda w, a: consultation.consultation_admit(by=a, consultation=w.consultation),
        ("nobody", "system", "stranger", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "consultation.consultation_record": (
        consultation.consultation_record,
        lambda w, a: consultation.consultation_record(by=a, consultation=w.consultation, notes="x"),
        ("nobody", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "consultation.consultation_end": (
        consultation.consultation_end, lambda w, a: consultation.consultation_end(by=a, consultation=w.consultation),
        ("nobody", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "consultation.consultation_refer_offline": (
        consultation.consultation_refer_offline,
        lambda w, a: consultation.consultation_refer_offline(by=a, consultation=w.consultation, reason="needs an exam",
                                                             department="心内科"),
        ("nobody", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "follow_up.follow_up_confirm": (
        follow_up.follow_up_confirm,
        lambda w, a: follow_up.follow_up_confirm(by=a, consultation=w.consultation, condition=w.condition),
        ("nobody", "system", "stranger", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "follow_up.confirm_check": (
        follow_up.confirm_check, lambda w, a: follow_up.confirm_check(w.consultation, a, timezone.now()),
        ("nobody", "system", "stranger", "proxy", "other_doctor"), Kind.FORBIDDEN),
    "follow_up.evidence_add": (
        follow_up.evidence_add,
        lambda w, a: follow_up.evidence_add(by=a, condition=w.condition, file=_png()),
        ("nobody", "system", "stranger", "doctor", "other_doctor"), Kind.FORBIDDEN),
    "follow_up.evidence_open": (
        follow_up.evidence_open,
        lambda w, a: follow_up.evidence_open(by=a, patient_id=w.patient.pk, evidence_id=_evidence(w).pk),
        ("nobody", "stranger", "other_doctor"), Kind.NOT_FOUND),
    "consultation.chat_post": (
        consultation.chat_post,
        lambda w, a: consultation.chat_post(by=a, consultation=w.consultation, role="doctor", text="hi"),
        ("nobody", "system", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "schedules.schedule_template_create": (
        schedules.schedule_template_create,
        lambda w, a: schedules.schedule_template_create(by=a, doctor=w.doctor_profile, clinic=w.booking.slot.clinic,
                                                        weekday=1, start_time=time(8), end_time=time(9)),
        ("nobody", "system", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "schedules.schedule_template_update": (
        schedules.schedule_template_update,
        lambda w, a: schedules.schedule_template_update(by=a, template=w.template, capacity=2),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "schedules.schedule_template_delete": (
        schedules.schedule_template_delete, lambda w, a: schedules.schedule_template_delete(by=a, template=w.template),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "schedules.leave_block_create": (
        schedules.leave_block_create,
        lambda w, a: schedules.leave_block_create(by=a, doctor=w.doctor_profile, starts_on=date.today() + timedelta(days=40),
                                                  ends_on=date.today() + timedelta(days=41), reason="x"),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "schedules.leave_block_lift": (
        schedules.leave_block_lift, lambda w, a: schedules.leave_block_lift(by=a, leave=w.leave),
        ("nobody", "stranger", "other_doctor"), Kind.FORBIDDEN),
    "lifecycle.prescription_create": (
        lifecycle.prescription_create,
        lambda w, a: lifecycle.prescription_create(by=a, consultation=w.consultation, diagnosis=[{"code": "I10"}], items=[]),
        ("nobody", "system", "proxy", "other_doctor", "pharmacist"), Kind.FORBIDDEN),
    "lifecycle.prescription_update": (
        lifecycle.prescription_update, lambda w, a: lifecycle.prescription_update(by=a, prescription=w.approved, notes="x"),
        ("nobody", "other_doctor", "proxy"), Kind.FORBIDDEN),
    "lifecycle.prescription_sign": (
        lifecycle.prescription_sign, lambda w, a: lifecycle.prescription_sign(by=a, prescription=w.approved),
        ("nobody", "other_doctor", "pharmacist"), Kind.FORBIDDEN),
    "lifecycle.prescription_approve": (
        lifecycle.prescription_approve, lambda w, a: lifecycle.prescription_approve(by=a, prescription=w.approved),
        ("nobody", "system", "doctor", "proxy"), Kind.FORBIDDEN),
    "lifecycle.prescription_reject": (
        lifecycle.prescription_reject, lambda w, a: lifecycle.prescription_reject(by=a, prescription=w.approved, reason="x"),
        ("nobody", "doctor", "stranger"), Kind.FORBIDDEN),
    "lifecycle.prescription_revise": (
        lifecycle.prescription_revise, lambda w, a: lifecycle.prescription_revise(by=a, prescription=w.approved),
        ("nobody", "other_doctor", "pharmacist"), Kind.FORBIDDEN),
    "lifecycle.prescription_void": (
        lifecycle.prescription_void, lambda w, a: lifecycle.prescription_void(by=a, prescription=w.approved, reason="x"),
        ("nobody", "other_doctor", "proxy", "pharmacist"), Kind.FORBIDDEN),
    "lifecycle.prescription_confirm": (
        lifecycle.prescription_confirm,
        lambda w, a: lifecycle.prescription_confirm(by=a, prescription=_awaiting_confirmation(w.approved)),
        ("nobody", "system", "stranger", "doctor", "pharmacist"), Kind.FORBIDDEN),
    "lifecycle.prescription_expire": (
        lifecycle.prescription_expire, lambda w, a: lifecycle.prescription_expire(by=a, prescription=w.approved),
        ("nobody", "doctor", "pharmacist"), Kind.FORBIDDEN),
    "lifecycle.prescription_dispense": (
        lifecycle.prescription_dispense, lambda w, a: lifecycle.prescription_dispense(by=a, prescription=w.approved),
        ("nobody", "system", "doctor", "pharmacist", "proxy"), Kind.FORBIDDEN),
    "signing.signing_key_rotate": (
        signing.signing_key_rotate, lambda w, a: signing.signing_key_rotate(doctor=w.approved.doctor, by=a),
        ("nobody", "other_doctor", "stranger"), Kind.FORBIDDEN),
    "signing.signing_key_revoke": (
        signing.signing_key_revoke, lambda w, a: signing.signing_key_revoke(key=w.key, by=a, reason="lost"),
        ("nobody", "other_doctor", "stranger"), Kind.FORBIDDEN),
    "orders.order_place": (
        placing.order_place,
        lambda w, a: orders.order_place(by=a, prescription=w.approved, kind="pickup", pharmacy=w.pharmacy),
        ("nobody", "system", "stranger", "doctor"), Kind.FORBIDDEN),
    "orders.order_cancel": (
        ending.order_cancel, lambda w, a: orders.order_cancel(by=a, order=w.order),
        ("nobody", "system", "stranger", "doctor"), Kind.FORBIDDEN),
    **{
        f"orders.{name}": (
            getattr(steps, name),
            (lambda name, extra: lambda w, a: getattr(orders, name)(order=w.order, pharmacy=w.pharmacy, by=a, **extra))(
                name, extra),
            ("nobody", "system", "stranger", "pharmacist", "other_pharmacy_pos"), Kind.FORBIDDEN,
        )
        for name, extra in {
            "order_accept": {}, "order_reject": {"reason": "x"}, "order_prepare": {}, "order_ready": {},
            "order_pick_up": {"pickup_code": "000000"},
            "order_dispatch": {"courier_name": "a", "courier_phone": "1", "tracking_number": "t"},
            "order_deliver": {"recipient_name": "a"},
        }.items()
    },
    "reassignment.order_reassign": (
        reassignment.order_reassign, lambda w, a: orders.order_reassign(by=a, order_id=w.order.pk, attempt=1),
        ("nobody", "doctor", "stranger"), Kind.FORBIDDEN),
    "reassignment.orders_reassign_overdue": (
        reassignment.orders_reassign_overdue, lambda w, a: orders.orders_reassign_overdue(by=a),
        ("nobody", "doctor"), Kind.FORBIDDEN),
    "access.token_create": (
        access.token_create, lambda w, a: access.token_create(pharmacy=w.pharmacy, name="POS", by=a),
        ("nobody", "stranger", "doctor", "other_pharmacy_pos"), Kind.FORBIDDEN),
    "access.token_revoke": (
        access.token_revoke, lambda w, a: access.token_revoke(token=pos(w.pharmacy).token, by=a),
        ("nobody", "stranger", "doctor"), Kind.FORBIDDEN),
    "access.staff_add": (
        access.staff_add, lambda w, a: access.staff_add(pharmacy=w.pharmacy, user=w.pharmacist, by=a),
        ("nobody", "stranger", "pharmacist"), Kind.FORBIDDEN),
    "stock.stock_upsert_bulk": (
        stock.stock_upsert_bulk, lambda w, a: stock.stock_upsert_bulk(pharmacy=w.pharmacy, lines=[("X", 1)], by=a),
        ("nobody", "stranger", "pharmacist", "other_pharmacy_pos"), Kind.FORBIDDEN),
}

# Functions that take `by` only to attribute a history row: steps inside a verb above that
# has already asked the policy (stock movements of an order, the dispatch reservation, the
# withdrawal a void or expiry runs, which refuses while the prescription is live).
ATTRIBUTION_ONLY = {"stock_reserve", "stock_release", "stock_consume", "dispatch_reserve", "orders_withdraw",
                    "order_release", "order_notify", "order_lock_for_pharmacy"}
DOMAIN_MODULES = [records, booking, consultation, schedules, lifecycle, signing, access, stock, placing, steps,
                  ending, reassignment, order_base, follow_up]


def test_every_write_function_with_an_actor_has_a_refusal_case():
    covered = {function for function, *_ in CASES.values()}
    missing = []
    for module in DOMAIN_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_") or name in ATTRIBUTION_ONLY:
                continue
            parameters = inspect.signature(function).parameters
            if ("by" in parameters or name == "dependant_add") and function not in covered:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"write functions without a wrong-actor test: {missing}"


@pytest.mark.parametrize(
    "case, actor",
    [(name, actor) for name, (_, _, actors, _) in CASES.items() for actor in actors],
)
def test_write_function_refuses_a_wrong_actor(case, actor):
    world = World()
    _, call, _, kind = CASES[case]
    with pytest.raises(DomainError) as refused:
        call(world, world.actor(actor))
    assert refused.value.kind == kind, refused.value.message


def test_the_right_actors_pass_the_same_calls():
    """The refusals above are the policy's, not a broken fixture: the right actor gets past it."""
    world = World()
    assert records.patient_update(by=world.proxy, patient=world.patient, address="宁波").address == "宁波"
    assert records.condition_add(by=world.doctor, patient=world.patient, icd10_code="I10").recorded_by == world.doctor
    assert consultation.chat_post(by=world.proxy, consultation=world.consultation, role="proxy", text="hi").pk
    assert orders.order_accept(order=world.order, pharmacy=world.pharmacy, by=pos(world.pharmacy)).status == "accepted"
    awaiting = _awaiting_confirmation(ApprovedPrescriptionFactory(patient=world.patient))
    assert lifecycle.prescription_confirm(by=world.proxy, prescription=awaiting).patient_confirmed_by == world.proxy
    staff = PharmacyStaffFactory(pharmacy=world.pharmacy).user
    assert orders.order_prepare(order=world.order, pharmacy=world.pharmacy, by=staff).status == "preparing"


def test_the_system_may_mark_a_no_show_but_not_cancel():
    world = World()
    world.booking.status = BookingStatus.BOOKED
    world.booking.save()
    with pytest.raises(DomainError) as refused:
        booking.booking_cancel(by=SYSTEM, booking=world.booking, reason="x")
    assert refused.value.kind == Kind.FORBIDDEN
    start = timezone.now() - timedelta(hours=2)
    type(world.booking.slot).objects.filter(pk=world.booking.slot_id).update(starts_at=start, ends_at=start + timedelta(minutes=15))
    assert booking.booking_mark_no_show(by=SYSTEM, booking=world.booking).status == BookingStatus.NO_SHOW
