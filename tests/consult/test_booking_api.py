"""The booking desk over HTTP: directory, slots, bookings and their actions, worklist."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult.models import Booking, BookingStatus
from tests.factories import (
    BookingFactory,
    ConditionFactory,
    DependantFactory,
    DoctorFactory,
    HospitalFactory,
    HypertensionClinicFactory,
    SlotFactory,
    UserFactory,
    doctor_in,
)
from tests.api_errors import error_attrs, error_code, error_detail, field_details

pytestmark = pytest.mark.django_db


def post_booking(client, patient, slot, reason="复诊开药", **headers):
    return client.post("/api/bookings/", {"patient": patient.pk, "slot": slot.pk, "reason": reason}, format="json", **headers)


# --- directory --------------------------------------------------------------------------


def test_clinic_search_finds_chinese_name_and_filters(client_for, stranger):
    hospital = HospitalFactory(name="宁波市第一医院")
    wanted = HypertensionClinicFactory(hospital=hospital, name="高血压云诊室")
    HypertensionClinicFactory(name="糖尿病云诊室", specialty="endocrinology")
    client = client_for(stranger.account)
    found = client.get("/api/clinics/", {"search": "高血压"}).json()["results"]
    assert [c["id"] for c in found] == [wanted.pk]
    assert found[0]["hospital"] == {"id": hospital.pk, "name": "宁波市第一医院", "name_en": "", "display_name": "宁波市第一医院"}
    assert found[0]["follow_up_only"] is True and found[0]["icd10_ranges"] == "I10-I15"
    by_specialty = client.get("/api/clinics/", {"specialty": "endocrinology"}).json()["results"]
    assert [c["name"] for c in by_specialty] == ["糖尿病云诊室"]
    assert [c["id"] for c in client.get("/api/clinics/", {"hospital": hospital.pk}).json()["results"]] == [wanted.pk]


def test_hospital_list_searches_by_name(client_for, stranger):
    HospitalFactory(name="宁波市第一医院")
    HospitalFactory(name="余姚市人民医院")
    names = [h["name"] for h in client_for(stranger.account).get("/api/hospitals/", {"search": "余姚"}).json()["results"]]
    assert names == ["余姚市人民医院"]


def test_doctor_list_shows_title_clinics_fee_and_next_available_slot(client_for, stranger):
    clinic = HypertensionClinicFactory(name="高血压云诊室")
    doctor = doctor_in(clinic, user__full_name="陈晓敏 Chen Xiaomin", title="chief", fee=50, bio="高血压 30 年")
    soon = SlotFactory(doctor=doctor, clinic=clinic, starts_at=timezone.now() + timedelta(hours=3),
                       ends_at=timezone.now() + timedelta(hours=3, minutes=15), capacity=1)
    later = SlotFactory(doctor=doctor, clinic=clinic)
    BookingFactory(slot=soon)  # the earliest is full, so "next available" is the later one
    DoctorFactory(verified=False, user__full_name="未认证 Unverified")
    body = client_for(stranger.account).get("/api/doctors/", {"search": "陈晓敏"}).json()
    assert body["count"] == 1
    entry = body["results"][0]
    assert entry["title_name"] == "主任医师" and entry["fee"] == "50.00"
    assert entry["clinics"] == [{"id": clinic.pk, "name": "高血压云诊室", "name_en": "", "display_name": "高血压云诊室"}]
    assert entry["next_available_slot"]["id"] == later.pk


def test_unverified_doctors_are_not_listed(client_for, stranger):
    DoctorFactory(verified=False)
    assert client_for(stranger.account).get("/api/doctors/").json()["count"] == 0


def test_doctor_list_query_count_does_not_grow_with_doctors(client_for, stranger, django_assert_max_num_queries):
    clinic = HypertensionClinicFactory()
    for _ in range(3):
        SlotFactory(doctor=doctor_in(clinic), clinic=clinic)
    client = client_for(stranger.account)
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/doctors/", {"clinic": clinic.pk, "page_size": 2}).json()["results"]) == 2
    for _ in range(20):
        SlotFactory(doctor=doctor_in(clinic), clinic=clinic)
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/doctors/", {"clinic": clinic.pk, "page_size": 20}).json()["results"]) == 20


def test_directory_needs_login(api):
    assert api.get("/api/doctors/").status_code in (401, 403)


# --- slots ------------------------------------------------------------------------------


def test_slot_list_filters_and_available_hides_full_and_closed(client_for, stranger):
    slot = SlotFactory(capacity=1)
    doctor, clinic = slot.doctor, slot.clinic
    full = SlotFactory(doctor=doctor, clinic=clinic, capacity=1)
    BookingFactory(slot=full)
    closed = SlotFactory(doctor=doctor, clinic=clinic, is_open=False)
    SlotFactory()  # another clinic
    client = client_for(stranger.account)
    everything = client.get("/api/slots/", {"clinic": clinic.pk}).json()
    assert [s["id"] for s in everything["results"]] == [slot.pk, full.pk, closed.pk]
    available = client.get("/api/slots/", {"clinic": clinic.pk, "available": "true"}).json()["results"]
    assert [s["id"] for s in available] == [slot.pk]
    assert available[0]["remaining"] == 1 and available[0]["doctor"]["id"] == doctor.pk


def test_slot_list_date_filters_use_local_dates(client_for, stranger):
    slot = SlotFactory()
    day = timezone.localtime(slot.starts_at).date()
    client = client_for(stranger.account)
    assert client.get("/api/slots/", {"date_from": day, "date_to": day}).json()["count"] == 1
    assert client.get("/api/slots/", {"date_from": day + timedelta(days=1)}).json()["count"] == 0
    bad = client.get("/api/slots/", {"date_from": "tomorrow"})
    assert bad.status_code == 400 and "date_from" in error_attrs(bad)
    assert client.get("/api/slots/", {"date_from": day, "date_to": day - timedelta(days=1)}).status_code == 400


def test_slot_list_query_count_is_constant_whatever_the_page_size(client_for, stranger, django_assert_max_num_queries):
    first = SlotFactory()
    for _ in range(30):
        SlotFactory(doctor=doctor_in(first.clinic), clinic=first.clinic)
    client = client_for(stranger.account)
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/slots/", {"page_size": 2}).json()["results"]) == 2
    with django_assert_max_num_queries(3):
        assert len(client.get("/api/slots/", {"page_size": 30}).json()["results"]) == 30


# --- booking ----------------------------------------------------------------------------


def test_post_booking_by_proxy_for_dependant(client_for, family):
    daughter, father = family
    ConditionFactory(patient=father, icd10_code="I10")
    clinic = HypertensionClinicFactory()
    slot = SlotFactory(doctor=doctor_in(clinic), clinic=clinic)
    response = post_booking(client_for(daughter.account), father, slot)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "booked" and body["queue_number"] == 1
    assert body["patient"] == {"id": father.pk, "full_name": father.full_name}
    assert body["slot"]["id"] == slot.pk and body["slot"]["booked"] == 1


def test_post_booking_for_someone_elses_patient_is_400_naming_patient_and_books_nothing(client_for, family, stranger):
    _, father = family
    response = post_booking(client_for(stranger.account), father, SlotFactory())
    assert response.status_code == 400 and "patient" in error_attrs(response)
    missing = client_for(stranger.account).post("/api/bookings/", {"patient": 999999, "slot": SlotFactory().pk, "reason": "x"})
    # Someone else's patient reads exactly like an id that does not exist.
    assert field_details(missing, "patient")[0].replace("999999", str(father.pk)) == field_details(response, "patient")[0]
    assert not Booking.objects.exists()


def test_post_booking_refusals_are_clear_4xx(client_for, stranger):
    client = client_for(stranger.account)
    full = SlotFactory(capacity=1)
    BookingFactory(slot=full)
    response = post_booking(client, stranger, full)
    assert response.status_code == 409 and error_code(response) == "slot_full" and "full" in error_detail(response)
    clinic = HypertensionClinicFactory(name="高血压云诊室")
    response = post_booking(client, stranger, SlotFactory(doctor=doctor_in(clinic), clinic=clinic))
    assert response.status_code == 422 and error_code(response) == "follow_up_only"
    assert "follow-up" in field_details(response, "patient")[0]
    assert post_booking(client, stranger, SlotFactory(), reason="").status_code == 400
    unknown_field = client.post("/api/bookings/", {"patient": stranger.pk, "slot": SlotFactory().pk, "reason": "x", "queue_number": 1})
    assert unknown_field.status_code == 400 and "queue_number" in error_attrs(unknown_field)
    assert not Booking.objects.filter(patient=stranger).exists()


def test_idempotency_key_replay_returns_original_and_different_body_is_422(client_for, stranger):
    client = client_for(stranger.account)
    slot = SlotFactory()
    first = post_booking(client, stranger, slot, HTTP_IDEMPOTENCY_KEY="retry-123")
    again = post_booking(client, stranger, slot, HTTP_IDEMPOTENCY_KEY="retry-123")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1
    changed = post_booking(client, stranger, slot, reason="another reason", HTTP_IDEMPOTENCY_KEY="retry-123")
    assert changed.status_code == 422 and error_code(changed) == "idempotency_key_reused"
    assert Booking.objects.count() == 1


def test_booking_list_and_detail_show_only_your_familys_bookings(client_for, family, stranger, django_assert_max_num_queries):
    daughter, father = family
    mine = [BookingFactory(patient=father), BookingFactory(patient=daughter)]
    theirs = BookingFactory(patient=stranger)
    client = client_for(daughter.account)
    with django_assert_max_num_queries(4):
        listed = client.get("/api/bookings/").json()
    assert sorted(b["id"] for b in listed["results"]) == sorted(b.pk for b in mine)
    assert client.get(f"/api/bookings/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/bookings/{theirs.pk}/cancel/", {}).status_code == 404


def test_cancel_endpoint_releases_the_place(client_for, stranger):
    booking = BookingFactory(patient=stranger)
    response = client_for(stranger.account).post(f"/api/bookings/{booking.pk}/cancel/", {"reason": "好了"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["slot"]["booked"] == 0


def test_invalid_transition_answers_409_naming_the_current_state(client_for, stranger):
    booking = BookingFactory(patient=stranger, status=BookingStatus.CANCELLED)
    response = client_for(stranger.account).post(f"/api/bookings/{booking.pk}/cancel/", {})
    assert response.status_code == 409 and error_code(response) == "invalid_transition"
    assert "cancelled" in error_detail(response)


def test_reschedule_endpoint_moves_the_booking(client_for, stranger):
    booking = BookingFactory(patient=stranger)
    other = SlotFactory(doctor=booking.slot.doctor, clinic=booking.slot.clinic,
                        starts_at=booking.slot.starts_at + timedelta(days=1), ends_at=booking.slot.ends_at + timedelta(days=1))
    response = client_for(stranger.account).post(f"/api/bookings/{booking.pk}/reschedule/", {"slot": other.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["slot"]["id"] == other.pk and response.json()["id"] == booking.pk


def test_check_in_endpoint_window_and_doctor_actions(client_for, stranger):
    start = timezone.now() + timedelta(minutes=10)
    booking = BookingFactory(patient=stranger, slot=SlotFactory(starts_at=start, ends_at=start + timedelta(minutes=15)))
    patient_client = client_for(stranger.account)
    doctor_client = client_for(booking.slot.doctor.user)
    assert doctor_client.post(f"/api/bookings/{booking.pk}/check-in/").status_code == 403
    assert patient_client.post(f"/api/bookings/{booking.pk}/check-in/").json()["status"] == "checked_in"
    assert patient_client.post(f"/api/bookings/{booking.pk}/start/").status_code == 403
    assert doctor_client.post(f"/api/bookings/{booking.pk}/start/").json()["status"] == "in_consult"
    assert doctor_client.post(f"/api/bookings/{booking.pk}/complete/").json()["status"] == "completed"


def test_check_in_too_early_is_422(client_for, stranger):
    booking = BookingFactory(patient=stranger)
    response = client_for(stranger.account).post(f"/api/bookings/{booking.pk}/check-in/")
    assert response.status_code == 422 and error_code(response) == "check_in_not_open"


# --- the doctor's worklist --------------------------------------------------------------


def test_worklist_lists_the_doctors_day_with_patient_age_reason_and_status(client_for, django_assert_max_num_queries):
    first = SlotFactory()
    doctor = first.doctor
    second = SlotFactory(doctor=doctor, clinic=first.clinic, starts_at=first.starts_at + timedelta(minutes=15),
                         ends_at=first.ends_at + timedelta(minutes=15))
    father = DependantFactory(full_name="张林 Zhang Lin")
    b2 = BookingFactory(slot=second, patient=father, reason="血压控制不佳")
    b1 = BookingFactory(slot=first)
    BookingFactory(slot=first, status=BookingStatus.CANCELLED, queue_number=9)
    BookingFactory()  # another doctor's
    day = timezone.localtime(first.starts_at).date()
    client = client_for(doctor.user)
    with django_assert_max_num_queries(4):
        rows = client.get("/api/doctor/worklist/", {"date": day}).json()["results"]
    assert [r["id"] for r in rows] == [b1.pk, b2.pk]
    assert rows[1]["patient"]["full_name"] == "张林 Zhang Lin" and rows[1]["patient"]["age"] == father.age
    assert rows[1]["reason"] == "血压控制不佳" and rows[1]["status"] == "booked"
    assert client.get("/api/doctor/worklist/", {"date": day + timedelta(days=1)}).json()["count"] == 0


def test_worklist_is_for_doctors_only(client_for, stranger):
    assert client_for(stranger.account).get("/api/doctor/worklist/").status_code == 403
    assert client_for(UserFactory(role="doctor")).get("/api/doctor/worklist/").status_code == 403


def test_clinic_endpoint_hides_inactive_clinics(client_for, stranger):
    HypertensionClinicFactory(is_active=False)
    assert client_for(stranger.account).get("/api/clinics/").json()["count"] == 0
