"""Children under ONLINE_CARE_GUARDIAN_AGE are seen online only with a guardian present
(互联网诊疗管理办法（试行） art. 19; consult.young_children): a parent or legal guardian books,
and the doctor confirms at admission that one is present."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from cloudhospital.errors import DomainError
from consult import booking as booking_rules
from consult import consultation as consult_rules
from consult import signalling, young_children
from consult.models import Booking, Consultation, Patient, ProxyLink, Relationship
from tests.consult.rooms import make_room
from tests.factories import DependantFactory, PatientFactory, SlotFactory

pytestmark = pytest.mark.django_db


def years_ago(years: int, days: int = 0) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=days)


def refusal(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture
def child_room():
    """Dr. Chen's checked-in consultation with a three-year-old, booked by the child's mother
    (the child is her CHILD); the follow-up of the child's condition confirmed."""
    room = make_room()
    Patient.objects.filter(pk=room.patient.pk).update(birth_date=years_ago(3))
    ProxyLink.objects.filter(patient=room.patient, proxy=room.proxy).update(relationship=Relationship.CHILD)
    room.patient.refresh_from_db()
    return room


def test_the_guardian_age_is_a_setting_citing_the_rule(settings):
    assert settings.ONLINE_CARE_GUARDIAN_AGE == 6
    five = PatientFactory(birth_date=years_ago(6, days=-1))  # six tomorrow
    six = PatientFactory(birth_date=years_ago(6))
    assert young_children.is_young_child(five) and not young_children.is_young_child(six)
    settings.ONLINE_CARE_GUARDIAN_AGE = 7
    assert young_children.is_young_child(six)


# --- Booking --------------------------------------------------------------------------------------


@pytest.mark.parametrize("relationship, allowed", [
    (Relationship.CHILD, True), (Relationship.WARD, True),
    (Relationship.PARENT, False), (Relationship.SPOUSE, False), (Relationship.OTHER, False),
])
def test_only_a_parent_or_legal_guardian_books_for_a_young_child(relationship, allowed):
    family = PatientFactory().account
    child = DependantFactory(birth_date=years_ago(4), proxy=family, proxy__relationship=relationship)
    slot = SlotFactory(starts_at=timezone.now() + timedelta(days=1))
    if allowed:
        booking, created = booking_rules.booking_create(by=family, patient=child, slot=slot, reason="复诊 asthma")
        assert created and booking.patient == child
    else:
        error = refusal(booking_rules.booking_create, by=family, patient=child, slot=slot, reason="复诊 asthma")
        assert (error.code, error.field, error.kind) == ("guardian_required", "patient", "unprocessable")
        assert "互联网诊疗管理办法（试行） art. 19" in error.message
        assert not Booking.objects.filter(patient=child).exists()


def test_an_older_childs_booking_needs_no_guardian_relationship():
    family = PatientFactory().account
    child = DependantFactory(birth_date=years_ago(8), proxy=family, proxy__relationship=Relationship.OTHER)
    slot = SlotFactory(starts_at=timezone.now() + timedelta(days=1))
    assert booking_rules.booking_create(by=family, patient=child, slot=slot, reason="复诊")[1]


def test_booking_for_a_young_child_through_the_api_is_refused_to_a_non_guardian(client_for):
    family = PatientFactory().account
    child = DependantFactory(birth_date=years_ago(2), proxy=family, proxy__relationship=Relationship.OTHER)
    slot = SlotFactory(starts_at=timezone.now() + timedelta(days=1))
    response = client_for(family).post("/api/bookings/", {"patient": child.pk, "slot": slot.pk, "reason": "复诊"},
                                       format="json")
    assert response.status_code == 422
    assert (response.json()["errors"][0]["code"], response.json()["errors"][0]["attr"]) == ("guardian_required", "patient")


# --- Admission ------------------------------------------------------------------------------------


def test_admitting_a_young_child_needs_the_doctors_guardian_confirmation(child_room):
    error = refusal(consult_rules.consultation_admit, by=child_room.doctor_user, consultation=child_room.consultation)
    assert (error.code, error.field, error.kind) == ("guardian_not_confirmed", "guardian_present", "unprocessable")
    assert Consultation.objects.get(pk=child_room.consultation.pk).status == "waiting"
    consultation = consult_rules.consultation_admit(by=child_room.doctor_user, consultation=child_room.consultation,
                                                    guardian_present=True)
    consultation = Consultation.objects.get(pk=consultation.pk)
    assert consultation.status == "in_progress"
    assert consultation.guardian_confirmed_by == child_room.doctor_user
    assert timezone.now() - consultation.guardian_confirmed_at < timedelta(minutes=1)


def test_the_admit_api_takes_the_guardian_confirmation_in_its_body(child_room):
    from tests.second_factor import token_client

    doctor = token_client(child_room.doctor_user)
    url = f"/api/consultations/{child_room.consultation.pk}/admit/"
    refused = doctor.post(url, {}, format="json")
    assert refused.status_code == 422
    assert (refused.json()["errors"][0]["code"], refused.json()["errors"][0]["attr"]) == (
        "guardian_not_confirmed", "guardian_present")
    admitted = doctor.post(url, {"guardian_present": True}, format="json")
    assert admitted.status_code == 200 and admitted.json()["status"] == "in_progress"
    assert admitted.json()["guardian_confirmed_at"]


def test_a_young_child_booked_by_someone_who_is_no_longer_a_guardian_is_not_admitted(child_room):
    ProxyLink.objects.filter(patient=child_room.patient).update(relationship=Relationship.OTHER)
    error = refusal(consult_rules.consultation_admit, by=child_room.doctor_user, consultation=child_room.consultation,
                    guardian_present=True)
    assert error.code == "guardian_required"
    assert Consultation.objects.get(pk=child_room.consultation.pk).guardian_confirmed_at is None


def test_an_adult_is_admitted_without_a_guardian():
    room = make_room()
    consultation = consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    assert consultation.status == "in_progress" and consultation.guardian_confirmed_at is None


def test_the_socket_admit_carries_the_guardian_confirmation_only_when_true():
    assert signalling.parse_client_message('{"type": "admit", "guardian_present": true}') == {
        "type": "admit", "guardian_present": True}
    for value in ('"yes"', "1", "false", "null"):
        assert signalling.parse_client_message(f'{{"type": "admit", "guardian_present": {value}}}')["guardian_present"] is False
    assert signalling.parse_client_message('{"type": "admit"}')["guardian_present"] is False


# --- The doctor's page ----------------------------------------------------------------------------


def test_the_room_shows_the_guardian_checkbox_only_for_a_young_child_waiting(child_room, client):
    client.force_login(child_room.doctor_user)
    page = client.get(f"/consult/{child_room.consultation.pk}/").content.decode()
    assert 'id="guardian-present"' in page and "A parent or legal guardian is present (child under 6)" in page
    adult = make_room()
    client.force_login(adult.doctor_user)
    assert 'id="guardian-present"' not in client.get(f"/consult/{adult.consultation.pk}/").content.decode()
    consult_rules.consultation_admit(by=child_room.doctor_user, consultation=child_room.consultation, guardian_present=True)
    client.force_login(child_room.doctor_user)
    assert 'id="guardian-present"' not in client.get(f"/consult/{child_room.consultation.pk}/").content.decode()
