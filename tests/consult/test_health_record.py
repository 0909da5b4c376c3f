"""The electronic health record: entries, plausibility, the summary and its history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consult import records
from consult.models import Condition, Observation
from tests.factories import BloodPressureFactory, ConditionFactory, LabFactory, MedicationFactory
from tests.api_errors import error_attrs, field_details

pytestmark = pytest.mark.django_db


def iso(dt):
    return dt.isoformat()


def post_bp(client, patient, **body):
    payload = {"kind": "blood_pressure", "systolic": 152, "diastolic": 88, "pulse": 70, "measured_at": iso(timezone.now() - timedelta(minutes=3))}
    payload.update(body)
    return client.post(f"/api/patients/{patient.pk}/observations/", payload, format="json")


def test_proxy_records_a_home_blood_pressure_reading(client_for, family):
    daughter, father = family
    response = post_bp(client_for(daughter.account), father)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["systolic"], body["diastolic"], body["unit"], body["source"]) == (152, 88, "mmHg", "home")
    assert body["recorded_by"] == daughter.full_name


def test_a_patient_cannot_claim_a_clinic_measurement(client_for, family):
    daughter, father = family
    response = post_bp(client_for(daughter.account), father, source="clinic")
    assert response.status_code == 400 and "source" in error_attrs(response)


@pytest.mark.parametrize(
    "body, field, words",
    [
        ({"systolic": 30}, "systolic", "not plausible"),
        ({"systolic": 400}, "systolic", "not plausible"),
        ({"systolic": 120, "diastolic": 130}, "diastolic", "lower than systolic"),
        ({"systolic": 120, "diastolic": 120}, "diastolic", "lower than systolic"),
        ({"pulse": 400}, "pulse", "not plausible"),
        ({"diastolic": None}, "diastolic", "needs the diastolic"),
        ({"systolic": "high"}, "systolic", "integer"),
        ({"measured_at": "yesterday"}, "measured_at", "format"),
        ({"value": "48"}, "value", "no single value"),
        ({"kind": "glucose"}, "kind", "not a valid choice"),
        ({"systolc": 120}, "systolc", "Unknown"),
    ],
)
def test_implausible_or_malformed_readings_are_refused_with_the_field(client_for, family, body, field, words):
    daughter, father = family
    response = post_bp(client_for(daughter.account), father, **body)
    assert response.status_code == 400
    assert field in error_attrs(response)
    assert words in str(field_details(response, field))
    assert not Observation.objects.exists()


def test_a_reading_in_the_future_is_refused(client_for, family):
    daughter, father = family
    response = post_bp(client_for(daughter.account), father, measured_at=iso(timezone.now() + timedelta(days=1)))
    assert response.status_code == 400 and "measured_at" in error_attrs(response)


def test_lab_value_is_stored_with_its_unit(client_for, family):
    daughter, father = family
    response = client_for(daughter.account).post(
        f"/api/patients/{father.pk}/observations/",
        {"kind": "egfr", "value": "48", "measured_at": iso(timezone.now() - timedelta(days=1))},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["unit"] == "mL/min/1.73m2"


def test_observations_filter_by_kind_and_date_range(client_for, family, django_assert_max_num_queries):
    daughter, father = family
    now = timezone.now()
    BloodPressureFactory(patient=father, measured_at=now - timedelta(days=10))
    recent = BloodPressureFactory(patient=father, measured_at=now - timedelta(days=1))
    LabFactory(patient=father, measured_at=now - timedelta(days=1))
    client = client_for(daughter.account)
    date_from = (timezone.localdate() - timedelta(days=3)).isoformat()
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/patients/{father.pk}/observations/?kind=blood_pressure&date_from={date_from}")
    assert [o["id"] for o in response.json()["results"]] == [recent.pk]
    assert client.get(f"/api/patients/{father.pk}/observations/?date_from=not-a-date").status_code == 400


def test_observation_list_query_count_does_not_grow_with_rows(client_for, family, django_assert_max_num_queries):
    daughter, father = family
    BloodPressureFactory.create_batch(40, patient=father, recorded_by=daughter.account)
    with django_assert_max_num_queries(6):
        response = client_for(daughter.account).get(f"/api/patients/{father.pk}/observations/?page_size=40")
    assert len(response.json()["results"]) == 40


def test_conditions_are_added_resolved_and_validated(client_for, family):
    daughter, father = family
    client = client_for(daughter.account)
    url = f"/api/patients/{father.pk}/conditions/"
    created = client.post(url, {"icd10_code": "n18.3", "name": "CKD stage 3", "onset_date": "2019-10-01"}, format="json")
    assert created.status_code == 201 and created.json()["icd10_code"] == "N18.3"
    assert client.post(url, {"icd10_code": "hypertension"}, format="json").status_code == 400
    assert client.post(url, {"icd10_code": "I10", "onset_date": "1900-01-01"}, format="json").status_code == 400
    resolved = client.patch(f"{url}{created.json()['id']}/", {"status": "resolved"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert client.get(f"{url}?status=active").json()["count"] == 0


def test_allergies_and_medications_round_trip(client_for, family):
    daughter, father = family
    client = client_for(daughter.account)
    allergy = client.post(
        f"/api/patients/{father.pk}/allergies/",
        {"substance": "NSAID", "category": "drug_class", "reaction": "Angioedema", "severity": "severe"},
        format="json",
    )
    assert allergy.status_code == 201, allergy.json()
    medication = client.post(
        f"/api/patients/{father.pk}/medications/", {"name": "Amlodipine", "dose": "5 mg", "frequency": "qd"}, format="json"
    )
    assert medication.status_code == 201
    stopped = client.patch(f"/api/patients/{father.pk}/medications/{medication.json()['id']}/", {"active": False}, format="json")
    assert stopped.json()["active"] is False
    assert client.post(f"/api/patients/{father.pk}/allergies/", {"substance": " ", "category": "drug"}, format="json").status_code == 400


def test_record_summary_shows_active_problems_last_ten_readings_and_latest_egfr(client_for, family, django_assert_max_num_queries):
    daughter, father = family
    ConditionFactory(patient=father, icd10_code="I10")
    ConditionFactory(patient=father, icd10_code="J45", status="resolved")
    MedicationFactory(patient=father)
    MedicationFactory(patient=father, name="Old drug", active=False)
    now = timezone.now()
    BloodPressureFactory.create_batch(12, patient=father)
    LabFactory(patient=father, value=55, measured_at=now - timedelta(days=90))
    LabFactory(patient=father, value=48, measured_at=now - timedelta(days=20))
    with django_assert_max_num_queries(12):
        response = client_for(daughter.account).get(f"/api/patients/{father.pk}/record/")
    body = response.json()
    assert [c["icd10_code"] for c in body["conditions"]] == ["I10"]
    assert [m["name"] for m in body["medications"]] == ["Amlodipine"]
    assert len(body["blood_pressure"]) == 10
    times = [r["measured_at"] for r in body["blood_pressure"]]
    assert times == sorted(times, reverse=True)
    assert body["latest_egfr"]["value"] == "48.00"
    assert body["patient"]["age"] == father.age


def test_every_record_change_is_in_history_with_who_and_why(family):
    daughter, father = family
    condition = records.condition_add(by=daughter.account, patient=father, icd10_code="I10", name="Hypertension")
    records.condition_update(by=daughter.account, condition=condition, status="resolved")
    history = list(Condition.history.filter(id=condition.pk).order_by("history_date"))
    assert [h.status for h in history] == ["active", "resolved"]
    assert all(h.history_user == daughter.account for h in history)
    assert history[-1].history_change_reason == "condition changed"


def test_every_clinical_model_is_tracked_by_simple_history():
    from django.apps import apps

    clinical = ["Patient", "ProxyLink", "Condition", "Allergy", "Medication", "Observation"]
    for name in clinical:
        model = apps.get_model("consult", name)
        assert hasattr(model, "history"), name
