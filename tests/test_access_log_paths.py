"""Every path that reads a patient's record writes exactly one access-log row per read, for
anyone but the patient and their proxies (it is their record), because reading and logging
are one call (consult.selectors.record_for / patients_listed).

The table below is checked against the URL configuration: a new patient-data URL that is in
neither the logged table nor the family-only list fails the suite.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver, reverse
from django.utils import timezone

from cloudhospital.models import AccessLog
from consult import follow_up
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
    "condition-evidence": (lambda r: {"patient_pk": r.patient.pk, "condition_pk": r.condition.pk}, "condition_evidence_read"),
    "condition-evidence-file": (lambda r: {"patient_pk": r.patient.pk, "pk": r.evidence.pk}, "condition_evidence_open"),
}
PAGES = {
    "patient-bp-trend-page": (lambda r: f"/patients/{r.patient.pk}/bp/", "bp_trend_page"),
    "consult-room": (lambda r: f"/consult/{r.consultation.pk}/", "consultation_room"),
    "doctor-chart": (lambda r: f"/portal/consultations/{r.consultation.pk}/chart/", "consultation_chart"),
    "condition-evidence-page": (lambda r: f"/patients/{r.patient.pk}/evidence/{r.evidence.pk}/", "condition_evidence_open"),
}
# Reads only the patient and their proxies may make (a doctor is refused): nothing to log.
FAMILY_ONLY = {"patient-proxies", "patient-proxy-remove", "patient-access-log"}
# The list logs one row per listed patient (tested below).
LISTS = {"patient-list"}
# Writes, not reads (their refusals are in tests/test_policy.py and the record's tests).
WRITES = {"observation-entered-in-error"}
# Consents and the activity list: the family's only, from patients_managed_by (anyone else,
# the doctor included, gets 404: tests/consult/test_consent.py).
CONSENTS = {"patient-consents", "patient-proxy-consents", "patient-proxy-consent-revoke", "patient-proxy-consent-fhir",
            "patient-activity"}


@pytest.fixture
def chart():
    room = make_room()  # the doctor's patient is checked in: the doctor may read the record
    room.condition = ConditionFactory(patient=room.patient, icd10_code="N18.3")
    room.allergy = AllergyFactory(patient=room.patient)
    room.medication = MedicationFactory(patient=room.patient)
    room.reading = BloodPressureFactory(patient=room.patient, measured_at=timezone.now())
    room.evidence = follow_up.evidence_add(  # the family's scan of the offline diagnosis (consult.follow_up)
        by=room.proxy, condition=room.condition,
        file=SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png"))
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
    assert api_patient_url_names() == set(LOGGED) | FAMILY_ONLY | LISTS | WRITES | CONSENTS


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


# Patient data outside the record: the doctor's and the review pharmacist's reads are logged
# with the object that allows them.
OTHER_READS = {
    "booking": (lambda r: f"/api/bookings/{r.booking.pk}/", "booking_read", "doctor_user"),
    "consultation": (lambda r: f"/api/consultations/{r.consultation.pk}/", "consultation_read", "doctor_user"),
    "chat": (lambda r: f"/api/consultations/{r.consultation.pk}/messages/", "chat_read", "doctor_user"),
    "prescription (doctor)": (lambda r: f"/api/prescriptions/{r.prescription.pk}/", "prescription_read", "doctor_user"),
    "prescription FHIR (doctor)": (lambda r: f"/api/prescriptions/{r.prescription.pk}/fhir/", "prescription_fhir_read",
                                   "doctor_user"),
    "prescription (reviewer)": (lambda r: f"/api/prescriptions/{r.prescription.pk}/", "prescription_read", "reviewer"),
    "prescription FHIR (reviewer)": (lambda r: f"/api/prescriptions/{r.prescription.pk}/fhir/",
                                     "prescription_fhir_read", "reviewer"),
}


@pytest.fixture
def chart_with_prescription(chart):
    from prescriptions.models import Prescription
    from tests.factories import ApprovedPrescriptionFactory, UserFactory

    chart.prescription = ApprovedPrescriptionFactory(patient=chart.patient)
    Prescription.objects.filter(pk=chart.prescription.pk).update(status="signed", doctor=chart.doctor_user)
    chart.reviewer = UserFactory(role="pharmacist")
    return chart


@pytest.mark.parametrize("what", sorted(OTHER_READS))
def test_reads_of_other_patient_data_write_exactly_one_row(what, chart_with_prescription, client_for):
    chart = chart_with_prescription
    url, action, viewer = OTHER_READS[what]
    assert client_for(getattr(chart, viewer)).get(url(chart)).status_code == 200
    assert list(AccessLog.objects.values_list("user", "patient", "action")) == [
        (getattr(chart, viewer).pk, chart.patient.pk, action)]


@pytest.mark.parametrize("what", sorted(OTHER_READS))
def test_the_family_reading_the_same_leaves_no_row(what, chart_with_prescription, client_for):
    chart = chart_with_prescription
    url, _, _ = OTHER_READS[what]
    response = client_for(chart.proxy).get(url(chart))
    assert response.status_code in (200, 404)  # a signed prescription is the family's; its FHIR too
    assert not AccessLog.objects.exists()


def test_the_family_lists_who_read_the_record_and_from_where(chart, client_for):
    client_for(chart.doctor_user).get(reverse("patient-record", kwargs={"pk": chart.patient.pk}), REMOTE_ADDR="10.1.2.3")
    listed = client_for(chart.proxy).get(f"/api/patients/{chart.patient.pk}/access-log/").json()["results"]
    assert [(e["who"], e["role"], e["action"], e["ip"]) for e in listed] == [
        (chart.doctor_user.full_name, "doctor", "record_read", "10.1.2.3")]
    assert client_for(chart.doctor_user).get(f"/api/patients/{chart.patient.pk}/access-log/").status_code == 403
    assert client_for(PatientFactory().account).get(f"/api/patients/{chart.patient.pk}/access-log/").status_code == 404
