import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from django.urls import reverse
from rest_framework.test import APIClient

from cloudhospital.permissions import SYSTEM
from pharmacy.access import token_create, token_revoke
from pharmacy.models import Stock
from tests.fuzzing import fuzz_examples
from tests.factories import PharmacyFactory, PharmacyStaffFactory, PatientFactory, StockFactory, UserFactory
from tests.pharmacy.conftest import HOME, north_of_home
from tests.api_errors import error_attrs

pytestmark = pytest.mark.django_db
STOCK = reverse("pharmacy-stock")
ME = reverse("pharmacy-me")
DIRECTORY = reverse("pharmacy-directory")


def token_client(pharmacy) -> APIClient:
    _, plaintext = token_create(pharmacy=pharmacy, name="tests", by=SYSTEM)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Pharmacy {plaintext}")
    return client


@pytest.fixture
def two_pharmacies(drugs):
    mine, theirs = PharmacyFactory(name="Mine"), PharmacyFactory(name="Theirs")
    StockFactory(pharmacy=mine, drug=drugs[0], on_hand=10, reserved=2)
    StockFactory(pharmacy=theirs, drug=drugs[0], on_hand=99)
    StockFactory(pharmacy=theirs, drug=drugs[1], on_hand=50)
    return mine, theirs


def test_token_sees_its_own_pharmacy_profile(two_pharmacies):
    mine, _ = two_pharmacies
    response = token_client(mine).get(ME)
    assert response.status_code == 200
    assert response.json()["name"] == "Mine" and len(response.json()["opening_hours"]) == 7
    assert "webhook_secret" not in response.json()


def test_token_lists_only_its_own_stock(two_pharmacies, drugs, django_assert_max_num_queries):
    mine, _ = two_pharmacies
    client = token_client(mine)
    with django_assert_max_num_queries(4):
        response = client.get(STOCK)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"][0] | {"updated_at": None} == {
        "drug_code": "AML5", "drug_name": str(type(drugs[0]).objects.get(pk=drugs[0].pk)), "on_hand": 10, "reserved": 2, "available": 8,
        "updated_at": None,
    }
    assert client.get(STOCK, {"drug_code": "VAL80"}).json()["count"] == 0


def test_stock_list_is_paginated_with_constant_queries(drugs, django_assert_max_num_queries):
    from tests.factories import DrugFactory

    pharmacy = PharmacyFactory()
    for _ in range(30):
        StockFactory(pharmacy=pharmacy, drug=DrugFactory())
    client = token_client(pharmacy)
    with django_assert_max_num_queries(4):
        body = client.get(STOCK, {"page_size": 25}).json()
    assert body["count"] == 30 and len(body["results"]) == 25 and body["next"]


def test_revoked_token_is_refused(two_pharmacies):
    mine, _ = two_pharmacies
    token, plaintext = token_create(pharmacy=mine, name="old POS", by=SYSTEM)
    token_revoke(token=token, by=SYSTEM)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Pharmacy {plaintext}")
    response = client.get(STOCK)
    assert response.status_code == 401
    assert client.put(STOCK, [{"drug_code": "AML5", "quantity": 0}], format="json").status_code == 401
    assert Stock.objects.get(pharmacy=mine).on_hand == 10


@pytest.mark.parametrize("header", ["Pharmacy nonsense", "Pharmacy", "Pharmacy a b"])
def test_malformed_or_unknown_token_is_refused(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get(ME).status_code == 401


def test_pharmacy_token_opens_nothing_outside_the_pharmacy_api(two_pharmacies):
    mine, _ = two_pharmacies
    client = token_client(mine)
    assert client.get(reverse("patient-list")).status_code == 401
    assert client.get(DIRECTORY, {"lat": HOME[0], "lng": HOME[1]}).status_code == 401


def test_anonymous_is_refused_and_a_patient_is_forbidden(client_for, two_pharmacies):
    assert APIClient().get(STOCK).status_code == 401
    patient = PatientFactory().account
    assert client_for(patient).get(STOCK).status_code == 403
    assert client_for(patient).put(STOCK, {"AML5": 1}, format="json").status_code == 403


def test_pharmacy_staff_login_acts_for_its_own_pharmacy(client_for, two_pharmacies):
    mine, theirs = two_pharmacies
    staff = PharmacyStaffFactory(pharmacy=theirs).user
    body = client_for(staff).get(STOCK).json()
    assert {row["drug_code"] for row in body["results"]} == {"AML5", "VAL80"}
    assert client_for(staff).get(ME).json()["name"] == "Theirs"


def test_pharmacist_without_a_pharmacy_is_forbidden(client_for):
    assert client_for(UserFactory(role="pharmacist")).get(STOCK).status_code == 403


def test_staff_of_an_inactive_pharmacy_is_forbidden(client_for):
    membership = PharmacyStaffFactory(pharmacy=PharmacyFactory(active=False))
    assert client_for(membership.user).get(ME).status_code == 403


def test_put_stock_applies_lines_and_reports_each_one(two_pharmacies, drugs):
    mine, theirs = two_pharmacies
    response = token_client(mine).put(
        STOCK,
        [{"drug_code": "AML5", "quantity": 40}, {"drug_code": "XYZ9", "quantity": 3}, {"drug_code": "MET500", "quantity": 7}],
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["applied"], body["refused"]) == (2, 1)
    assert [(line["drug_code"], line["status"]) for line in body["lines"]] == [
        ("AML5", "applied"), ("XYZ9", "unknown_drug_code"), ("MET500", "applied"),
    ]
    assert body["lines"][0] == {"line": 0, "drug_code": "AML5", "status": "applied", "message": "", "on_hand": 40, "reserved": 2}
    assert dict(Stock.objects.filter(pharmacy=mine).values_list("drug__code", "on_hand")) == {"AML5": 40, "MET500": 7}
    assert dict(Stock.objects.filter(pharmacy=theirs).values_list("drug__code", "on_hand")) == {"AML5": 99, "VAL80": 50}


def test_put_stock_accepts_a_mapping_and_reports_below_reserved(two_pharmacies):
    mine, _ = two_pharmacies
    body = token_client(mine).put(STOCK, {"AML5": 1, "VAL80": 5}, format="json").json()
    assert [(line["drug_code"], line["status"], line["reserved"]) for line in body["lines"]] == [
        ("AML5", "below_reserved", 2), ("VAL80", "applied", 0),
    ]
    assert Stock.objects.get(pharmacy=mine, drug__code="AML5").on_hand == 10


@pytest.mark.parametrize(
    "payload",
    [[], {}, [{"drug_code": "AML5", "quantity": -1}], [{"drug_code": "AML5"}], [{"drug_code": "AML5", "quantity": 1, "price": 3}], "AML5"],
)
def test_put_stock_refuses_malformed_bodies_and_applies_nothing(two_pharmacies, payload):
    mine, _ = two_pharmacies
    response = token_client(mine).put(STOCK, [{"drug_code": "VAL80", "quantity": 3}, *payload] if isinstance(payload, list) and payload else payload, format="json")
    assert response.status_code == 400
    assert not Stock.objects.filter(pharmacy=mine, drug__code="VAL80").exists()


def test_put_stock_by_staff_login_is_attributed_in_history(client_for, two_pharmacies):
    mine, _ = two_pharmacies
    staff = PharmacyStaffFactory(pharmacy=mine).user
    client_for(staff).put(STOCK, {"AML5": 30}, format="json")
    latest = Stock.objects.get(pharmacy=mine, drug__code="AML5").history.first()
    assert latest.on_hand == 30 and latest.history_user == staff


def test_directory_lists_nearest_pharmacies_with_distance_and_no_stock(client_for, django_assert_max_num_queries):
    far = PharmacyFactory(name="Far", latitude=north_of_home(3)[0], longitude=HOME[1])
    near = PharmacyFactory(name="Near", latitude=north_of_home(1)[0], longitude=HOME[1])
    client = client_for(PatientFactory().account)
    with django_assert_max_num_queries(5):
        response = client.get(DIRECTORY, {"lat": HOME[0], "lng": HOME[1], "limit": 2})
    assert response.status_code == 200
    body = response.json()
    rows = body["results"]
    assert body["count"] == 2 and body["next"] is None
    assert [row["name"] for row in rows] == ["Near", "Far"]
    assert rows[0]["distance_km"] == pytest.approx(1.0, abs=0.02) and rows[0]["id"] == near.pk and rows[1]["id"] == far.pk
    assert not {"stock", "on_hand", "available", "reserved"} & set(rows[0])
    assert {"open_now", "next_opening", "closes_at", "opening_hours"} <= set(rows[0])


@pytest.mark.parametrize(
    ("params", "field"),
    [({"lat": 95, "lng": 121.5}, "lat"), ({"lat": 29.8, "lng": -200}, "lng"), ({"lat": "abc", "lng": 121.5}, "lat"), ({"lat": 29.8}, "lng"), ({"lat": 29.8, "lng": 121.5, "lattitude": 1}, "lattitude")],
)
def test_directory_refuses_bad_coordinates_naming_the_field(client_for, params, field):
    response = client_for(PatientFactory().account).get(DIRECTORY, params)
    assert response.status_code == 400 and field in error_attrs(response)


def test_directory_needs_a_login():
    assert APIClient().get(DIRECTORY, {"lat": HOME[0], "lng": HOME[1]}).status_code == 401


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=25), children, max_size=4),
    max_leaves=12,
)
line = st.fixed_dictionaries({"drug_code": st.sampled_from(["AML5", "VAL80", "", "x" * 21]) | st.text(max_size=8), "quantity": json_values})


@settings(max_examples=fuzz_examples(60), deadline=None, suppress_health_check=list(HealthCheck))
@given(body=json_values | st.lists(line, max_size=5) | st.dictionaries(st.sampled_from(["AML5", "VAL80", "Z"]), json_values, max_size=3))
def test_put_stock_never_answers_5xx_and_changes_nothing_on_400(two_pharmacies, body):
    mine, _ = two_pharmacies
    before = dict(Stock.objects.filter(pharmacy=mine).values_list("drug__code", "on_hand"))
    response = token_client(mine).put(STOCK, body, format="json")
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert dict(Stock.objects.filter(pharmacy=mine).values_list("drug__code", "on_hand")) == before
