"""Dates outside what the service can compute with (year 1, year 9999) are a 400 naming
the field, on every endpoint that takes a date; never a 500 from day arithmetic or a
time-zone conversion (schemathesis found `bp-trend/?date_to=0001-01-01` answering 500)."""

import pytest

from tests.factories import DoctorFactory
from tests.api_errors import error_attrs, field_details

pytestmark = pytest.mark.django_db

EXTREMES = ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"]


@pytest.mark.parametrize("day", EXTREMES)
@pytest.mark.parametrize("field", ["date_from", "date_to"])
def test_trend_and_slot_search_refuse_dates_out_of_range(client_for, family, field, day):
    daughter, father = family
    client = client_for(daughter.account)
    for url in (f"/api/patients/{father.pk}/bp-trend/", "/api/slots/"):
        response = client.get(url, {field: day})
        assert response.status_code == 400, url
        assert field_details(response, field) == ["Must be between 1900-01-01 and 2999-12-31."]


@pytest.mark.parametrize("day", EXTREMES)
def test_worklist_and_leave_refuse_dates_out_of_range(client_for, day):
    doctor = DoctorFactory()
    client = client_for(doctor.user)
    assert "date" in error_attrs(client.get("/api/doctor/worklist/", {"date": day}))
    response = client.post("/api/leaves/", {"starts_on": "2026-12-01", "ends_on": day, "reason": "会议"}, format="json")
    assert response.status_code == 400 and "ends_on" in error_attrs(response)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00", "0001-01-01", "9999-12-31T23:59:59", "1899-12-31T12:00:00+08:00"])
def test_readings_refuse_times_out_of_range_and_save_nothing(client_for, family, moment):
    daughter, father = family
    client = client_for(daughter.account)
    url = f"/api/patients/{father.pk}/observations/"
    response = client.post(url, {"kind": "blood_pressure", "systolic": 150, "diastolic": 90, "measured_at": moment}, format="json")
    assert response.status_code == 400 and "measured_at" in error_attrs(response)
    assert client.get(url).json()["count"] == 0


def test_record_dates_are_bounded_too(client_for, family):
    daughter, father = family
    client = client_for(daughter.account)
    condition = client.post(f"/api/patients/{father.pk}/conditions/", {"icd10_code": "I10", "onset_date": "0001-01-01"}, format="json")
    medication = client.post(
        f"/api/patients/{father.pk}/medications/", {"name": "Amlodipine", "dose": "5 mg", "frequency": "qd", "started_on": "9999-12-31"}, format="json"
    )
    assert condition.status_code == 400 and "onset_date" in error_attrs(condition)
    assert medication.status_code == 400 and "started_on" in error_attrs(medication)


def test_the_bounds_themselves_are_accepted(client_for, family):
    daughter, father = family
    client = client_for(daughter.account)
    assert client.get("/api/slots/", {"date_from": "1900-01-01", "date_to": "2999-12-31"}).status_code == 200
    trend = client.get(f"/api/patients/{father.pk}/bp-trend/", {"date_to": "1900-01-01"})
    assert trend.status_code == 200 and trend.json()["date_from"] == "1899-12-03"
