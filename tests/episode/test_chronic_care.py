"""The chronic-care view (blood-pressure trend and its page) and the episode as FHIR."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from cloudhospital.fhir_bundle import resource_urn
from cloudhospital.models import AccessLog
from consult.models import Observation
from tests.consult.rooms import make_room
from tests.factories import BloodPressureFactory
from tests.api_errors import error_attrs
from tests.episode.fhir_helpers import references

pytestmark = pytest.mark.django_db


def at(days_ago: int, hour: int):
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def reading(patient, days_ago, hour, systolic, diastolic):
    return BloodPressureFactory(patient=patient, measured_at=at(days_ago, hour), systolic=systolic, diastolic=diastolic)


def test_trend_gives_daily_averages_and_the_share_at_or_above_140_90(client_for, family, django_assert_max_num_queries):
    daughter, father = family
    reading(father, 2, 7, 150, 80)   # high (systolic)
    reading(father, 2, 20, 130, 90)  # high (diastolic at 90)
    reading(father, 1, 7, 128, 78)
    reading(father, 1, 20, 139, 89)
    reading(father, 40, 7, 190, 100)  # outside the default 30 days
    with django_assert_max_num_queries(10):
        body = client_for(daughter.account).get(f"/api/patients/{father.pk}/bp-trend/").json()
    assert body["readings_count"] == 4 and body["high_count"] == 2 and body["share_high"] == 0.5
    day_two, day_one = body["days"]
    assert (day_two["systolic"], day_two["diastolic"], day_two["readings"], day_two["high"]) == (140.0, 85.0, 2, 2)
    assert (day_one["systolic"], day_one["diastolic"], day_one["high"]) == (133.5, 83.5, 0)
    assert [r["systolic"] for r in body["readings"]] == [150, 130, 128, 139]


def test_trend_query_count_does_not_grow_with_readings(client_for, family, django_assert_max_num_queries):
    daughter, father = family
    for days_ago in range(30):
        reading(father, days_ago, 7, 150, 85)
        reading(father, days_ago, 20, 140, 80)
    with django_assert_max_num_queries(10):
        body = client_for(daughter.account).get(f"/api/patients/{father.pk}/bp-trend/?date_from={(timezone.localdate() - timedelta(days=29)).isoformat()}").json()
    assert body["readings_count"] == 60 and len(body["days"]) == 30


@pytest.mark.parametrize(
    "query, field",
    [("date_from=2026-13-01", "date_from"), ("date_from=2026-05-02&date_to=2026-05-01", "date_from"), ("date_from=2020-01-01&date_to=2026-01-01", "date_from"), ("colour=red", "colour")],
)
def test_trend_refuses_bad_ranges_naming_the_field(client_for, family, query, field):
    daughter, father = family
    response = client_for(daughter.account).get(f"/api/patients/{father.pk}/bp-trend/?{query}")
    assert response.status_code == 400 and field in error_attrs(response)


def test_trend_and_fhir_are_refused_to_strangers_and_other_doctors(client_for, stranger):
    room = make_room()
    other_doctor = make_room().doctor_user
    for user in (stranger.account, other_doctor):
        client = client_for(user)
        assert client.get(f"/api/patients/{room.patient.pk}/bp-trend/").status_code == 404
        assert client.get(f"/api/patients/{room.patient.pk}/fhir/").status_code == 404
    assert client_for(room.doctor_user).get(f"/api/patients/{room.patient.pk}/bp-trend/").status_code == 200
    assert AccessLog.objects.filter(user=room.doctor_user, patient=room.patient, action="bp_trend_read").exists()


def test_trend_marks_the_prescriptions_the_viewer_may_read(client_for, room, write):
    reading(room.patient, 1, 7, 160, 90)
    draft = write()
    signed = write(sign=True)
    body = client_for(room.proxy).get(f"/api/patients/{room.patient.pk}/bp-trend/").json()
    assert [m["id"] for m in body["prescriptions"]] == [signed.pk]
    assert body["prescriptions"][0]["drugs"] == [signed.items.get().drug.generic_name]
    assert draft.pk not in [m["id"] for m in body["prescriptions"]]


def test_chart_page_is_served_to_the_family_and_refused_to_strangers(client, family, stranger):
    daughter, father = family
    client.force_login(daughter.account)
    html = client.get(f"/patients/{father.pk}/bp/").content.decode()
    assert 'id="chart"' in html and "consult/bp-chart.js" in html and f'"patientId": {father.pk}' in html
    client.force_login(stranger.account)
    assert client.get(f"/patients/{father.pk}/bp/").status_code == 404


def test_episode_bundle_is_valid_fhir_with_every_reference_resolving(client_for, room, write):
    reading(room.patient, 1, 7, 158, 92)
    from consult import consultation as consult_rules

    consult_rules.consultation_record(by=room.doctor_user, consultation=room.consultation, diagnosis=[{"code": "I10", "name": "Essential hypertension"}])
    write(sign=True)
    response = client_for(room.proxy).get(f"/api/patients/{room.patient.pk}/fhir/")
    assert response.status_code == 200
    bundle = response.json()
    Bundle.parse_obj(bundle)  # raises if any resource is invalid
    types = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {"Patient", "RelatedPerson", "Condition", "Observation", "Practitioner", "Appointment", "Encounter", "MedicationRequest"} <= types
    present = {e["fullUrl"] for e in bundle["entry"]}
    for reference in references([e["resource"] for e in bundle["entry"]], []):
        assert reference in present, f"{reference} does not resolve inside the bundle"
    for entry in bundle["entry"]:  # urn:uuid, one per object (cloudhospital.fhir_bundle)
        assert entry["fullUrl"] == resource_urn(entry["resource"]["resourceType"], entry["resource"]["id"])
    bp = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation" and e["resource"]["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert any(e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "62238-1" for e in bundle["entry"])
    related = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson")
    assert related["relationship"][0]["coding"][0]["code"] == "CHILD"
    assert room.patient.id_number not in response.content.decode()


def test_episode_bundle_for_the_treating_doctor_leaves_out_nothing_they_may_read(client_for, room):
    response = client_for(room.doctor_user).get(f"/api/patients/{room.patient.pk}/fhir/")
    assert response.status_code == 200
    assert AccessLog.objects.filter(user=room.doctor_user, action="fhir_export").count() == 1
    assert Observation.objects.filter(patient=room.patient).count() >= 1


def test_the_doctors_export_shows_no_more_than_the_api_lets_him_see(client_for):
    """Dr. Chen treats Zhang Lin; Zhang Lin also has a booking with another doctor, and two
    proxies. The API refuses Dr. Chen that booking and the proxies; so does the export."""
    from tests.consult.rooms import make_room
    from tests.factories import ProxyLinkFactory
    from tests.factories import BookingFactory, PatientFactory

    room = make_room()
    other_booking = BookingFactory(patient=room.patient, reason="皮肤科 private matter")
    ProxyLinkFactory(patient=room.patient, proxy=PatientFactory().account, relationship="child")
    doctor = client_for(room.doctor_user)
    assert doctor.get(f"/api/bookings/{other_booking.pk}/").status_code == 404
    assert doctor.get(f"/api/patients/{room.patient.pk}/proxies/").status_code == 403
    bundle = doctor.get(f"/api/patients/{room.patient.pk}/fhir/").json()
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    text = str(bundle)
    assert "RelatedPerson" not in kinds and room.proxy.full_name not in text
    assert "皮肤科 private matter" not in text and other_booking.slot.doctor.user.full_name not in text
    assert room.booking.reason in text  # his own booking is there
    family = client_for(room.proxy).get(f"/api/patients/{room.patient.pk}/fhir/").json()
    assert "RelatedPerson" in [entry["resource"]["resourceType"] for entry in family["entry"]]
    assert "皮肤科 private matter" in str(family)
