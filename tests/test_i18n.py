"""Chinese and English: the request's language (Accept-Language, else the user's saved
language, else Chinese) picks every message, the domain's refusals included; names kept as
data in both languages come back in the active one; the catalogue is complete and compiled.

The suite runs in English (tests/settings.py); tests here that need the product's default
override LANGUAGE_CODE back to zh-hans."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings as django_settings
from django.utils import translation

from tests.api_errors import error_code, error_detail, errors
from tests.factories import (
    PASSWORD,
    BookingFactory,
    ClinicFactory,
    DrugFactory,
    HospitalFactory,
    PatientFactory,
    SlotFactory,
)

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# As `make messages` runs makemessages (Makefile, MESSAGES_IGNORE).
MAKEMESSAGES_IGNORE = [".venv", "tests", "bench", "demo", "scripts", "staticfiles"]

SLOT_FULL_ZH = "该号源已约满，请选择其他号源。"
SLOT_FULL_EN = "This slot is full; choose another."

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_reset():
    """A request leaves its language active in this thread; the next test starts clean."""
    yield
    translation.deactivate()


@pytest.fixture
def chinese_default(settings):
    settings.LANGUAGE_CODE = "zh-hans"


def _book_full_slot(client, patient, **headers):
    full = SlotFactory(capacity=1)
    BookingFactory(slot=full)
    return client.post("/api/bookings/", {"patient": patient.pk, "slot": full.pk, "reason": "复诊开药"},
                       format="json", **headers)


def _token_client(api, user):
    """A client that sends the token a real login issued (whatever token class the API uses)."""
    login = api.post("/api/auth/login/", {"phone": user.phone, "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content
    api.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    return api


# --- The domain's refusals ------------------------------------------------------------------
def test_domain_refusal_is_chinese_with_accept_language_zh_hans(client_for):
    patient = PatientFactory()
    response = _book_full_slot(client_for(patient.account), patient, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 409 and error_code(response) == "slot_full"
    assert error_detail(response) == SLOT_FULL_ZH
    assert response["Content-Language"] == "zh-hans"


def test_domain_refusal_is_english_with_accept_language_en(client_for, chinese_default):
    patient = PatientFactory()
    response = _book_full_slot(client_for(patient.account), patient, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409 and error_code(response) == "slot_full"
    assert error_detail(response) == SLOT_FULL_EN
    assert response["Content-Language"] == "en"


def test_domain_refusal_is_chinese_without_a_header_because_chinese_is_the_default(client_for, chinese_default):
    assert django_settings.LANGUAGE_CODE == "zh-hans"
    patient = PatientFactory()
    response = _book_full_slot(client_for(patient.account), patient)
    assert error_code(response) == "slot_full" and error_detail(response) == SLOT_FULL_ZH
    assert response["Content-Language"] == "zh-hans"


def test_a_message_with_placeholders_is_translated_whole(client_for):
    patient = PatientFactory()
    slot = SlotFactory()
    BookingFactory(slot=SlotFactory(doctor=slot.doctor, clinic=slot.clinic), patient=patient)  # also tomorrow
    response = client_for(patient.account).post(
        "/api/bookings/", {"patient": patient.pk, "slot": slot.pk, "reason": "复诊"}, format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert error_code(response) == "duplicate_booking"
    assert error_detail(response).startswith(f"{patient.full_name} 已在 ")
    assert slot.clinic.name in error_detail(response) and "请取消或改约原预约" in error_detail(response)


# --- The user's saved language --------------------------------------------------------------
def test_the_saved_language_wins_over_the_browser_for_a_token_user(api):
    patient = PatientFactory()
    patient.account.language = "zh-hans"
    patient.account.save(update_fields=["language"])
    response = _book_full_slot(_token_client(api, patient.account), patient, HTTP_ACCEPT_LANGUAGE="en")
    assert error_code(response) == "slot_full" and error_detail(response) == SLOT_FULL_ZH
    assert response["Content-Language"] == "zh-hans"


def test_a_user_saves_their_language_through_me_and_sees_it_there(api):
    patient = PatientFactory()
    client = _token_client(api, patient.account)
    assert client.get("/api/auth/me/").json()["language"] == ""
    saved = client.patch("/api/auth/me/", {"language": "en"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert saved.status_code == 200 and saved.json()["language"] == "en"
    assert saved["Content-Language"] == "en"
    patient.account.refresh_from_db()
    assert patient.account.language == "en"
    # From now on English, whatever the browser says; blank follows the browser again.
    refused = _book_full_slot(client, patient, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert error_detail(refused) == SLOT_FULL_EN
    cleared = client.patch("/api/auth/me/", {"language": ""}, format="json")
    assert cleared.status_code == 200 and cleared.json()["language"] == ""
    assert error_detail(_book_full_slot(client, patient, HTTP_ACCEPT_LANGUAGE="zh-hans")) == SLOT_FULL_ZH


def test_an_unknown_language_is_a_400_naming_the_field(client_for):
    patient = PatientFactory()
    response = client_for(patient.account).patch("/api/auth/me/", {"language": "fr"}, format="json")
    assert response.status_code == 400 and [e["attr"] for e in errors(response)] == ["language"]
    patient.account.refresh_from_db()
    assert patient.account.language == ""


# --- DRF's own messages ---------------------------------------------------------------------
def test_a_drf_validation_message_is_chinese(client_for):
    patient = PatientFactory()
    response = client_for(patient.account).post("/api/bookings/", {"patient": patient.pk, "reason": "复诊"},
                                                 format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    slot_error = next(e for e in errors(response) if e["attr"] == "slot")
    assert slot_error["code"] == "required" and slot_error["detail"] == "该字段是必填项。"


def test_a_serializer_message_of_ours_is_chinese(client_for):
    patient = PatientFactory()
    response = client_for(patient.account).post("/api/bookings/", {"patient": patient.pk, "slot": 1, "reason": "x",
                                                                   "colour": "red"},
                                                 format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert next(e for e in errors(response) if e["attr"] == "colour")["detail"] == "未知字段或只读字段。"


# --- Names as data in both languages --------------------------------------------------------
def test_clinic_hospital_and_drug_names_come_in_both_languages_and_the_active_one(client_for):
    hospital = HospitalFactory(name="宁波市第一医院", name_en="Ningbo First Hospital")
    clinic = ClinicFactory(hospital=hospital, name="高血压云诊室", name_en="Hypertension cloud clinic")
    drug = DrugFactory(generic_name="Amlodipine besylate tablets", generic_name_zh="苯磺酸氨氯地平片")
    client = client_for(PatientFactory().account)

    zh = client.get(f"/api/clinics/{clinic.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    en = client.get(f"/api/clinics/{clinic.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (zh["name"], zh["name_en"], zh["display_name"]) == ("高血压云诊室", "Hypertension cloud clinic", "高血压云诊室")
    assert en["display_name"] == "Hypertension cloud clinic" and en["name"] == "高血压云诊室"
    assert zh["hospital"]["display_name"] == "宁波市第一医院" and en["hospital"]["display_name"] == "Ningbo First Hospital"

    hospital_en = client.get(f"/api/hospitals/{hospital.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert hospital_en["display_name"] == "Ningbo First Hospital" and hospital_en["name"] == "宁波市第一医院"

    drug_zh = client.get(f"/api/drugs/{drug.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    drug_en = client.get(f"/api/drugs/{drug.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (drug_zh["generic_name"], drug_zh["generic_name_zh"]) == ("Amlodipine besylate tablets", "苯磺酸氨氯地平片")
    assert drug_zh["display_name"] == "苯磺酸氨氯地平片" and drug_en["display_name"] == "Amlodipine besylate tablets"


def test_a_name_without_an_english_version_shows_the_chinese_one_in_english(client_for):
    clinic = ClinicFactory(name="全科云诊室")
    body = client_for(PatientFactory().account).get(f"/api/clinics/{clinic.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["name_en"] == "" and body["display_name"] == "全科云诊室"


def test_the_demo_names_its_hospitals_and_clinics_in_english_too():
    from consult.demo_booking import CLINIC_KINDS, CLINIC_NAMES_EN, HOSPITAL_NAMES_EN, HOSPITALS

    assert {name for name, _address in HOSPITALS} == set(HOSPITAL_NAMES_EN)
    assert {kind[0] for kind in CLINIC_KINDS} == set(CLINIC_NAMES_EN)
    assert all(name.isascii() and name for name in [*HOSPITAL_NAMES_EN.values(), *CLINIC_NAMES_EN.values()])


# --- Pages ----------------------------------------------------------------------------------
def test_a_page_renders_in_chinese(client, chinese_default):
    page = client.get("/login/")
    assert page.status_code == 200 and page["Content-Language"] == "zh-hans"
    text = page.content.decode()
    assert '<html lang="zh-hans">' in text and "<h1>登录</h1>" in text and "密码" in text
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Log in</h1>" in english and "登录" not in english


def test_a_signed_in_users_saved_language_picks_the_page_language(client):
    patient = PatientFactory()
    patient.account.language = "zh-hans"
    patient.account.save(update_fields=["language"])
    client.force_login(patient.account)
    page = client.get("/patient/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and page["Content-Language"] == "zh-hans"
    assert "<h1>我的就诊</h1>" in page.content.decode()


def test_the_video_rooms_script_speaks_the_pages_language(client, chinese_default):
    """room.js has no catalogue of its own: the page hands it its words, translated."""
    import json
    import re

    from tests.consult.rooms import make_room

    room = make_room()
    client.force_login(room.proxy)
    page = client.get(f"/consult/{room.consultation.pk}/").content.decode()
    config = json.loads(re.search(r'<script id="room-config" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert config["labels"]["waitingRoom"] == "候诊中，请稍候，医生将接诊。"
    assert config["labels"]["roles"]["doctor"] == "医生"
    english = client.get(f"/consult/{room.consultation.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "In the waiting room: the doctor will admit you." in english


# --- The catalogue --------------------------------------------------------------------------
def test_every_message_in_the_catalogue_is_translated_and_none_is_fuzzy():
    catalogue = polib.pofile(str(PO))
    assert len(catalogue) > 200
    assert [e.msgid for e in catalogue.untranslated_entries()] == []
    assert [e.msgid for e in catalogue.fuzzy_entries()] == []
    assert not catalogue.metadata_is_fuzzy
    # Placeholders survive translation: a msgstr with other names would raise KeyError at runtime.
    import re

    for entry in catalogue.translated_entries():
        names = lambda text: sorted(set(re.findall(r"%\((\w+)\)s", text)))  # noqa: E731
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for translation in translations:  # Chinese has one plural form, which names the count too
            assert names(translation) == names(entry.msgid), entry.msgid


def test_the_compiled_catalogue_is_up_to_date_with_the_po_file():
    compiled = polib.mofile(str(MO))
    source = polib.pofile(str(PO))
    assert {e.msgid: e.msgstr for e in compiled} == {e.msgid: e.msgstr for e in source.translated_entries()}


@pytest.mark.skipif(not (shutil.which("xgettext") and shutil.which("msgmerge")),
                    reason="GNU gettext (xgettext, msgmerge) is not installed: apt-get install gettext")
def test_every_message_in_the_code_and_templates_is_in_the_catalogue(tmp_path):
    """makemessages on a copy: the apps linked into a scratch directory with a copy of the
    catalogue, so the checkout's own files are never rewritten."""
    before = PO.read_bytes()
    for name in ("manage.py", "cloudhospital", "consult", "prescriptions", "pharmacy"):
        (tmp_path / name).symlink_to(ROOT / name)
    scratch_po = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    scratch_po.parent.mkdir(parents=True)
    shutil.copy(PO, scratch_po)
    ignores = [f"--ignore={pattern}" for pattern in MAKEMESSAGES_IGNORE]
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--symlinks", "--add-location=file", *ignores],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert PO.read_bytes() == before, "makemessages must not touch the checkout's catalogue"
    merged = polib.pofile(str(scratch_po))
    committed = polib.pofile(str(PO))
    missing = sorted({e.msgid for e in merged if not e.obsolete} - {e.msgid for e in committed if not e.obsolete})
    stale = sorted({e.msgid for e in committed if not e.obsolete} - {e.msgid for e in merged if not e.obsolete})
    assert missing == [], f"messages missing from {PO.relative_to(ROOT)}: run `make messages` and translate them"
    assert stale == [], "messages no longer in the code: run `make messages` (they become obsolete)"


# --- Diagnosis names as data (consult.icd10) -----------------------------------------------
def test_a_catalogued_diagnosis_reads_in_both_languages(client_for):
    from consult import consultation as consult_rules
    from tests.consult.rooms import make_room

    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    doctor = client_for(room.doctor_user)
    response = doctor.patch(f"/api/consultations/{room.consultation.pk}/",
                            {"diagnosis": [{"code": "i10"}, {"code": "Q99.9", "name": "自填诊断"}]}, format="json")
    assert response.status_code == 200, response.json()
    written = response.json()["diagnosis"]
    # A missing name is filled from the catalogue, in Chinese; an unknown code keeps its own.
    assert [(d["code"], d["name"], d["name_en"]) for d in written] == [
        ("I10", "原发性高血压", "Essential (primary) hypertension"), ("Q99.9", "自填诊断", "")]
    english = doctor.get(f"/api/consultations/{room.consultation.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = doctor.get(f"/api/consultations/{room.consultation.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert [d["display_name"] for d in english["diagnosis"]] == ["Essential (primary) hypertension", "自填诊断"]
    assert [d["display_name"] for d in chinese["diagnosis"]] == ["原发性高血压", "自填诊断"]
