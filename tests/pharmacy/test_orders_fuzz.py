"""Schema-driven fuzzing of the order endpoints, as the family (with their own prescription
and order ids) and as the pharmacy (its own order id): nothing answers 5xx, and nothing the
fuzzer sends leaves more reserved than is on hand."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from cloudhospital.permissions import SYSTEM
from cloudhospital.tokens import token_issue
from tests.fuzzing import fuzz_examples, in_process_schema
from pharmacy import orders
from pharmacy.access import token_create
from pharmacy.models import Stock
from tests.factories import (
    ApprovedPrescriptionFactory,
    DependantFactory,
    DrugFactory,
    PatientFactory,
    PharmacyFactory,
    StockFactory,
)

ORDER_PATHS = r"^/api/(orders/|pharmacy/orders/|prescriptions/\{id\}/pharmacies/)"


@pytest.fixture
def web_schema(db):
    with in_process_schema() as schema:
        yield schema.include(path_regex=ORDER_PATHS)


schema = schemathesis.from_pytest_fixture("web_schema")


@pytest.fixture
def world(db):
    daughter = PatientFactory()
    father = DependantFactory(proxy=daughter.account)
    drug = DrugFactory()
    pharmacy = PharmacyFactory(delivering=True)
    StockFactory(pharmacy=pharmacy, drug=drug, on_hand=500)
    placed = ApprovedPrescriptionFactory(patient=father, items=[(drug, 10)])
    order = orders.order_place(by=daughter.account, prescription=placed, kind="pickup", pharmacy=pharmacy)
    free = ApprovedPrescriptionFactory(patient=father, items=[(drug, 10)])
    _, plaintext = token_create(pharmacy=pharmacy, name="fuzz", by=SYSTEM)
    return {
        "family": {"Authorization": f"Token {token_issue(user=daughter.account).key}"},
        "pharmacy": {"Authorization": f"Pharmacy {plaintext}"},
        "order": order.pk, "prescription": free.pk,
    }


@schema.parametrize()
@settings(max_examples=fuzz_examples(25), deadline=None, suppress_health_check=list(HealthCheck))
def test_order_endpoints_never_answer_5xx(case, world):
    # Authentication is by header here. A generated session cookie with a NUL byte reaches
    # Django's session table lookup, which PostgreSQL refuses before any order code runs.
    case.cookies = None
    for headers in (world["family"], world["pharmacy"]):
        response = case.call_wsgi(headers=headers)
        case.validate_response(response, checks=(not_a_server_error,))
        if case.path_parameters and "id" in case.path_parameters:
            own = world["prescription"] if case.path.startswith("/api/prescriptions/") else world["order"]
            case.path_parameters = {**case.path_parameters, "id": own}
            response = case.call_wsgi(headers=headers)
            case.validate_response(response, checks=(not_a_server_error,))
    assert not any(row.reserved > row.on_hand for row in Stock.objects.all())
