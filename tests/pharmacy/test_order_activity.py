"""A medicine order placed by a proxy shows in the patient's activity as by the proxy on the
patient's behalf (pharmacy.activity, registered into consult.activity)."""

import pytest

from consult.activity import patient_activity
from pharmacy import orders

pytestmark = pytest.mark.django_db


def test_an_order_placed_by_the_daughter_reads_on_her_fathers_behalf(rx, family, stocked, drugs):
    daughter, father = family
    orders.order_place(by=daughter.account, prescription=rx, kind="pickup", pharmacy=stocked())
    lines = [a.line for a in patient_activity(father) if a.event.subject.startswith("medicine order")]
    assert lines and all(line.startswith(f"by {daughter.full_name} on behalf of {father.full_name}") for line in lines)
