"""No response gives a whole ID number back, alone or with what else it shows. Every place a
patient appears (their own profile, the list, registration, the record, the FHIR export)
is walked: an ID number appears only masked, with nothing but its first and last character
visible, so the birth date beside it (the digits after the region) cannot complete it."""

import json

import pytest

from tests.consult.rooms import make_room

pytestmark = pytest.mark.django_db


def strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


def assert_no_number_recoverable(body, number: str):
    values = list(strings(body))
    assert not any(number in value for value in values)
    masked = [value for value in values if len(value) == len(number) and "*" in value]
    assert masked, "the masked number is shown"
    # Region (first six) and sequence + check (last four) would complete the number with the
    # birth date: neither may be visible.
    assert all(value[1:-1] == "*" * (len(number) - 2) for value in masked), masked


@pytest.fixture
def room():
    return make_room()


@pytest.mark.parametrize("viewer", ["proxy", "doctor_user"])
@pytest.mark.parametrize("path", ["/api/patients/{id}/", "/api/patients/", "/api/patients/{id}/record/"])
def test_patient_responses_show_the_number_masked_beyond_recovery(room, client_for, viewer, path):
    body = client_for(getattr(room, viewer)).get(path.format(id=room.patient.pk)).json()
    assert room.patient.birth_date.isoformat() in json.dumps(body)  # the birth date is shown...
    assert_no_number_recoverable(body, room.patient.id_number)  # ...and still cannot complete the number


def test_the_fhir_export_never_carries_the_number(room, client_for):
    body = client_for(room.doctor_user).get(f"/api/patients/{room.patient.pk}/fhir/").json()
    text = json.dumps(body)
    assert room.patient.id_number not in text and room.patient.id_number[:6] + room.patient.id_number[6:14] not in text


def test_registration_answers_with_the_masked_number(client):
    from datetime import date

    from cloudhospital.identity import make_resident_id

    number = make_resident_id(region="330203", birth_date=date(1937, 3, 15), sequence=46, sex="female")
    body = client.post("/api/auth/register/", {"full_name": "李梅", "id_number": number, "phone": "13800009999",
                                               "password": "Yunyiyuan-2026-mask"}, content_type="application/json").json()
    assert_no_number_recoverable(body, number)
