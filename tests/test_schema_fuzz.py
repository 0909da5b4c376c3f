"""Schema-driven fuzzing: no endpoint answers 5xx to anything the OpenAPI schema allows
(and much it does not). Every operation is called twice per example: with the generated
path ids, and with ids of objects the caller really owns, so bodies reach the domain code."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from tests.fuzzing import fuzz_examples, in_process_schema
from tests.factories import BloodPressureFactory, ConditionFactory, DependantFactory, PatientFactory

# Logging out would revoke the fuzzing token half way through.
EXCLUDED_PATHS = ["/api/auth/logout/", "/api/auth/logout-all/"]


@pytest.fixture
def web_schema(db):
    with in_process_schema() as schema:
        yield schema.exclude(path=EXCLUDED_PATHS)


schema = schemathesis.from_pytest_fixture("web_schema")


@pytest.fixture
def owner(db):
    from cloudhospital.tokens import token_issue

    daughter = PatientFactory()
    father = DependantFactory(proxy=daughter.account)
    condition = ConditionFactory(patient=father)
    reading = BloodPressureFactory(patient=father)
    token = token_issue(user=daughter.account)
    return {"token": token.key, "patient": father.pk, "entry": {"conditions": condition.pk, "observations": reading.pk},
            "prescription": _signed_prescription_managed_by(daughter.account).pk}


def _signed_prescription_managed_by(user):
    """A signed prescription for a patient `user` acts for, so prescription ids reach the views."""
    from consult import consultation as consult_rules
    from tests.factories import ProxyLinkFactory
    from prescriptions import demo, lifecycle
    from prescriptions.checks import expected_quantity
    from tests.consult.rooms import make_room

    drug = demo.seed()["drugs"]["AMLO-T5"]
    room = make_room()
    ProxyLinkFactory(proxy=user, patient=room.patient, relationship="parent")
    consultation = consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    quantity = expected_quantity(drug=drug, dose=5, dose_unit="mg", frequency="qd", days_supply=7)
    item = lifecycle.ItemDraft(drug=drug, dose=5, dose_unit="mg", frequency="qd", days_supply=7, quantity=quantity)
    draft = lifecycle.prescription_create(by=room.doctor_user, consultation=consultation,
                                          diagnosis=[{"code": "I10"}], items=[item]).prescription
    return lifecycle.prescription_sign(by=room.doctor_user, prescription=draft).prescription


def own_ids(case, owner) -> dict | None:
    params = dict(case.path_parameters or {})
    if not params:
        return None
    if "patient_pk" in params:
        params["patient_pk"] = owner["patient"]
        kind = case.path.split("/")[3]
        params["id"] = owner["entry"].get(kind, params.get("id"))
    elif case.path.startswith("/api/patients/") and "id" in params:
        params["id"] = owner["patient"]
    elif case.path.startswith("/api/prescriptions/") and "id" in params:
        params["id"] = owner["prescription"]
    return params


# Not a 5xx, and the answer is one the schema declares: its status, media type and body.
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)
# For a call with generated ids (which mostly meets 404s, their shape held to the schema by the
# error contract, tests/error_contract.py) when the same case is called again with owned ids:
# validating a body against this schema costs jsonschema a walk of the whole document each time.
CHEAP_CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance)


@schema.parametrize()
@settings(max_examples=fuzz_examples(10), deadline=None, suppress_health_check=list(HealthCheck))
def test_no_endpoint_answers_5xx(case, owner):
    headers = {"Authorization": f"Token {owner['token']}"}
    params = own_ids(case, owner)
    response = case.call_wsgi(headers=headers)
    case.validate_response(response, checks=CHECKS if params is None else CHEAP_CHECKS)
    if params is not None:
        case.path_parameters = params
        response = case.call_wsgi(headers=headers)
        case.validate_response(response, checks=CHECKS)
