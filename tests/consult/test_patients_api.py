"""Patients, dependants and proxies through the API, refusals included."""

import pytest

from cloudhospital.identity import make_resident_id
from consult.models import Patient, ProxyLink
from tests.factories import DependantFactory, PatientFactory, ProxyLinkFactory
from tests.api_errors import error_attrs, error_code, error_detail

pytestmark = pytest.mark.django_db

FATHER_ID = make_resident_id(region="330203", birth_date=__import__("datetime").date(1937, 3, 15), sequence=1, sex="male")


def add_dependant(client, **overrides):
    body = {"full_name": "张林 Zhang Lin", "id_number": FATHER_ID, "relationship": "parent"}
    body.update(overrides)
    return client.post("/api/patients/", body, format="json")


def test_account_holder_adds_a_dependant_without_a_login(client_for):
    daughter = PatientFactory()
    response = add_dependant(client_for(daughter.account))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["relationship"] == "parent"
    assert body["has_login"] is False
    assert body["birth_date"] == "1937-03-15" and body["sex"] == "male"
    assert body["id_number"] == FATHER_ID[0] + "*" * 16 + FATHER_ID[-1]
    father = Patient.objects.get(pk=body["id"])
    assert father.account is None
    assert ProxyLink.objects.get(patient=father).proxy == daughter.account


def test_patient_list_shows_own_profile_and_dependants_only(client_for, family, stranger, django_assert_max_num_queries):
    daughter, father = family
    DependantFactory(proxy=daughter.account)
    with django_assert_max_num_queries(6):
        response = client_for(daughter.account).get("/api/patients/")
    ids = {p["id"] for p in response.json()["results"]}
    assert daughter.pk in ids and father.pk in ids and len(ids) == 3
    assert stranger.pk not in ids


def test_adding_an_already_registered_id_number_is_refused_naming_the_field(client_for, family):
    daughter, father = family
    other = PatientFactory()
    response = add_dependant(client_for(other.account), id_number=father.id_number)
    assert response.status_code == 400
    assert "id_number" in error_attrs(response)
    assert not ProxyLink.objects.filter(proxy=other.account).exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"relationship": "cousin"}, "relationship"),
        ({"id_number": "330203193703150000"}, "id_number"),
        ({"phone": "555"}, "phone"),
        ({"id_number": 12}, "id_number"),
        ({"age": 84}, "age"),
    ],
)
def test_dependant_bad_input_is_400_naming_the_field(client_for, overrides, field):
    daughter = PatientFactory()
    response = add_dependant(client_for(daughter.account), **overrides)
    assert response.status_code == 400
    assert field in error_attrs(response)
    assert Patient.objects.count() == 1


def test_several_proxies_share_one_dependant(client_for, family):
    daughter, father = family
    son = PatientFactory()
    response = client_for(daughter.account).post(
        f"/api/patients/{father.pk}/proxies/", {"phone": son.account.phone, "relationship": "parent"}, format="json"
    )
    assert response.status_code == 201, response.json()
    son_view = client_for(son.account).get(f"/api/patients/{father.pk}/")
    assert son_view.status_code == 200 and son_view.json()["relationship"] == "parent"
    listed = client_for(son.account).get(f"/api/patients/{father.pk}/proxies/").json()
    proxies = listed["results"]
    assert listed["count"] == len(proxies) == 2
    assert all("****" in p["phone"] for p in proxies)


def test_last_proxy_of_a_dependant_cannot_be_removed(client_for, family):
    daughter, father = family
    link = ProxyLink.objects.get(patient=father)
    response = client_for(daughter.account).delete(f"/api/patients/{father.pk}/proxies/{link.pk}/")
    assert response.status_code == 409
    assert ProxyLink.objects.filter(pk=link.pk).exists()


def test_a_second_proxy_can_be_removed(client_for, family):
    daughter, father = family
    son = PatientFactory()
    link = ProxyLinkFactory(proxy=son.account, patient=father, relationship="parent")
    assert client_for(daughter.account).delete(f"/api/patients/{father.pk}/proxies/{link.pk}/").status_code == 204
    assert client_for(son.account).get(f"/api/patients/{father.pk}/").status_code == 404


def test_contact_details_change_but_identity_does_not(client_for, family):
    daughter, father = family
    client = client_for(daughter.account)
    response = client.patch(f"/api/patients/{father.pk}/", {"address": "宁波市海曙区 1 号"}, format="json")
    assert response.status_code == 200 and response.json()["address"] == "宁波市海曙区 1 号"
    refused = client.patch(f"/api/patients/{father.pk}/", {"birth_date": "1950-01-01"}, format="json")
    assert refused.status_code == 400 and "birth_date" in error_attrs(refused)
    father.refresh_from_db()
    assert str(father.birth_date) != "1950-01-01"


PATIENT_URLS = [
    "/api/patients/{id}/",
    "/api/patients/{id}/record/",
    "/api/patients/{id}/proxies/",
    "/api/patients/{id}/conditions/",
    "/api/patients/{id}/allergies/",
    "/api/patients/{id}/medications/",
    "/api/patients/{id}/observations/",
]


@pytest.mark.parametrize("url", PATIENT_URLS)
def test_another_patients_id_answers_404_on_every_endpoint(client_for, family, stranger, url):
    daughter, father = family
    client = client_for(stranger.account)
    assert client.get(url.format(id=father.pk)).status_code == 404
    assert client.get(url.format(id=daughter.pk)).status_code == 404
    if not url.endswith("record/") and url != "/api/patients/{id}/":
        assert client.post(url.format(id=father.pk), {}, format="json").status_code == 404


@pytest.mark.parametrize("role", ["doctor", "pharmacist", "pharmacy_staff", "hospital_admin"])
def test_staff_roles_get_no_patient_access_from_this_api(client_for, family, role):
    from tests.factories import UserFactory

    daughter, father = family
    client = client_for(UserFactory(role=role))
    assert client.get("/api/patients/").json()["count"] == 0
    for url in PATIENT_URLS:
        assert client.get(url.format(id=father.pk)).status_code == 404


def test_anonymous_requests_are_401(api, family):
    daughter, father = family
    for url in PATIENT_URLS:
        assert api.get(url.format(id=father.pk)).status_code == 401


def test_nested_entry_of_another_patient_is_not_found_through_own_patient_id(client_for, family, stranger):
    from tests.factories import ConditionFactory

    daughter, father = family
    foreign = ConditionFactory(patient=stranger)
    response = client_for(daughter.account).get(f"/api/patients/{father.pk}/conditions/{foreign.pk}/")
    assert response.status_code == 404


def test_adding_someone_already_registered_confirms_nothing_and_is_logged_on_their_record(client_for, family):
    from cloudhospital.models import AccessLog
    from tests.factories import PatientFactory

    daughter, _ = family
    someone = PatientFactory()
    response = client_for(daughter.account).post("/api/patients/", {
        "full_name": "随便", "id_number": someone.id_number, "relationship": "parent"}, format="json")
    assert response.status_code == 400 and error_code(response) == "cannot_add_dependant"
    assert "registered" not in error_detail(response) and someone.full_name not in response.content.decode()
    row = AccessLog.objects.get()
    assert (row.user, row.patient, row.action) == (daughter.account, someone, "dependant_add_refused")


def test_adding_dependants_is_rate_limited_per_account(client_for, family, monkeypatch):
    from django.core.cache import cache

    from cloudhospital.api.throttling import FailOpenScopedRateThrottle
    from tests.factories import PatientFactory

    monkeypatch.setattr(FailOpenScopedRateThrottle, "THROTTLE_RATES", {"dependant_add": "2/day"})
    cache.clear()
    daughter, _ = family
    api = client_for(daughter.account)
    codes = [api.post("/api/patients/", {"full_name": "x", "id_number": PatientFactory().id_number,
                                         "relationship": "parent"}, format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    assert client_for(PatientFactory().account).post("/api/patients/", {}, format="json").status_code == 400  # per account
