"""A wrong reading is never deleted by a user: the family (or the treating doctor) marks it
entered in error; it stays in the record and its history, and leaves the trend, the summary,
the safety checks' latest eGFR, and is exported to FHIR as entered-in-error."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cloudhospital.errors import DomainError
from consult import records
from consult.models import Observation
from consult.selectors import latest_observation
from tests.factories import BloodPressureFactory, DependantFactory, LabFactory, PatientFactory
from tests.api_errors import error_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def father(family):
    return family[1]


def url(patient, reading, suffix=""):
    return f"/api/patients/{patient.pk}/observations/{reading.pk}/{suffix}"


def test_the_family_marks_a_typo_and_it_leaves_the_trend_and_the_summary(father, family, client_for):
    daughter = family[0].account
    good = BloodPressureFactory(patient=father, systolic=138, diastolic=82, measured_at=timezone.now() - timedelta(hours=2))
    typo = BloodPressureFactory(patient=father, systolic=290, diastolic=95, measured_at=timezone.now() - timedelta(hours=1))
    api = client_for(daughter)
    response = api.post(url(father, typo, "entered-in-error/"), {"reason": "typed 290 for 129"}, format="json")
    assert response.status_code == 200 and response.json()["entered_in_error_reason"] == "typed 290 for 129"
    trend = api.get(f"/api/patients/{father.pk}/bp-trend/").json()
    assert [r["systolic"] for r in trend["readings"]] == [138]
    record = api.get(f"/api/patients/{father.pk}/record/").json()
    assert [r["systolic"] for r in record["blood_pressure"]] == [138]
    listed = api.get(f"/api/patients/{father.pk}/observations/").json()["results"]
    assert {r["id"]: r["entered_in_error_at"] is not None for r in listed} == {good.pk: False, typo.pk: True}
    typo.refresh_from_db()
    assert typo.history.first().history_change_reason == "entered in error: typed 290 for 129"
    assert Observation.objects.filter(pk=typo.pk).exists()


def test_a_wrong_egfr_no_longer_drives_the_checks(father):
    LabFactory(patient=father, value=Decimal("48"), measured_at=timezone.now() - timedelta(days=10))
    wrong = LabFactory(patient=father, value=Decimal("12"), measured_at=timezone.now() - timedelta(days=1))
    assert latest_observation(father, "egfr") == wrong
    records.observation_mark_entered_in_error(by=father.proxy_links.get().proxy, observation=wrong, reason="another patient's")
    assert latest_observation(father, "egfr").value == Decimal("48")


def test_refusals(father, family, client_for):
    reading = BloodPressureFactory(patient=father)
    daughter = client_for(family[0].account)
    assert daughter.post(url(father, reading, "entered-in-error/"), {}, format="json").status_code == 400
    assert daughter.post(url(father, reading, "entered-in-error/"), {"reason": "x"}, format="json").status_code == 200
    again = daughter.post(url(father, reading, "entered-in-error/"), {"reason": "x"}, format="json")
    assert again.status_code == 409 and error_code(again) == "already_entered_in_error"
    stranger = client_for(PatientFactory().account)
    assert stranger.post(url(father, reading, "entered-in-error/"), {"reason": "x"}, format="json").status_code == 404
    assert daughter.delete(url(father, reading)).status_code == 405  # never deleted


def test_the_fhir_export_says_entered_in_error(father):
    from consult.fhir import observation_resources

    reading = BloodPressureFactory(patient=father)
    records.observation_mark_entered_in_error(by=father.proxy_links.get().proxy, observation=reading, reason="x")
    reading.refresh_from_db()
    assert {r["status"] for r in observation_resources(reading)} == {"entered-in-error"}


def test_a_reading_of_another_patient_cannot_be_marked_through_this_one(family, client_for):
    father = family[1]
    other = DependantFactory(proxy=family[0].account)
    reading = BloodPressureFactory(patient=other)
    response = client_for(family[0].account).post(url(father, reading, "entered-in-error/"), {"reason": "x"}, format="json")
    assert response.status_code == 404
    with pytest.raises(DomainError):
        records.observation_mark_entered_in_error(by=PatientFactory().account, observation=reading, reason="x")
