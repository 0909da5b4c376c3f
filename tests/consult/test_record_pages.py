"""The family's account, people and health-record pages (consult.record_pages): each
refusal at its field with a 400, another family's patient a 404, reads through record_for."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from cloudhospital.identity import make_resident_id
from cloudhospital.models import AccessLog, User
from consult import selectors
from consult.models import Observation, Patient, ProxyLink
from tests.factories import (
    AllergyFactory,
    BloodPressureFactory,
    ConditionFactory,
    LabFactory,
    MedicationFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

STRONG = "Lotus-harbour-2026"


def resident_id(seq: int = 7, *, born=date(1990, 5, 1), sex="female") -> str:
    return make_resident_id(region="330203", birth_date=born, sequence=seq, sex=sex)


def register_data(**overrides) -> dict:
    data = {"full_name": "张薇", "id_number": resident_id(), "phone": "13800001234",
            "password": STRONG, "password_confirm": STRONG}
    return {**data, **overrides}


def field_error(response, field: str) -> str:
    """The message shown at `field` (the data-error-for paragraph), or ''."""
    import re

    match = re.search(rf'data-error-for="{field}">([^<]*)<', response.content.decode())
    return match.group(1) if match else ""


# --- Register -------------------------------------------------------------------------


def test_register_creates_the_account_logs_in_and_goes_home(client):
    response = client.post("/register/", register_data())
    assert response.status_code == 302 and response.url == "/home/"
    patient = Patient.objects.get(full_name="张薇")
    assert patient.account.phone == "+8613800001234" and patient.birth_date == date(1990, 5, 1)
    assert client.get("/home/").url == "/patient/"  # logged in as her


def test_register_refuses_a_wrong_id_number_at_its_field_keeping_what_was_typed(client):
    wrong = resident_id()[:-1] + ("0" if resident_id()[-1] != "0" else "1")
    response = client.post("/register/", register_data(id_number=wrong))
    assert response.status_code == 400
    assert "check character" in field_error(response, "id_number")
    assert 'value="张薇"' in response.content.decode()
    assert not User.objects.filter(full_name="张薇").exists()


@pytest.mark.parametrize(("field", "value", "words"), [
    ("phone", "1234", "mobile"),
    ("password", "12345678", "numeric"),
    ("password_confirm", "Something-else-2026", "not the same"),
])
def test_register_refuses_bad_input_at_the_field(client, field, value, words):
    overrides = {field: value, "password_confirm": value} if field == "password" else {field: value}
    response = client.post("/register/", register_data(**overrides))
    assert response.status_code == 400
    assert words in field_error(response, field).lower()


def test_register_with_a_taken_phone_or_id_number_is_refused_at_the_field(client):
    taken = PatientFactory()
    response = client.post("/register/", register_data(phone=taken.account.phone[3:]))
    assert response.status_code == 400 and "already exists" in field_error(response, "phone")
    response = client.post("/register/", register_data(id_number=taken.id_number))
    assert response.status_code == 400 and "already registered" in field_error(response, "id_number")
    assert Patient.objects.count() == 1


def test_register_is_for_anonymous_visitors_only(client):
    client.force_login(PatientFactory().account)
    assert client.get("/register/").url == "/home/"
    assert client.post("/register/", register_data()).url == "/home/"
    assert not Patient.objects.filter(full_name="张薇").exists()


def test_the_login_page_links_to_registering(client):
    assert 'href="/register/"' in client.get("/login/").content.decode()


# --- Family: the people acted for ---------------------------------------------------------


def test_the_family_page_lists_whom_she_acts_for(client, family, stranger):
    daughter, father = family
    client.force_login(daughter.account)
    page = client.get("/patient/people/").content.decode()
    assert f'data-patient="{daughter.pk}"' in page and f'data-patient="{father.pk}"' in page
    assert father.full_name in page and stranger.full_name not in page
    assert father.id_number not in page and father.masked_id_number in page
    assert 'id="acting-for"' in page


def test_adding_a_dependant_links_him_and_acts_for_him(client, family):
    daughter, _ = family
    client.force_login(daughter.account)
    number = resident_id(3, born=date(1941, 3, 9), sex="male")
    response = client.post("/patient/people/add/", {"full_name": "张森", "id_number": number, "relationship": "parent"})
    assert response.status_code == 302 and response.url == "/patient/people/"
    added = Patient.objects.get(id_number=number)
    assert added.account is None and added.sex == "male"
    assert ProxyLink.objects.filter(proxy=daughter.account, patient=added, relationship="parent").exists()
    page = client.get("/patient/people/").content.decode()
    assert f'data-patient="{added.pk}"' in page and f'data-acting-for="{daughter.pk}"' in page


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"id_number": "330203194103090000"}, "id_number", "check character"),
    ({"full_name": "  "}, "full_name", "required"),
    ({"phone": "555"}, "phone", "mobile"),
    ({"relationship": "cousin"}, "relationship", "valid choice"),
])
def test_adding_a_dependant_refuses_bad_input_at_the_field(client, family, overrides, field, words):
    daughter, _ = family
    client.force_login(daughter.account)
    data = {"full_name": "张森", "id_number": resident_id(3, born=date(1941, 3, 9), sex="male"), "relationship": "parent",
            **overrides}
    response = client.post("/patient/people/add/", data)
    assert response.status_code == 400
    assert words in field_error(response, field).lower()
    assert not Patient.objects.filter(full_name="张森").exists()


def test_adding_someone_already_registered_is_refused_without_saying_more(client, family, stranger):
    daughter, _ = family
    client.force_login(daughter.account)
    response = client.post("/patient/people/add/", {"full_name": "X", "id_number": stranger.id_number, "relationship": "other"})
    assert response.status_code == 400 and "cannot be added" in field_error(response, "id_number")
    assert not ProxyLink.objects.filter(proxy=daughter.account, patient=stranger).exists()


def test_acting_for_another_familys_patient_is_a_404(client, family, stranger):
    daughter, father = family
    client.force_login(daughter.account)
    assert client.post("/patient/acting-for/", {"patient": stranger.pk}).status_code == 404
    assert client.post("/patient/acting-for/", {"patient": father.pk, "next": "/patient/record/"}).url == "/patient/record/"
    assert client.session["acting_for_patient_id"] == father.pk


def test_family_pages_need_a_login(client):
    for url in ("/patient/people/", "/patient/record/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


# --- The health record --------------------------------------------------------------------


@pytest.fixture
def chart(family):
    daughter, father = family
    ConditionFactory(patient=father, icd10_code="N18.3", name="Chronic kidney disease, stage 3")
    AllergyFactory(patient=father, substance="Ibuprofen", reaction="Kidney injury", severity="severe")
    MedicationFactory(patient=father, name="Amlodipine", dose="5 mg")
    LabFactory(patient=father, value=48)
    father.reading = BloodPressureFactory(patient=father, systolic=152, diastolic=94, measured_at=timezone.now() - timedelta(hours=3))
    return daughter, father


def test_the_record_shows_the_patient_acted_for(client, chart, django_assert_max_num_queries):
    daughter, father = chart
    client.force_login(daughter.account)
    client.post("/patient/acting-for/", {"patient": father.pk})
    with django_assert_max_num_queries(30):
        page = client.get("/patient/record/").content.decode()
    for text in ("Chronic kidney disease, stage 3", "Ibuprofen", "Amlodipine", "152/94", 'id="bp-chart"', "eGFR</strong> 48 "):
        assert text in page
    assert f'data-acting-for="{father.pk}"' in page and f'data-reading="{father.reading.pk}"' in page
    assert '<span class="badge high">High</span>' in page  # 152/94 is at or above 140/90


def test_switching_on_the_record_page_is_not_undone_by_the_link_that_opened_it(client, chart):
    daughter, father = chart
    client.force_login(daughter.account)
    response = client.get("/patient/record/", {"patient": father.pk})
    assert response.status_code == 302 and response.url == "/patient/record/"
    page = client.get(response.url).content.decode()
    assert f'data-acting-for="{father.pk}"' in page and 'name="next" value="/patient/record/"' in page
    back = client.post("/patient/acting-for/", {"patient": daughter.pk, "next": "/patient/record/"}, follow=True)
    assert f'data-acting-for="{daughter.pk}"' in back.content.decode() and "152/94" not in back.content.decode()


def test_the_record_of_another_familys_patient_is_a_404(client, chart, stranger):
    daughter, _ = chart
    BloodPressureFactory(patient=stranger, systolic=177, diastolic=99)
    client.force_login(daughter.account)
    response = client.get("/patient/record/", {"patient": stranger.pk})
    assert response.status_code == 404 and "177/99" not in response.content.decode()
    assert client.get("/patient/record/", {"patient": "x"}).status_code == 404


def test_the_record_is_read_through_record_for_and_the_familys_own_read_is_not_logged(client, chart, monkeypatch):
    daughter, father = chart
    calls = []
    real = selectors.record_for

    def spy(viewer, patient_id, *, purpose):
        calls.append((viewer, patient_id, purpose))
        return real(viewer, patient_id, purpose=purpose)

    monkeypatch.setattr("consult.record_pages.record_for", spy)
    client.force_login(daughter.account)
    assert client.get("/patient/record/", {"patient": father.pk}, follow=True).status_code == 200
    assert calls == [(daughter.account, father.pk, "record_page")]
    # The access policy's rule: the patient's own and their proxies' reads leave no row; a
    # doctor's read through the same selector writes one (tests/test_access_log_paths.py).
    assert not AccessLog.objects.filter(patient=father).exists()


def test_the_record_read_logs_a_reader_outside_the_family(client, monkeypatch):
    """Were the page ever to serve someone who does not manage the patient, record_for would
    log it: the page's read and the log are one call."""
    from tests.consult.rooms import make_room

    room = make_room()
    assert selectors.record_for(room.doctor_user, room.patient.pk, purpose="record_page") == room.patient
    assert list(AccessLog.objects.values_list("user", "patient", "action")) == [
        (room.doctor_user.pk, room.patient.pk, "record_page")]
    client.force_login(room.doctor_user)  # the family pages are the family's only
    assert client.get("/patient/record/", {"patient": room.patient.pk}).status_code == 404


def test_entering_a_reading_saves_it_for_the_patient(client, chart):
    daughter, father = chart
    client.force_login(daughter.account)
    response = client.post(f"/patient/record/{father.pk}/readings/", {"systolic": "138", "diastolic": "84", "pulse": "70"})
    assert response.status_code == 302 and response.url == "/patient/record/#readings"
    reading = Observation.objects.filter(patient=father).latest("id")
    assert (reading.systolic, reading.diastolic, reading.pulse, reading.source, reading.recorded_by) == (
        138, 84, 70, "home", daughter.account)
    assert abs(reading.measured_at - timezone.now()) < timedelta(minutes=1)
    assert "138/84" in client.get(response.url).content.decode()


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"systolic": "400", "diastolic": "80"}, "systolic", "not plausible"),
    ({"systolic": "140", "diastolic": "10"}, "diastolic", "not plausible"),
    ({"systolic": "80", "diastolic": "120"}, "diastolic", "swapped"),
    ({"diastolic": "80"}, "systolic", "needs the systolic"),
    ({"systolic": "130", "diastolic": "80", "pulse": "400"}, "pulse", "not plausible"),
    ({"systolic": "130", "diastolic": "80", "measured_at": "2099-01-01T08:00"}, "measured_at", "future"),
])
def test_an_implausible_reading_is_refused_at_its_field(client, chart, data, field, words):
    daughter, father = chart
    client.force_login(daughter.account)
    before = Observation.objects.count()
    response = client.post(f"/patient/record/{father.pk}/readings/", data)
    assert response.status_code == 400
    assert words in field_error(response, field).lower()
    assert f'value="{data["diastolic"]}"' in response.content.decode()  # what was typed stays
    assert Observation.objects.count() == before


def test_a_reading_for_a_patient_not_managed_is_refused(client, chart, stranger):
    daughter, _ = chart
    client.force_login(daughter.account)
    response = client.post(f"/patient/record/{stranger.pk}/readings/", {"systolic": "130", "diastolic": "80"})
    assert response.status_code == 404
    assert not Observation.objects.filter(patient=stranger).exists()


def test_marking_a_reading_entered_in_error_keeps_it_marked_and_out_of_the_trend(client, chart):
    daughter, father = chart
    client.force_login(daughter.account)
    url = f"/patient/record/{father.pk}/readings/{father.reading.pk}/entered-in-error/"
    response = client.post(url, {"reason": "  "})
    assert response.status_code == 400 and "what was wrong" in field_error(response, "reason").lower()
    response = client.post(url, {"reason": "Cuff was on the wrong arm"})
    assert response.status_code == 302
    father.reading.refresh_from_db()
    assert father.reading.entered_in_error_reason == "Cuff was on the wrong arm"
    page = client.get(response.url).content.decode()
    assert "Cuff was on the wrong arm" in page and "No readings in the last 30 days yet." in page
    again = client.post(url, {"reason": "twice"})
    assert again.status_code == 400 and "already marked" in field_error(again, "__all__")


def test_a_reading_of_another_familys_patient_cannot_be_marked(client, chart, stranger):
    daughter, father = chart
    theirs = BloodPressureFactory(patient=stranger)
    client.force_login(daughter.account)
    assert client.post(f"/patient/record/{stranger.pk}/readings/{theirs.pk}/entered-in-error/",
                       {"reason": "x"}).status_code == 404
    # Nor through her own father's URL.
    assert client.post(f"/patient/record/{father.pk}/readings/{theirs.pk}/entered-in-error/",
                       {"reason": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.entered_in_error_at is None


def test_someone_managing_nobody_sees_an_empty_record_page(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/patient/record/")
    assert response.status_code == 200 and "There is nobody to show yet." in response.content.decode()


def test_the_chart_keeps_every_reading_inside_its_box():
    from consult.record_chart import HEIGHT, WIDTH, bp_chart

    today = timezone.localdate()
    now = timezone.now()
    trend = {"date_from": today - timedelta(days=29), "date_to": today, "threshold": {"systolic": 140, "diastolic": 90},
             "readings": [{"measured_at": now, "systolic": 290, "diastolic": 25}],
             "days": [{"date": today, "systolic": 290, "diastolic": 25}]}
    chart = bp_chart(trend)
    (dot,) = chart["dots"]
    assert 0 < dot["x"] < WIDTH and dot["sys"] == 0 and dot["dia"] == HEIGHT and dot["high"]
    assert chart["high_systolic_y"] < chart["high_diastolic_y"] and not chart["empty"]
