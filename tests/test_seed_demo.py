import pytest
from django.apps import apps
from django.core.management import call_command

from consult.models import Condition, Observation, Patient, ProxyLink


def _counts() -> dict:
    return {model._meta.label: model.objects.count() for model in apps.get_models() if not model._meta.label.startswith(("sessions.", "admin.", "axes."))}


@pytest.mark.django_db
def test_seed_demo_creates_zhang_lin_with_his_daughter_and_is_idempotent():
    call_command("seed_demo", verbosity=0)
    zhang_lin = Patient.objects.get(full_name__contains="Zhang Lin")
    assert zhang_lin.birth_date.year == 1937 and zhang_lin.account is None
    assert ProxyLink.objects.get(patient=zhang_lin).relationship == "parent"
    assert set(Condition.objects.filter(patient=zhang_lin).values_list("icd10_code", flat=True)) >= {"I10", "N18.3"}
    assert Observation.objects.get(patient=zhang_lin, kind="egfr").value == 48
    readings = Observation.objects.filter(patient=zhang_lin, kind="blood_pressure")
    assert readings.count() >= 40
    systolics = set(readings.values_list("systolic", flat=True))
    assert len(systolics) > 10, "home readings should fluctuate"
    assert Patient.objects.count() >= 5
    first = _counts()
    call_command("seed_demo", verbosity=0)
    assert _counts() == first
