"""Booking rules and the booking state machine (consult.booking), against the database."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from cloudhospital.errors import DomainError
from consult import booking as rules
from consult.models import Booking, BookingStatus, Slot
from tests.factories import (
    BookingFactory,
    ConditionFactory,
    DependantFactory,
    HypertensionClinicFactory,
    PatientFactory,
    SlotFactory,
    UserFactory,
    doctor_in,
)

pytestmark = pytest.mark.django_db


def book(patient, slot, by=None, **kwargs):
    booking, _ = rules.booking_create(by=by or patient.account, patient=patient, slot=slot, reason=kwargs.pop("reason", "复诊"), **kwargs)
    return booking


def slot_in(delta: timedelta, **kwargs) -> Slot:
    start = timezone.now() + delta
    return SlotFactory(starts_at=start, ends_at=start + timedelta(minutes=15), **kwargs)


def refused(code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


# --- booking_create -------------------------------------------------------------------


def test_booking_create_gives_queue_numbers_in_order_and_counts_places():
    slot = SlotFactory(capacity=3)
    first, second = book(PatientFactory(), slot), book(PatientFactory(), slot)
    slot.refresh_from_db()
    assert (first.queue_number, second.queue_number) == (1, 2)
    assert slot.booked == 2
    assert first.history.first().history_user == first.patient.account


def test_booking_create_refuses_full_slot():
    slot = SlotFactory(capacity=1)
    book(PatientFactory(), slot)
    error = refused("slot_full", book, PatientFactory(), slot)
    assert error.kind == "conflict" and "full" in error.message
    assert Booking.objects.count() == 1


def test_booking_create_by_proxy_for_dependant():
    daughter = PatientFactory()
    father = DependantFactory(proxy=daughter.account)
    booking = book(father, SlotFactory(), by=daughter.account)
    assert booking.patient == father and booking.booked_by == daughter.account


def test_booking_create_refuses_a_patient_the_user_does_not_manage():
    error = refused("unknown_patient", book, PatientFactory(), SlotFactory(), by=PatientFactory().account)
    assert error.field == "patient" and error.kind == "invalid"
    assert not Booking.objects.exists()


def test_booking_create_refuses_slot_in_the_past():
    error = refused("slot_in_past", book, PatientFactory(), slot_in(timedelta(minutes=-5)))
    assert error.field == "slot" and error.kind == "unprocessable"


def test_booking_create_refuses_slot_beyond_the_booking_window(settings):
    settings.BOOKING_WINDOW_DAYS = 14
    refused("beyond_booking_window", book, PatientFactory(), slot_in(timedelta(days=15)))


def test_booking_create_refuses_closed_slot():
    slot = SlotFactory(is_open=False, closed_reason="Doctor on leave: 出差")
    error = refused("slot_closed", book, PatientFactory(), slot)
    assert "出差" in error.message


def test_booking_create_refuses_unverified_doctor():
    slot = SlotFactory(doctor__verified=False)
    error = refused("doctor_unverified", book, PatientFactory(), slot)
    assert error.kind == "unprocessable"


def test_booking_create_refuses_second_active_booking_same_clinic_same_day():
    patient = PatientFactory()
    first = SlotFactory()
    later_same_day = SlotFactory(doctor=first.doctor, starts_at=first.starts_at + timedelta(hours=1),
                                 ends_at=first.ends_at + timedelta(hours=1))
    book(patient, first)
    error = refused("duplicate_booking", book, patient, later_same_day)
    assert error.kind == "conflict"


def test_booking_create_allows_same_day_after_cancelling_and_other_clinics():
    patient = PatientFactory()
    first = SlotFactory()
    booking = book(patient, first)
    rules.booking_cancel(by=patient.account, booking=booking)
    assert book(patient, SlotFactory(doctor=first.doctor, starts_at=first.starts_at + timedelta(hours=1),
                                     ends_at=first.ends_at + timedelta(hours=1))).status == BookingStatus.BOOKED
    assert book(patient, SlotFactory(starts_at=first.starts_at, ends_at=first.ends_at)).status == BookingStatus.BOOKED


def test_follow_up_only_clinic_refuses_patient_without_matching_condition_and_says_so():
    clinic = HypertensionClinicFactory()
    slot = SlotFactory(doctor=doctor_in(clinic), clinic=clinic)
    patient = PatientFactory(full_name="王强")
    ConditionFactory(patient=patient, icd10_code="E11", name="Type 2 diabetes")
    ConditionFactory(patient=patient, icd10_code="I10", status="resolved")
    error = refused("follow_up_only", book, patient, slot)
    assert error.field == "patient" and error.kind == "unprocessable"
    assert "follow-up" in error.message and "I10–I15" in error.message and "王强" in error.message


@pytest.mark.parametrize("code", ["I10", "I11.9", "I15.0"])
def test_follow_up_only_clinic_accepts_active_condition_in_range(code):
    clinic = HypertensionClinicFactory()
    slot = SlotFactory(doctor=doctor_in(clinic), clinic=clinic)
    patient = PatientFactory()
    ConditionFactory(patient=patient, icd10_code=code)
    assert book(patient, slot).status == BookingStatus.BOOKED


def test_follow_up_only_clinic_refuses_code_just_outside_range():
    clinic = HypertensionClinicFactory()
    patient = PatientFactory()
    ConditionFactory(patient=patient, icd10_code="I20")
    refused("follow_up_only", book, patient, SlotFactory(doctor=doctor_in(clinic), clinic=clinic))


def test_booking_create_refuses_blank_reason():
    error = refused("required", book, PatientFactory(), SlotFactory(), reason="   ")
    assert error.field == "reason"


# --- idempotency ----------------------------------------------------------------------


def test_same_idempotency_key_and_request_returns_the_original_booking():
    patient, slot = PatientFactory(), SlotFactory()
    first, created = rules.booking_create(by=patient.account, patient=patient, slot=slot, reason="复诊", idempotency_key="k-1")
    again, created_again = rules.booking_create(by=patient.account, patient=patient, slot=slot, reason="复诊", idempotency_key="k-1")
    assert created and not created_again
    assert again.pk == first.pk
    assert Booking.objects.count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1


def test_same_idempotency_key_with_different_request_is_422():
    patient, slot = PatientFactory(), SlotFactory()
    rules.booking_create(by=patient.account, patient=patient, slot=slot, reason="复诊", idempotency_key="k-1")
    error = refused("idempotency_key_reused", rules.booking_create, by=patient.account, patient=patient, slot=slot,
                    reason="something else", idempotency_key="k-1")
    assert error.kind == "unprocessable"


def test_idempotency_keys_are_scoped_to_the_requesting_user():
    slot = SlotFactory()
    one, two = PatientFactory(), PatientFactory()
    a, _ = rules.booking_create(by=one.account, patient=one, slot=slot, reason="复诊", idempotency_key="same")
    b, created = rules.booking_create(by=two.account, patient=two, slot=slot, reason="复诊", idempotency_key="same")
    assert created and a.pk != b.pk


# --- cancel -----------------------------------------------------------------------------


def test_patient_cancel_releases_the_place_at_once_and_the_number_is_reused():
    slot = SlotFactory(capacity=2)
    one, two = PatientFactory(), PatientFactory()
    first = book(one, slot)
    book(two, slot)
    rules.booking_cancel(by=one.account, booking=first)
    slot.refresh_from_db()
    assert slot.booked == 1
    third = book(PatientFactory(), slot)
    assert third.queue_number == 1
    first.refresh_from_db()
    assert first.status == BookingStatus.CANCELLED and first.cancelled_at is not None
    assert first.history.first().history_change_reason == "cancelled by patient"


def test_patient_cannot_cancel_within_two_hours_of_the_slot():
    patient = PatientFactory()
    booking = book(patient, slot_in(timedelta(hours=1, minutes=59)))
    error = refused("too_late_to_cancel", rules.booking_cancel, by=patient.account, booking=booking)
    assert error.kind == "unprocessable"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def test_doctor_may_cancel_late_with_a_reason_and_the_family_is_notified(django_capture_on_commit_callbacks):
    daughter = PatientFactory()
    father = DependantFactory(proxy=daughter.account)
    booking = book(father, slot_in(timedelta(minutes=45)), by=daughter.account)
    doctor_user = booking.slot.doctor.user
    refused("required", rules.booking_cancel, by=doctor_user, booking=booking)
    with django_capture_on_commit_callbacks(execute=True):
        rules.booking_cancel(by=doctor_user, booking=booking, reason="急诊手术 emergency surgery")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and "emergency" in booking.cancel_reason
    note = daughter.account.notifications.get(kind="booking_cancelled")
    assert note.patient == father and "emergency" in note.body


def test_stranger_cannot_cancel():
    booking = book(PatientFactory(), SlotFactory())
    error = refused("forbidden", rules.booking_cancel, by=PatientFactory().account, booking=booking)
    assert error.kind == "forbidden"


def test_cancelling_twice_is_409_naming_the_state():
    patient = PatientFactory()
    booking = book(patient, SlotFactory())
    rules.booking_cancel(by=patient.account, booking=booking)
    error = refused("invalid_transition", rules.booking_cancel, by=patient.account, booking=booking)
    assert error.kind == "conflict" and "cancelled" in error.message
    booking.slot.refresh_from_db()
    assert booking.slot.booked == 0


# --- reschedule -------------------------------------------------------------------------


def test_reschedule_moves_the_booking_and_both_counts_change_together():
    patient = PatientFactory()
    old = SlotFactory()
    new = SlotFactory(doctor=old.doctor, clinic=old.clinic, starts_at=old.starts_at + timedelta(days=1),
                      ends_at=old.ends_at + timedelta(days=1))
    booking = book(patient, old)
    moved = rules.booking_reschedule(by=patient.account, booking=booking, new_slot=new)
    old.refresh_from_db(), new.refresh_from_db()
    assert moved.pk == booking.pk and moved.slot == new and moved.queue_number == 1
    assert (old.booked, new.booked) == (0, 1)


def test_reschedule_to_a_full_slot_changes_nothing():
    patient = PatientFactory()
    old = SlotFactory()
    full = SlotFactory(doctor=old.doctor, clinic=old.clinic, capacity=1, starts_at=old.starts_at + timedelta(days=1),
                       ends_at=old.ends_at + timedelta(days=1))
    book(PatientFactory(), full)
    booking = book(patient, old)
    refused("slot_full", rules.booking_reschedule, by=patient.account, booking=booking, new_slot=full)
    booking.refresh_from_db(), old.refresh_from_db(), full.refresh_from_db()
    assert booking.slot == old and (old.booked, full.booked) == (1, 1)


def test_reschedule_within_same_day_of_same_clinic_is_allowed():
    patient = PatientFactory()
    old = SlotFactory()
    new = SlotFactory(doctor=old.doctor, clinic=old.clinic, starts_at=old.starts_at + timedelta(minutes=30),
                      ends_at=old.ends_at + timedelta(minutes=30))
    booking = book(patient, old)
    assert rules.booking_reschedule(by=patient.account, booking=booking, new_slot=new).slot == new


def test_reschedule_refuses_another_clinic():
    patient = PatientFactory()
    booking = book(patient, SlotFactory())
    refused("other_clinic", rules.booking_reschedule, by=patient.account, booking=booking, new_slot=SlotFactory())


# --- check-in, consultation, no-show ------------------------------------------------------


def test_check_in_opens_thirty_minutes_before_the_slot():
    patient = PatientFactory()
    booking = book(patient, slot_in(timedelta(minutes=40)))
    error = refused("check_in_not_open", rules.booking_check_in, by=patient.account, booking=booking)
    assert error.kind == "unprocessable"
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        checked = rules.booking_check_in(by=patient.account, booking=booking)
    assert checked.status == BookingStatus.CHECKED_IN and checked.checked_in_at is not None


def test_full_lifecycle_to_completed_with_history():
    patient = PatientFactory()
    booking = book(patient, slot_in(timedelta(minutes=20)))
    doctor_user = booking.slot.doctor.user
    rules.booking_check_in(by=patient.account, booking=booking)
    refused("forbidden", rules.booking_start, by=patient.account, booking=booking)
    rules.booking_start(by=doctor_user, booking=booking)
    done = rules.booking_complete(by=doctor_user, booking=booking)
    assert done.status == BookingStatus.COMPLETED and done.completed_at is not None
    trail = [(h.status, h.history_user_id) for h in done.history.order_by("history_id")]
    assert trail == [
        ("booked", patient.account.pk), ("checked_in", patient.account.pk),
        ("in_consult", doctor_user.pk), ("completed", doctor_user.pk),
    ]


def test_start_without_check_in_is_409_naming_the_state():
    booking = book(PatientFactory(), SlotFactory())
    error = refused("invalid_transition", rules.booking_start, by=booking.slot.doctor.user, booking=booking)
    assert "booked" in error.message


def test_doctor_marks_no_show_only_after_the_slot_started():
    booking = book(PatientFactory(), slot_in(timedelta(minutes=20)))
    doctor_user = booking.slot.doctor.user
    refused("too_early", rules.booking_mark_no_show, by=doctor_user, booking=booking)
    with time_machine.travel(timezone.now() + timedelta(minutes=25)):
        assert rules.booking_mark_no_show(by=doctor_user, booking=booking).status == BookingStatus.NO_SHOW


def test_completed_booking_cannot_be_cancelled_or_marked_no_show():
    booking = BookingFactory(status=BookingStatus.COMPLETED, slot=slot_in(timedelta(hours=-1)))
    refused("invalid_transition", rules.booking_mark_no_show, by=booking.slot.doctor.user, booking=booking)
    refused("invalid_transition", rules.booking_cancel, by=booking.slot.doctor.user, booking=booking, reason="x")


def test_hospital_admin_of_the_doctor_counts_as_clinic_staff():
    admin = UserFactory(role="hospital_admin")
    booking = book(PatientFactory(), slot_in(timedelta(minutes=50)))
    booking.slot.doctor.hospital.admins.add(admin)
    assert rules.booking_cancel(by=admin, booking=booking, reason="停诊").status == BookingStatus.CANCELLED
