"""A ready consultation room for tests: a doctor, a patient with a proxy, a checked-in booking."""

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from consult import consultation as consult_rules
from consult import follow_up
from consult.models import Booking, BookingStatus, Clinic, Consultation, Doctor, DoctorRegistration, Hospital, Patient, Slot
from tests.factories import ConditionFactory, DependantFactory, PatientFactory, UserFactory


# The room's patient is the daughter's parent, followed up for hypertension: born 1940-1970
# (a different year for each room), so a test that travels back decades (retention) still
# sees an adult, never a young child or someone not yet born, whatever the factory sequence.
_parents = itertools.count()


def _parent_birth() -> date:
    return date(1940, 1, 1) + timedelta(days=(400 * next(_parents)) % (30 * 365))


@dataclass
class Room:
    doctor_user: object
    doctor: Doctor
    patient: Patient
    proxy: object
    booking: Booking
    consultation: Consultation | None


def make_room(*, starts_in=timedelta(minutes=10), checked_in=True, open_consultation=True,
              confirm_follow_up=True) -> Room:
    """With `confirm_follow_up`, the doctor confirms in the waiting room that the visit follows
    up the patient's hypertension, diagnosed offline (consult.follow_up), so it may end in a
    prescription."""
    hospital, _ = Hospital.objects.get_or_create(name="宁波市第一医院")
    clinic, _ = Clinic.objects.get_or_create(hospital=hospital, name="高血压云诊室", defaults={"specialty": "cardiology"})
    doctor_user = UserFactory(role="doctor", full_name="陈晓敏 Chen Xiaomin")
    doctor = Doctor.objects.create(user=doctor_user, hospital=hospital, licence_number=f"LIC{doctor_user.pk:08d}", verified=True,
                                   independent_practice_since=timezone.localdate() - timedelta(days=3650))
    # Qualified to practise online here (consult.doctors): ten years' practice, registered.
    DoctorRegistration.objects.create(doctor=doctor, hospital=hospital, registered_on=timezone.localdate() - timedelta(days=365))
    daughter = PatientFactory()
    patient = DependantFactory(proxy=daughter.account, birth_date=_parent_birth())
    hypertension = ConditionFactory(patient=patient, icd10_code="I10")
    start = timezone.now() + starts_in
    slot = Slot.objects.create(doctor=doctor, clinic=clinic, starts_at=start, ends_at=start + timedelta(minutes=15), capacity=5, booked=1, fee=50)
    status = BookingStatus.CHECKED_IN if checked_in else BookingStatus.BOOKED
    booking = Booking.objects.create(patient=patient, slot=slot, queue_number=1, status=status, reason="复诊 follow-up", booked_by=daughter.account)
    consultation = consult_rules.consultation_open(by=doctor_user, booking=booking) if open_consultation else None
    if consultation is not None and confirm_follow_up:
        consultation = follow_up.follow_up_confirm(by=doctor_user, consultation=consultation, condition=hypertension)
    return Room(doctor_user, doctor, patient, daughter.account, booking, consultation)
