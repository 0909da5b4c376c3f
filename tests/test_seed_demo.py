from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from cloudhospital.models import User
from consult import booking as booking_rules
from consult import consultation as consult_rules
from consult import windows
from consult.models import (
    Booking, BookingStatus, Clinic, Condition, Doctor, Hospital, Observation, Patient, ProxyLink, ScheduleTemplate, Slot,
)
from pharmacy.models import Pharmacy, Stock
from prescriptions.models import Drug
from tests.factories import ConditionFactory, PatientFactory


def _counts() -> dict:
    return {model._meta.label: model.objects.count() for model in apps.get_models() if not model._meta.label.startswith(("sessions.", "admin.", "axes."))}


@pytest.mark.django_db
def test_seed_demo_creates_zhang_lin_with_his_daughter_and_is_idempotent():
    call_command("seed_demo", verbosity=0)
    zhang_lin = Patient.objects.get(full_name__contains="Zhang Lin")
    assert zhang_lin.birth_date.year == 1937 and zhang_lin.account is None
    assert ProxyLink.objects.get(patient=zhang_lin).relationship == "parent"
    assert set(Condition.objects.filter(patient=zhang_lin).values_list("icd10_code", flat=True)) >= {"I10", "N18.3"}
    assert Observation.objects.get(patient=zhang_lin, kind="egfr").value == 48
    readings = Observation.objects.filter(patient=zhang_lin, kind="blood_pressure")
    assert readings.count() >= 40
    systolics = set(readings.values_list("systolic", flat=True))
    assert len(systolics) > 10, "home readings should fluctuate"
    assert Patient.objects.count() >= 5
    first = _counts()
    call_command("seed_demo", verbosity=0)
    assert _counts() == first


def _open_for_check_in(slot, now) -> bool:
    return windows.check_in_opens(slot) <= now < slot.starts_at and windows.join_window_opens(slot) <= now


@pytest.mark.django_db
def test_seed_demo_books_zhang_lin_today_with_check_in_open_and_room_left_for_the_demo_script():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    now = timezone.now()
    booking = Booking.objects.get(patient__full_name__contains="Zhang Lin", status=BookingStatus.BOOKED)
    assert _open_for_check_in(booking.slot, now)
    assert booking.slot.starts_at - now <= timedelta(minutes=10)
    daughter = User.objects.get(phone="+8613800000001")
    assert booking_rules.booking_check_in(by=daughter, booking=booking).status == BookingStatus.CHECKED_IN
    free = Slot.objects.filter(windows.HAS_FREE_PLACE, doctor=booking.slot.doctor, pk=booking.slot_id)
    assert free.exists(), "the demo script's family needs a place in a slot open for check-in"
    printed = out.getvalue()
    opens = timezone.localtime(windows.check_in_opens(booking.slot))
    assert f"booking #{booking.pk}" in printed and f"check-in open from {opens:%H:%M}" in printed


@pytest.mark.django_db
def test_seed_demo_after_the_demo_day_was_played_books_a_fresh_visit_and_duplicates_nothing():
    call_command("seed_demo", stdout=StringIO())
    daughter = User.objects.get(phone="+8613800000001")
    booking = Booking.objects.get(patient__full_name__contains="Zhang Lin", status=BookingStatus.BOOKED)
    doctor = booking.slot.doctor.user
    # The day as the walkthrough plays it: check in, the doctor admits and ends the visit.
    booking_rules.booking_check_in(by=daughter, booking=booking)
    consultation = consult_rules.consultation_open(by=daughter, booking=booking)
    consult_rules.consultation_admit(by=doctor, consultation=consultation)
    consult_rules.consultation_end(by=doctor, consultation=consultation)
    # Other families (and demo script runs) take every other place in the session.
    session = Slot.objects.get(pk=booking.slot_id)
    for n in range(session.capacity - session.booked):
        family = PatientFactory(account__phone=f"+86135{90000000 + n}")
        ConditionFactory(patient=family)
        booking_rules.booking_create(by=family.account, patient=family, slot=session, reason="复诊 follow-up")
    session.refresh_from_db()
    assert session.booked == session.capacity
    kept = (Patient, User, ProxyLink, Condition, Observation, Hospital, Clinic, Doctor, ScheduleTemplate, Drug, Pharmacy, Stock)
    before = {model: model.objects.count() for model in kept}
    bookings, slots = Booking.objects.count(), Slot.objects.count()

    call_command("seed_demo", stdout=StringIO())  # used to crash with DomainError slot_full

    assert {model: model.objects.count() for model in kept} == before
    fresh = Booking.objects.get(patient__full_name__contains="Zhang Lin", status=BookingStatus.BOOKED)
    assert fresh.pk != booking.pk and fresh.slot_id != session.pk
    assert _open_for_check_in(fresh.slot, timezone.now())
    assert (Booking.objects.count(), Slot.objects.count()) == (bookings + 1, slots + 1)
    assert windows.places_left(fresh.slot) >= 1
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.COMPLETED

    everything = _counts()
    call_command("seed_demo", stdout=StringIO())
    assert _counts() == everything
    assert booking_rules.booking_check_in(by=daughter, booking=fresh).status == BookingStatus.CHECKED_IN
