"""Every list is paginated the same way, `{count, next, previous, results}`, and refuses a page
or page size it cannot honour (400 naming the parameter; a page past the end is a 404), never
a 500, a silently capped page or a bare array.

The walk is over the schema: every GET operation whose 200 answer is a list must be
documented with the paginated envelope and must have a case in LIST_CASES below, so a new
list endpoint without one fails here.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cloudhospital.models import Role
from cloudhospital.permissions import SYSTEM
from pharmacy.access import token_create
from tests.api_errors import error_attrs, error_code
from tests.consult.rooms import make_room
from tests.factories import ApprovedPrescriptionFactory, ConditionFactory, PharmacyFactory, StockFactory, UserFactory

pytestmark = pytest.mark.django_db
ENVELOPE = {"count", "next", "previous", "results"}
NEAR = {"lat": 29.8683, "lng": 121.5440}

# path -> (who asks, extra query parameters)
LIST_CASES = {
    "/api/auth/tokens/": ("family", {}),
    "/api/bookings/": ("family", {}),
    "/api/clinics/": ("family", {}),
    "/api/consultations/": ("family", {}),
    "/api/consultations/{id}/messages/": ("family", {}),
    "/api/consultations/{consultation_id}/recordings/": ("family", {}),
    "/api/doctor/worklist/": ("doctor", {}),
    "/api/doctors/": ("family", {}),
    "/api/drugs/": ("family", {}),
    "/api/hospitals/": ("family", {}),
    "/api/leaves/": ("doctor", {}),
    "/api/notifications/": ("family", {}),
    "/api/orders/": ("family", {}),
    "/api/patients/": ("family", {}),
    "/api/patients/{patient_pk}/allergies/": ("family", {}),
    "/api/patients/{patient_pk}/conditions/": ("family", {}),
    "/api/patients/{patient_pk}/conditions/{condition_pk}/evidence/": ("family", {}),
    "/api/patients/{patient_pk}/medications/": ("family", {}),
    "/api/patients/{patient_pk}/observations/": ("family", {}),
    "/api/patients/{id}/access-log/": ("family", {}),
    "/api/patients/{id}/proxies/": ("family", {}),
    "/api/patients/{patient_pk}/activity/": ("family", {}),
    "/api/patients/{patient_pk}/consents/": ("family", {}),
    "/api/patients/{patient_pk}/proxy-consents/": ("family", {}),
    "/api/pharmacies/": ("family", NEAR),
    "/api/pharmacy/orders/": ("pharmacy", {}),
    "/api/pharmacy/signing-keys/": ("pharmacy", {}),
    "/api/pharmacy/stock/": ("pharmacy", {}),
    "/api/prescriptions/": ("family", {}),
    "/api/prescriptions/{id}/pharmacies/": ("family", NEAR),
    "/api/prescriptions/review-queue/": ("pharmacist", {}),
    "/api/schedule-templates/": ("doctor", {}),
    "/api/signing-keys/": ("family", {}),
    "/api/slots/": ("family", {}),
}


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def list_operations(document: dict) -> dict[str, dict]:
    """GET operations answering a list: a bare array or a paginated envelope."""
    found = {}
    for path, methods in document["paths"].items():
        operation = methods.get("get")
        if operation is None:
            continue
        body = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        name = body.get("$ref", "").rsplit("/", 1)[-1]
        if body.get("type") == "array" or name.startswith("Paginated"):
            found[path] = operation
    return found


def test_every_list_operation_is_documented_with_the_paginated_envelope():
    document = schema()
    components = document["components"]["schemas"]
    operations = list_operations(document)
    assert set(operations) == set(LIST_CASES), "a list operation without a case here (or a case for none)"
    for path, operation in operations.items():
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in body, f"{path} answers a bare array"
        envelope = components[body["$ref"].rsplit("/", 1)[-1]]
        assert set(envelope["properties"]) == ENVELOPE and envelope["properties"]["results"]["type"] == "array", path
        parameters = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"page", "page_size"} <= parameters, path
        assert "400" in operation["responses"] and "404" in operation["responses"], f"{path} declares no 400/404"


class World:
    """A checked-in consultation of Zhang Lin (his daughter the proxy), an approved
    prescription of his that a stocked pharmacy can fill, a review pharmacist."""

    def __init__(self):
        room = make_room()
        self.patient, self.family, self.doctor = room.patient, room.proxy, room.doctor_user
        self.consultation = room.consultation
        self.prescription = ApprovedPrescriptionFactory(patient=self.patient)
        self.pharmacy = PharmacyFactory(**{"latitude": NEAR["lat"], "longitude": NEAR["lng"]})
        for item in self.prescription.items.all():
            StockFactory(pharmacy=self.pharmacy, drug=item.drug, on_hand=100)
        self.pharmacist = UserFactory(role=Role.PHARMACIST)
        self.condition = ConditionFactory(patient=self.patient)

    def client(self, who: str) -> APIClient:
        client = APIClient()
        if who == "pharmacy":
            _, plaintext = token_create(pharmacy=self.pharmacy, name="tests POS", by=SYSTEM)
            client.credentials(HTTP_AUTHORIZATION=f"Pharmacy {plaintext}")
        else:
            client.force_authenticate(getattr(self, who))
        return client

    def url(self, path: str) -> str:
        if path.startswith("/api/consultations/"):
            return path.replace("{id}", str(self.consultation.pk)).replace("{consultation_id}", str(self.consultation.pk))
        if path.startswith("/api/prescriptions/"):
            return path.replace("{id}", str(self.prescription.pk))
        path = path.replace("{condition_pk}", str(self.condition.pk))
        return path.replace("{patient_pk}", str(self.patient.pk)).replace("{id}", str(self.patient.pk))


@pytest.fixture
def world():
    return World()


@pytest.mark.parametrize("path", sorted(LIST_CASES))
def test_list_answers_the_envelope_and_refuses_pages_it_cannot_honour(world, path):
    who, params = LIST_CASES[path]
    client, url = world.client(who), world.url(path)

    response = client.get(url, params)
    assert response.status_code == 200, response.content
    assert set(response.json()) == ENVELOPE
    assert client.get(url, {**params, "page_size": 100}).status_code == 200

    for parameter, value in [("page_size", 101), ("page_size", 1000), ("page_size", "abc"), ("page_size", 0),
                             ("page_size", -5), ("page_size", "1.5"), ("page", "abc"), ("page", 0), ("page", -1)]:
        refused = client.get(url, {**params, parameter: value})
        assert refused.status_code == 400, (parameter, value, refused.status_code, refused.content)
        assert error_attrs(refused) == {parameter}, (parameter, value)

    past_the_end = client.get(url, {**params, "page": 999})
    assert past_the_end.status_code == 404 and error_code(past_the_end) == "not_found"


def test_next_and_previous_links_tell_the_truth(world):
    PharmacyFactory(latitude=NEAR["lat"] + 0.01, longitude=NEAR["lng"])
    client = world.client("family")
    first = client.get("/api/pharmacies/", {**NEAR, "page_size": 1}).json()
    assert first["count"] == 2 and len(first["results"]) == 1 and first["previous"] is None
    assert "page=2" in first["next"] and "page_size=1" in first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None and second["previous"]
    assert second["results"][0]["id"] != first["results"][0]["id"]
