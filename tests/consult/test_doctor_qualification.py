"""Who may practise online (consult.doctors): a licence, ≥ ONLINE_DOCTOR_MIN_PRACTICE_YEARS of
independent practice (互联网诊疗管理办法（试行）art. 25) and an active registration at the clinic's
hospital (互联网诊疗监管细则（试行）, 多点执业), checked at booking and in the listings."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult import booking as rules
from consult.doctors import doctor_online_refusal, practice_cutoff
from consult.models import Booking, DoctorRegistration
from consult.selectors import doctors_directory, slots_available
from tests.factories import ClinicFactory, DoctorFactory, HospitalFactory, PatientFactory, SlotFactory

pytestmark = pytest.mark.django_db


def years_ago(years: float):
    return timezone.localdate() - timedelta(days=round(365.25 * years))


def book(slot):
    patient = PatientFactory()
    booking, _ = rules.booking_create(by=patient.account, patient=patient, slot=slot, reason="复诊")
    return booking


def refusal_of(slot) -> str:
    with pytest.raises(rules.DomainError) as caught:
        book(slot)
    return caught.value


def test_the_factory_doctor_is_qualified_and_registered_and_can_be_booked():
    slot = SlotFactory()
    assert doctor_online_refusal(slot.doctor, slot.clinic.hospital) is None
    assert book(slot).status == "booked"


def test_a_doctor_with_two_years_of_practice_cannot_be_booked():
    doctor = DoctorFactory(independent_practice_since=years_ago(2))
    slot = SlotFactory(doctor=doctor)
    error = refusal_of(slot)
    assert error.code == "doctor_practice_too_short" and error.field == "slot" and error.kind == "unprocessable"
    assert "互联网诊疗管理办法（试行）" in error.message and "3 years" in error.message
    assert not Booking.objects.exists()


def test_three_years_to_the_day_is_enough_and_the_setting_moves_the_line(settings):
    doctor = DoctorFactory(independent_practice_since=practice_cutoff())
    assert doctor_online_refusal(doctor, doctor.hospital) is None
    settings.ONLINE_DOCTOR_MIN_PRACTICE_YEARS = 5
    assert doctor_online_refusal(doctor, doctor.hospital).code == "doctor_practice_too_short"


def test_a_doctor_without_a_start_of_practice_on_record_cannot_be_booked():
    slot = SlotFactory(doctor=DoctorFactory(independent_practice_since=None))
    assert refusal_of(slot).code == "doctor_practice_too_short"


def test_a_doctor_without_a_licence_number_cannot_be_booked():
    slot = SlotFactory(doctor=DoctorFactory(licence_number=""))
    assert refusal_of(slot).code == "doctor_unlicensed"


def test_a_doctor_not_registered_at_the_clinics_hospital_cannot_be_booked_there():
    home, other = HospitalFactory(), HospitalFactory()
    clinic_elsewhere = ClinicFactory(hospital=other)
    doctor = DoctorFactory(hospital=home, clinics=[ClinicFactory(hospital=home)], registered=False)
    DoctorRegistration.objects.create(doctor=doctor, hospital=home, registered_on=years_ago(5))
    doctor.clinics.add(clinic_elsewhere)
    slot = SlotFactory(doctor=doctor, clinic=clinic_elsewhere)
    error = refusal_of(slot)
    assert error.code == "doctor_not_registered" and "多点执业" in error.message
    # Registered there too (多点执业): bookable.
    DoctorRegistration.objects.create(doctor=doctor, hospital=other, registered_on=years_ago(1))
    assert book(slot).status == "booked"


def test_the_primary_hospital_counts_only_when_registered_and_active():
    doctor = DoctorFactory(registered=False)
    slot = SlotFactory(doctor=doctor)
    assert refusal_of(slot).code == "doctor_not_registered"
    registration = DoctorRegistration.objects.create(doctor=doctor, hospital=doctor.hospital, registered_on=years_ago(4),
                                                     active=False)
    assert refusal_of(slot).code == "doctor_not_registered"
    registration.active = True
    registration.save()
    assert book(slot).status == "booked"


def test_the_directory_and_slot_search_leave_unqualified_doctors_out():
    qualified = DoctorFactory()
    junior = DoctorFactory(independent_practice_since=years_ago(2))
    unregistered = DoctorFactory(registered=False)
    slots = {doctor.pk: SlotFactory(doctor=doctor) for doctor in (qualified, junior, unregistered)}
    listed = set(doctors_directory().values_list("pk", flat=True))
    assert qualified.pk in listed and junior.pk not in listed and unregistered.pk not in listed
    found = set(slots_available().values_list("pk", flat=True))
    assert slots[qualified.pk].pk in found
    assert slots[junior.pk].pk not in found and slots[unregistered.pk].pk not in found


def test_the_slot_search_keeps_out_slots_at_a_hospital_where_the_doctor_is_not_registered():
    doctor = DoctorFactory()
    elsewhere = ClinicFactory(hospital=HospitalFactory())
    doctor.clinics.add(elsewhere)
    home_slot, away_slot = SlotFactory(doctor=doctor), SlotFactory(doctor=doctor, clinic=elsewhere)
    found = set(slots_available(doctor=doctor.pk).values_list("pk", flat=True))
    assert home_slot.pk in found and away_slot.pk not in found


def test_booking_an_unqualified_doctor_through_the_api_is_a_422_with_the_code(client_for):
    from tests.api_errors import error_code

    patient = PatientFactory()
    slot = SlotFactory(doctor=DoctorFactory(independent_practice_since=years_ago(2)))
    response = client_for(patient.account).post("/api/bookings/", {"patient": patient.pk, "slot": slot.pk,
                                                                  "reason": "复诊"}, format="json")
    assert response.status_code == 422 and error_code(response) == "doctor_practice_too_short"


def test_the_public_doctor_page_shows_the_licence_and_where_the_doctor_is_registered(client):
    doctor = DoctorFactory(practice_scope="内科专业")
    client.force_login(PatientFactory().account)
    page = client.get(f"/care/doctors/{doctor.pk}/")
    html = page.content.decode()
    assert page.status_code == 200, html[:300]
    assert doctor.licence_number in html.split('id="doctor-licence"')[1].split("</dd>")[0]
    assert doctor.hospital.display_name in html.split('id="doctor-registrations"')[1].split("</dd>")[0]
    assert "内科专业" in html
