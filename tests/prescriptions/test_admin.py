"""Prescription admin: history and items inline; nothing editable once signed."""

import pytest

from cloudhospital.models import User
from prescriptions.models import PrescriptionItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("13900009999", "pw", full_name="Admin"))
    return client


def test_signed_prescription_is_read_only_in_the_admin(admin_client, write):
    prescription = write(sign=True)
    url = f"/admin/prescriptions/prescription/{prescription.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "苯磺酸氨氯地平片" in page.content.decode()
    assert 'name="diagnosis"' not in page.content.decode()
    admin_client.post(url, {"diagnosis": '[{"code": "E11"}]', "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "1"})
    prescription.refresh_from_db()
    assert prescription.diagnosis[0]["code"] == "I10"
    assert PrescriptionItem.objects.filter(prescription=prescription).count() == 1
    assert admin_client.get(url.replace("change/", "history/")).status_code == 200


def test_draft_is_editable_but_status_never_is(admin_client, write):
    page = admin_client.get(f"/admin/prescriptions/prescription/{write().pk}/change/").content.decode()
    assert 'name="diagnosis"' in page and 'name="status"' not in page
    assert admin_client.get("/admin/prescriptions/prescription/").status_code == 200
