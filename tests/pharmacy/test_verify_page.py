"""The paper prescription's verify page (pharmacy.verify_pages): no login, an unguessable
code, no clinical data, except for the staff of the pharmacy holding an order for it."""

import pytest
from django.urls import reverse
from django.utils import timezone

from cloudhospital.models import AccessLog
from pharmacy import orders
from prescriptions.models import Prescription, PrescriptionItem
from prescriptions.paper import prescription_id_from_code, verify_code
from tests.factories import PharmacyStaffFactory

pytestmark = pytest.mark.django_db


def url(prescription) -> str:
    return reverse("prescription-paper-verify", kwargs={"code": verify_code(prescription)})


@pytest.fixture
def ordered(rx, family, stocked):
    """The `rx` prescription picked up at a stocked pharmacy: (order, pharmacy)."""
    pharmacy = stocked()
    order = orders.order_place(by=family[0].account, prescription=rx, kind="pickup", pharmacy=pharmacy)
    return order, pharmacy


def test_the_code_is_signed_and_a_changed_one_is_unknown(rx):
    code = verify_code(rx)
    assert prescription_id_from_code(code) == rx.pk
    number, signature = code.split(".", 1)
    assert number == str(rx.pk) and len(signature) >= 40
    forged = f"{rx.pk + 1}.{signature}"
    flipped = code[:-1] + ("A" if code[-1] != "A" else "B")
    for bad in (forged, flipped, str(rx.pk), "", "x" * 300):
        assert prescription_id_from_code(bad) is None


def test_anyone_sees_validity_signer_and_status_but_no_clinical_data(client, rx, drugs):
    response = client.get(url(rx), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-valid="true"' in html and 'data-status="approved"' in html
    assert rx.doctor.full_name in html and rx.doctor.doctor_profile.hospital.display_name in html
    assert rx.patient.full_name not in html and "张***" in html
    for drug in drugs:
        assert drug.generic_name not in html and drug.generic_name_zh not in html and drug.code not in html
    assert "原发性高血压" not in html
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_tampered_or_unknown_code_is_a_404_page(client, rx):
    code = verify_code(rx)
    for bad in (code[:-2] + "xx", f"{rx.pk}.nope", "12345"):
        response = client.get(reverse("prescription-paper-verify", kwargs={"code": bad}), HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 404
        assert "Not a valid prescription code" in response.content.decode()
    # The API's id-based verify endpoint is not a way round it either.
    assert client.get(f"/api/prescriptions/{rx.pk}/verify/").status_code in (401, 403, 404)


def test_status_now_dispensed_void_expired_and_an_altered_prescription(client, rx):
    Prescription.objects.filter(pk=rx.pk).update(expires_at=timezone.now() - timezone.timedelta(minutes=1))
    assert 'data-status="expired"' in client.get(url(rx)).content.decode()  # by the clock, before the task
    Prescription.objects.filter(pk=rx.pk).update(status="dispensed", dispensed_at=timezone.now())
    assert 'data-status="dispensed"' in client.get(url(rx)).content.decode()
    Prescription.objects.filter(pk=rx.pk).update(status="voided", voided_at=timezone.now(), voided_reason="x")
    assert 'data-status="voided"' in client.get(url(rx)).content.decode()
    PrescriptionItem.objects.filter(prescription=rx).update(quantity=99)
    assert 'data-valid="false"' in client.get(url(rx)).content.decode()


def test_staff_of_the_pharmacy_holding_the_order_see_items_and_patient_and_the_read_is_logged(client, ordered, rx,
                                                                                            drugs):
    _, pharmacy = ordered
    staff = PharmacyStaffFactory(pharmacy=pharmacy).user
    client.force_login(staff)
    before = AccessLog.objects.filter(user=staff, patient=rx.patient).count()
    html = client.get(url(rx), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="pharmacy-view"' in html and rx.patient.full_name in html
    assert drugs[0].generic_name in html and drugs[1].generic_name in html
    logs = AccessLog.objects.filter(user=staff, patient=rx.patient)
    assert logs.count() == before + 1
    assert logs.order_by("-seq").first().action == "prescription_verify_pharmacy"


def test_other_pharmacies_staff_and_the_anonymous_see_nothing_clinical_and_leave_no_log(client, ordered, rx,
                                                                                       drugs, stocked):
    other = PharmacyStaffFactory(pharmacy=stocked()).user
    client.force_login(other)
    html = client.get(url(rx), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="pharmacy-view"' not in html and drugs[0].generic_name not in html
    assert rx.patient.full_name not in html
    assert not AccessLog.objects.filter(user=other).exists()
