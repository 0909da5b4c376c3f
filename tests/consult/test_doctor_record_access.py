"""A doctor reads a patient's record only through a booking, from check-in until seven days
after completion, and every such read lands in the access log."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from cloudhospital.models import AccessLog
from consult.models import BookingStatus
from tests.factories import BookingFactory, ConditionFactory, DependantFactory, DoctorFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def father_booking(family):
    _, father = family
    ConditionFactory(patient=father, icd10_code="I10")
    return BookingFactory(patient=father, booked_by=family[0].account)


def test_booked_but_not_checked_in_doctor_gets_404(client_for, father_booking):
    client = client_for(father_booking.slot.doctor.user)
    assert client.get(f"/api/patients/{father_booking.patient_id}/record/").status_code == 404
    assert not AccessLog.objects.exists()


def test_after_check_in_the_doctor_reads_the_record_and_the_read_is_logged(client_for, father_booking):
    father_booking.status = BookingStatus.CHECKED_IN
    father_booking.save()
    doctor_user = father_booking.slot.doctor.user
    response = client_for(doctor_user).get(f"/api/patients/{father_booking.patient_id}/record/")
    assert response.status_code == 200
    assert response.json()["conditions"][0]["icd10_code"] == "I10"
    log = AccessLog.objects.get()
    assert (log.user, log.patient_id, log.action) == (doctor_user, father_booking.patient_id, "record_read")
    assert f"booking {father_booking.pk}" in log.reason


def test_nested_record_reads_by_the_doctor_are_logged_too(client_for, father_booking):
    father_booking.status = BookingStatus.IN_CONSULT
    father_booking.save()
    client = client_for(father_booking.slot.doctor.user)
    assert client.get(f"/api/patients/{father_booking.patient_id}/conditions/").status_code == 200
    assert client.get(f"/api/patients/{father_booking.patient_id}/").status_code == 200
    assert list(AccessLog.objects.order_by("at").values_list("action", flat=True)) == ["condition_read", "patient_read"]


def test_the_doctor_cannot_write_to_the_record(client_for, father_booking):
    father_booking.status = BookingStatus.IN_CONSULT
    father_booking.save()
    client = client_for(father_booking.slot.doctor.user)
    response = client.post(f"/api/patients/{father_booking.patient_id}/conditions/", {"icd10_code": "E11"}, format="json")
    assert response.status_code == 403
    assert client.patch(f"/api/patients/{father_booking.patient_id}/", {"address": "x"}, format="json").status_code == 403


def test_access_lasts_seven_days_after_completion(client_for, father_booking):
    father_booking.status = BookingStatus.COMPLETED
    father_booking.completed_at = timezone.now()
    father_booking.save()
    client = client_for(father_booking.slot.doctor.user)
    url = f"/api/patients/{father_booking.patient_id}/record/"
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert client.get(url).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert client.get(url).status_code == 404


def test_cancelled_or_no_show_bookings_grant_nothing(client_for, father_booking):
    client = client_for(father_booking.slot.doctor.user)
    for status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
        father_booking.status = status
        father_booking.save()
        assert client.get(f"/api/patients/{father_booking.patient_id}/record/").status_code == 404


def test_any_other_doctor_still_gets_404(client_for, father_booking):
    father_booking.status = BookingStatus.IN_CONSULT
    father_booking.save()
    other = DoctorFactory().user
    assert client_for(other).get(f"/api/patients/{father_booking.patient_id}/record/").status_code == 404
    assert client_for(other).get("/api/patients/").json()["count"] == 0


def test_the_family_reads_without_access_log_entries(client_for, father_booking, family):
    client = client_for(family[0].account)
    assert client.get(f"/api/patients/{father_booking.patient_id}/record/").status_code == 200
    assert client.get("/api/patients/").json()["count"] == 2
    assert not AccessLog.objects.exists()


def test_the_doctors_patient_list_logs_one_read_per_listed_patient(client_for, father_booking, django_assert_max_num_queries):
    doctor = father_booking.slot.doctor
    bookings = [father_booking] + [BookingFactory(slot__doctor=doctor) for _ in range(4)]
    for booking in bookings:
        booking.status = BookingStatus.CHECKED_IN
        booking.save()
    client = client_for(doctor.user)
    # The page, its proxies, the grounds, and the access-log chain ends and insert: fixed, whatever the page size.
    with django_assert_max_num_queries(11):
        listed = client.get("/api/patients/").json()
    assert listed["count"] == 5
    logged = AccessLog.objects.filter(action="patient_list_read")
    assert sorted(logged.values_list("patient_id", flat=True)) == sorted(b.patient_id for b in bookings)
    assert all(log.user == doctor.user for log in logged)
    reasons = dict(logged.values_list("patient_id", "reason"))
    assert reasons[father_booking.patient_id] == f"booking {father_booking.pk} (checked_in)"


def test_a_doctors_other_patients_stay_hidden(client_for, father_booking):
    father_booking.status = BookingStatus.CHECKED_IN
    father_booking.save()
    unrelated = DependantFactory(proxy=PatientFactory().account)
    client = client_for(father_booking.slot.doctor.user)
    assert [p["id"] for p in client.get("/api/patients/").json()["results"]] == [father_booking.patient_id]
    assert client.get(f"/api/patients/{unrelated.pk}/record/").status_code == 404
