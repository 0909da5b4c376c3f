"""The family's account, people and health-record pages (consult.record_pages): each
refusal at its field with a 400, another family's patient a 404, reads through record_for."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from cloudhospital.identity import make_resident_id
from cloudhospital.models import AccessLog, User
from consult import selectors
from consult.models import Observation, Patient, ProxyLink
from tests.factories import (
    AllergyFactory,
    BloodPressureFactory,
    ConditionFactory,
    DependantFactory,
    MedicationFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

STRONG = "Lotus-harbour-2026"


def resident_id(seq: int = 7, *, born=date(1990, 5, 1), sex="female") -> str:
    return make_resident_id(region="330203", birth_date=born, sequence=seq, sex=sex)


def register_data(**overrides) -> dict:
    data = {"full_name": "张薇", "id_number": resident_id(), "phone": "13800001234",
            "password": STRONG, "password_confirm": STRONG}
    return {**data, **overrides}


def field_error(response, field: str) -> str:
    """The message shown at `field` (the data-error-for paragraph), or ''."""
    import re

    match = re.search(rf'data-error-for="{field}">([^<]*)<', response.content.decode())
    return match.group(1) if match else ""


# --- Register -------------------------------------------------------------------------


def test_register_creates_the_account_logs_in_and_goes_home(client):
    response = client.post("/register/", register_data())
    assert response.status_code == 302 and response.url == "/home/"
    patient = Patient.objects.get(full_name="张薇")
    assert patient.account.phone == "+8613800001234" and patient.birth_date == date(1990, 5, 1)
    assert client.get("/home/").url == "/patient/"  # logged in as her


def test_register_refuses_a_wrong_id_number_at_its_field_keeping_what_was_typed(client):
    wrong = resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1")
    response = client.post("/register/", register_data(id_number=wrong))
    assert response.status_code == 400
    assert "check character" in field_error(response, "id_number")
    assert 'value="张薇"' in response.content.decode()
    assert not User.objects.filter(full_name="张薇").exists()


@pytest.mark.parametrize(("field", "value", "words"), [
    ("phone", "1234", "mobile"),
    ("password", "12345678", "numeric"),
    ("password_confirm", "Something-else-2026", "not the same"),
])
def test_register_refuses_bad_input_at_the_field(client, field, value, words):
    overrides = {field: value, "password_confirm": value} if field == "password" else {field: value}
    response = client.post("/register/", register_data(**overrides))
    assert response.status_code == 400
    assert words in field_error(response, field).lower()


def test_register_with_a_taken_phone_or_id_number_is_refused_at_the_field(client):
    taken = PatientFactory()
    response = client.post("/register/", register_data(phone=taken.account.phone[3:]))
    assert response.status_code == 400 and "already exists" in field_error(response, "phone")
    response = client.post("/register/", register_data(id_number=taken.id_number))
    assert response.status_code == 400 and "already registered" in field_error(response, "id_number")
    assert Patient.objects.count() == 1


def test_register_is_for_anonymous_visitors_only(client):
    client.force_login(PatientFactory().account)
    assert client.get("/register/").url == "/home/"
    assert client.post("/register/", register_data()).url == "/home/"
    assert not Patient.objects.filter(full_name="张薇").exists()


def test_the_login_page_links_to_registering(client):
    assert 'href="/register/"' in client.get("/login/").content.decode()
