"""Every model has an admin page that opens, with history where the model keeps it."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.django_db
def test_every_registered_admin_changelist_and_history_opens(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, role="hospital_admin"))
    registered = list(admin.site._registry.items())
    assert len(registered) > 20
    for model, model_admin in registered:
        meta = model._meta
        response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert response.status_code == 200, f"{meta.label}: {response.status_code}"


@pytest.mark.django_db
def test_every_app_model_is_in_the_admin_as_a_page_or_an_inline():
    from django.apps import apps

    inlined = {inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines}
    missing = [
        m._meta.label
        for app in ("cloudhospital", "consult", "prescriptions", "pharmacy")
        for m in apps.get_app_config(app).get_models()
        if not m._meta.label.split(".")[1].startswith("Historical") and m not in admin.site._registry and m not in inlined
    ]
    assert missing == [], f"models without an admin page: {missing}"


@pytest.mark.django_db
def test_opening_a_patients_data_in_the_admin_is_access_logged(client):
    from cloudhospital.models import AccessLog
    from tests.consult.rooms import make_room
    from tests.factories import BloodPressureFactory, UserFactory

    room = make_room()
    reading = BloodPressureFactory(patient=room.patient)
    admin = UserFactory(role="hospital_admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    for url in (f"/admin/consult/patient/{room.patient.pk}/change/", f"/admin/consult/observation/{reading.pk}/change/",
                f"/admin/consult/consultation/{room.consultation.pk}/change/",
                f"/admin/consult/patient/{room.patient.pk}/history/"):
        assert client.get(url).status_code == 200, url
    assert list(AccessLog.objects.order_by("seq").values_list("user", "patient", "action")) == [
        (admin.pk, room.patient.pk, "admin_read")] * 3 + [(admin.pk, room.patient.pk, "admin_history_read")]
