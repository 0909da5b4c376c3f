"""The error contract: one shape for every refusal, and a schema that lists them all.

Beside these tests, tests/conftest.py checks every error answer of the whole suite against
the operation's declared codes (tests/error_contract.py).
"""

import pytest

from cloudhospital.api.refusals import catalogue, refusal_for
from cloudhospital.api.schema import GENERIC_STATUS
from tests import error_contract
from tests.api_errors import error_attrs, error_code, error_detail, errors

# Codes domain code raises that no API operation can meet, and why.
NOT_THROUGH_THE_API = {
    "already_member": "pharmacy staff are added in the admin (pharmacy.access.staff_add)",
    "not_pharmacy_role": "pharmacy staff are added in the admin",
    "token_name_required": "pharmacy API tokens are issued in the admin",
    "already_revoked": "signing keys are revoked in the admin",
    "hold_released": "legal holds are placed and released in the admin (cloudhospital.retention)",
    "prescription_live": "orders are withdrawn by the system when a prescription is voided or expires",
    "release_exceeds_reserved": "stock is released by order steps, never asked for directly",
    "invalid_items": "stock reservations are built from a prescription's own items",
    "no_items": "stock reservations are built from a prescription's own items",
}


def operations():
    for path, methods in error_contract.schema()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def declared_everywhere() -> set[str]:
    codes = set()
    for _, _, operation in operations():
        for status in operation["responses"]:
            if status.startswith("4"):
                codes |= error_contract.declared_codes(operation, int(status)) or set()
    return codes


def test_every_code_raised_in_domain_code_is_declared_by_an_operation():
    declared = declared_everywhere()
    missing = {
        code: sorted(refusal.where) for code, refusal in catalogue().items()
        if code not in NOT_THROUGH_THE_API and not any(refusal.matches(d) for d in declared)
    }
    assert not missing, f"raised but declared by no operation (add @refuses on the view): {missing}"


def test_every_declared_refusal_is_raised_somewhere():
    unknown = set()
    for _, _, operation in operations():
        for status in operation["responses"]:
            if status in {"409", "422"}:
                for code in error_contract.declared_codes(operation, int(status)):
                    if refusal_for(code) is None:
                        unknown.add(code)
    assert not unknown, f"declared but raised nowhere: {unknown}"


def test_the_not_through_the_api_list_names_real_codes():
    assert set(NOT_THROUGH_THE_API) <= set(catalogue())


def test_every_operation_declares_its_refusals():
    for path, method, operation in operations():
        statuses = {status for status in operation["responses"] if status.startswith("4")}
        assert statuses, f"{method} {path} declares no 4xx"
        if method in {"post", "put", "patch"} and "requestBody" in operation:
            assert "400" in statuses, f"{method} {path} takes a body but declares no 400"


def test_booking_creation_lists_its_refusals_with_an_example_each():
    operation = error_contract.operation_for("/api/bookings/", "POST")
    conflict = error_contract.declared_codes(operation, 409)
    rules = error_contract.declared_codes(operation, 422)
    assert {"slot_full", "duplicate_booking"} <= conflict
    assert {"follow_up_only", "beyond_booking_window", "slot_in_past"} <= rules
    examples = operation["responses"]["409"]["content"]["application/json"]["examples"]
    assert examples["SlotFull"]["value"]["errors"][0] == {
        "code": "slot_full", "detail": refusal_for("slot_full").message, "attr": "slot"}


def test_generic_codes_map_to_their_statuses():
    assert GENERIC_STATUS["permission_denied"] == "403" and GENERIC_STATUS["throttled"] == "429"


# --- One shape, whatever refused -------------------------------------------------------------
@pytest.mark.django_db
def test_unknown_api_path_is_a_404_in_the_error_shape(api):
    response = api.get("/api/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert error_code(response) == "not_found"


@pytest.mark.django_db
def test_unknown_api_path_is_json_with_debug_on_too(api, settings):
    settings.DEBUG = True  # Django would show its HTML debug page, not handler404
    response = api.get("/api/no-such-thing/")
    assert response.status_code == 404 and error_code(response) == "not_found"


@pytest.mark.django_db
def test_a_post_to_no_endpoint_is_a_404_not_a_csrf_page(family):
    from django.test import Client

    daughter, _ = family
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(daughter.account)
    response = browser.post("/api/patients/x/allergies/", {"substance": "青霉素"})
    assert response.status_code == 404 and error_code(response) == "not_found"


@pytest.mark.django_db
def test_a_missing_trailing_slash_is_named(client_for, family):
    daughter, _ = family
    response = client_for(daughter.account).get("/api/bookings")
    assert response.status_code == 404 and "/api/bookings/" in error_detail(response)


@pytest.mark.django_db
def test_unknown_page_path_stays_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_malformed_json_is_a_parse_error(client_for, family):
    daughter, _ = family
    response = client_for(daughter.account).generic("POST", "/api/bookings/", "{not json", content_type="application/json")
    assert response.status_code == 400 and error_code(response) == "parse_error"
    assert response.json()["type"] == "client_error"


@pytest.mark.django_db
def test_unauthenticated_and_wrong_method_share_the_shape(api, client_for, family):
    assert error_code(api.get("/api/bookings/")) == "not_authenticated"
    daughter, _ = family
    response = client_for(daughter.account).delete("/api/bookings/")
    assert response.status_code == 405 and error_code(response) == "method_not_allowed"


@pytest.mark.django_db
def test_validation_errors_name_each_field(client_for, family):
    daughter, _ = family
    response = client_for(daughter.account).post("/api/bookings/", {"reason": ""}, format="json")
    assert response.status_code == 400 and response.json()["type"] == "validation_error"
    assert {"patient", "slot", "reason"} <= error_attrs(response)


@pytest.mark.django_db
def test_a_domain_refusal_names_its_field(client_for, family):
    from tests.factories import SlotFactory

    daughter, father = family
    slot = SlotFactory(capacity=1, booked=1)
    response = client_for(daughter.account).post(
        "/api/bookings/", {"patient": father.pk, "slot": slot.pk, "reason": "复诊开药"}, format="json")
    assert response.status_code == 409
    assert errors(response) == [{"code": "slot_full", "detail": errors(response)[0]["detail"], "attr": "slot"}]
