"""Every path that reads a patient's record writes exactly one access-log row per read, for
anyone but the patient and their proxies (it is their record), because reading and logging
are one call (consult.selectors.record_for / patients_listed).

The table below is checked against the URL configuration: a new patient-data URL that is in
neither the logged table nor the family-only list fails the suite.
"""

import re

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from cloudhospital.models import AccessLog
from tests.consult.rooms import make_room
from tests.factories import AllergyFactory, BloodPressureFactory, ConditionFactory, MedicationFactory, PatientFactory

pytestmark = pytest.mark.django_db

# url name -> (kwargs builder, access-log action)
LOGGED = {
    "patient-detail": (lambda r: {"pk": r.patient.pk}, "patient_read"),
    "patient-record": (lambda r: {"pk": r.patient.pk}, "record_read"),
    "condition-list": (lambda r: {"patient_pk": r.patient.pk}, "condition_read"),
    "condition-detail": (lambda r: {"patient_pk": r.patient.pk, "pk": r.condition.pk}, "condition_read"),
    "allergy-list": (lambda r: {"patient_pk": r.patient.pk}, "allergy_read"),
    "allergy-detail": (lambda r: {"patient_pk": r.patient.pk, "pk": r.allergy.pk}, "allergy_read"),
    "medication-list": (lambda r: {"patient_pk": r.patient.pk}, "medication_read"),
    "medication-detail": (lambda r: {"patient_pk": r.patient.pk, "pk": r.medication.pk}, "medication_read"),
    "observation-list": (lambda r: {"patient_pk": r.patient.pk}, "observation_read"),
    "observation-detail": (lambda r: {"patient_pk": r.patient.pk, "pk": r.reading.pk}, "observation_read"),
    "patient-bp-trend": (lambda r: {"patient_pk": r.patient.pk}, "bp_trend_read"),
    "patient-fhir": (lambda r: {"patient_pk": r.patient.pk}, "fhir_export"),
}
PAGES = {"patient-bp-trend-page": (lambda r: f"/patients/{r.patient.pk}/bp/", "bp_trend_page")}
# Reads only the patient and their proxies may make (a doctor is refused): nothing to log.
FAMILY_ONLY = {"patient-proxies", "patient-proxy-remove"}
# The list logs one row per listed patient (tested below).
LISTS = {"patient-list"}


@pytest.fixture
def chart():
    room = make_room()  # the doctor's patient is checked in: the doctor may read the record
    room.condition = ConditionFactory(patient=room.patient, icd10_code="N18.3")
    room.allergy = AllergyFactory(patient=room.patient)
    room.medication = MedicationFactory(patient=room.patient)
    room.reading = BloodPressureFactory(patient=room.patient, measured_at=timezone.now())
    return room


def api_patient_url_names() -> set[str]:
    names = set()

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif re.search(r"patients", prefix + str(pattern.pattern)) and (prefix + str(pattern.pattern)).startswith("api/"):
                names.add(pattern.name)

    walk(get_resolver().url_patterns)
    return names


def test_every_patient_data_url_is_accounted_for():
    assert api_patient_url_names() == set(LOGGED) | FAMILY_ONLY | LISTS


@pytest.mark.parametrize("name", sorted(LOGGED))
def test_a_treating_doctors_read_writes_exactly_one_row(name, chart, client_for):
    kwargs, action = LOGGED[name]
    before = AccessLog.objects.count()
    response = client_for(chart.doctor_user).get(reverse(name, kwargs=kwargs(chart)))
    assert response.status_code == 200, response.content
    rows = list(AccessLog.objects.order_by("-id")[: AccessLog.objects.count() - before])
    assert [(row.user, row.patient, row.action) for row in rows] == [(chart.doctor_user, chart.patient, action)]
    assert rows[0].reason == f"booking {chart.booking.pk} (checked_in)"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_treating_doctors_page_read_writes_exactly_one_row(name, chart, client):
    url, action = PAGES[name]
    client.force_login(chart.doctor_user)
    assert client.get(url(chart)).status_code == 200
    assert list(AccessLog.objects.values_list("user", "patient", "action")) == [
        (chart.doctor_user.pk, chart.patient.pk, action)]


@pytest.mark.parametrize("name", sorted(LOGGED))
def test_the_familys_own_reads_are_not_logged(name, chart, client_for):
    kwargs, _ = LOGGED[name]
    assert client_for(chart.proxy).get(reverse(name, kwargs=kwargs(chart))).status_code == 200
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("name", sorted(LOGGED))
def test_a_stranger_gets_404_and_leaves_no_row(name, chart, client_for):
    kwargs, _ = LOGGED[name]
    assert client_for(PatientFactory().account).get(reverse(name, kwargs=kwargs(chart))).status_code == 404
    assert not AccessLog.objects.exists()


def test_the_doctors_patient_list_logs_each_listed_patient_once(chart, client_for):
    response = client_for(chart.doctor_user).get(reverse("patient-list"))
    assert [patient["id"] for patient in response.json()["results"]] == [chart.patient.pk]
    assert list(AccessLog.objects.values_list("patient", "action")) == [(chart.patient.pk, "patient_list_read")]


@pytest.mark.parametrize("name", sorted(FAMILY_ONLY - {"patient-proxy-remove"}))
def test_family_only_reads_are_refused_to_the_doctor(name, chart, client_for):
    assert client_for(chart.doctor_user).get(reverse(name, kwargs={"pk": chart.patient.pk})).status_code == 403
    assert not AccessLog.objects.exists()
