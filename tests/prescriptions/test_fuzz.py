"""Schema-driven fuzzing of the prescription endpoints as the prescribing doctor, with ids of
a consultation in progress and a draft of theirs, so bodies reach prescriptions.lifecycle:
nothing the schema allows (or much it does not) answers 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.fuzzing import fuzz_examples, in_process_schema


@pytest.fixture
def rx_schema(db):
    with in_process_schema() as schema:
        yield schema.include(path_regex=r"^/api/prescriptions/")


schema = schemathesis.from_pytest_fixture("rx_schema")


@pytest.fixture
def prescriber(write, room):
    from cloudhospital.tokens import token_issue

    return {"token": token_issue(user=room.doctor_user).key, "draft": write().pk,
            "consultation": room.consultation.pk}


@schema.parametrize()
@settings(max_examples=fuzz_examples(25), deadline=None, suppress_health_check=list(HealthCheck))
def test_prescription_endpoints_never_answer_5xx_to_the_doctor(case, prescriber):
    headers = {"Authorization": f"Token {prescriber['token']}"}
    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters = {**case.path_parameters, "id": prescriber["draft"]}
    if isinstance(case.body, dict) and "consultation" in case.body:
        case.body = {**case.body, "consultation": prescriber["consultation"]}
    response = case.call_wsgi(headers=headers)
    case.validate_response(response, checks=(not_a_server_error,))
