"""Online care is follow-up care only, on evidence (互联网诊疗管理办法（试行）; 互联网诊疗监管细则（试行）;
consult.follow_up): the condition's offline diagnosis and its evidence files, the doctor's
confirmation of the follow-up, and the referral offline with the suggested department."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cloudhospital.errors import DomainError
from cloudhospital.models import AccessLog, Notification, Role
from consult import consultation as consult_rules
from consult import follow_up
from consult.models import ConditionEvidence, Consultation
from tests.consult.rooms import make_room
from tests.factories import ConditionFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def upload(content: bytes, name: str = "门诊病历.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def refusal(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.fixture
def room():
    """Dr. Chen's consultation with a patient who has hypertension diagnosed offline; the
    follow-up not confirmed yet; the daughter is the proxy."""
    room = make_room(confirm_follow_up=False)
    room.hypertension = room.patient.conditions.get(icd10_code="I10")
    return room


def admitted(room):
    room.consultation = consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    return room


# --- The doctor's confirmation -----------------------------------------------------------------


def test_the_doctor_confirms_the_follow_up_and_who_when_and_which_condition_are_kept(room):
    admitted(room)
    consultation = follow_up.follow_up_confirm(by=room.doctor_user, consultation=room.consultation,
                                               condition=room.hypertension)
    consultation = Consultation.objects.get(pk=consultation.pk)
    assert consultation.follow_up_condition == room.hypertension
    assert consultation.follow_up_confirmed_by == room.doctor_user
    assert timezone.now() - consultation.follow_up_confirmed_at < timedelta(minutes=1)
    assert consultation.history.first().history_change_reason == "follow-up of I10 confirmed"
    assert follow_up.prescribing_refusal(consultation) is None


def test_a_condition_without_an_offline_institution_and_date_cannot_be_the_basis(room):
    first_visit = ConditionFactory(patient=room.patient, icd10_code="E11.9", name="Type 2 diabetes",
                                   diagnosed_institution="", diagnosed_on=None)
    error = refusal(follow_up.follow_up_confirm, by=room.doctor_user, consultation=room.consultation,
                    condition=first_visit)
    assert (error.code, error.field, error.kind) == ("offline_diagnosis_missing", "condition", "unprocessable")
    assert "互联网诊疗管理办法（试行）" in error.message
    assert Consultation.objects.get(pk=room.consultation.pk).follow_up_confirmed_at is None


def test_another_patients_or_a_resolved_condition_is_not_a_basis(room):
    stranger = ConditionFactory(patient=PatientFactory())
    resolved = ConditionFactory(patient=room.patient, icd10_code="J06.9", status="resolved")
    for condition in (stranger, resolved):
        error = refusal(follow_up.follow_up_confirm, by=room.doctor_user, consultation=room.consultation,
                        condition=condition)
        assert (error.code, error.field) == ("unknown_condition", "condition")


def test_only_the_booking_doctor_confirms_and_not_after_the_end(room):
    for someone in (room.proxy, UserFactory(role=Role.DOCTOR)):
        assert refusal(follow_up.follow_up_confirm, by=someone, consultation=room.consultation,
                       condition=room.hypertension).code in ("not_the_doctor", "forbidden")
    admitted(room)
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    assert refusal(follow_up.follow_up_confirm, by=room.doctor_user, consultation=room.consultation,
                   condition=room.hypertension).code == "invalid_transition"


def test_prescribing_is_refused_until_the_follow_up_is_confirmed(room):
    admitted(room)
    error = follow_up.prescribing_refusal(Consultation.objects.get(pk=room.consultation.pk))
    assert (error.code, error.kind) == ("follow_up_not_confirmed", "conflict")
    assert "互联网诊疗管理办法（试行）" in error.message


# --- Referring offline --------------------------------------------------------------------------


def test_referring_offline_keeps_the_department_tells_the_family_and_closes_prescribing(room):
    admitted(room)
    follow_up.follow_up_confirm(by=room.doctor_user, consultation=room.consultation, condition=room.hypertension)
    consultation = consult_rules.consultation_refer_offline(
        by=room.doctor_user, consultation=room.consultation, reason="血压 185/115，头痛：首诊评估", department="心内科门诊")
    consultation = Consultation.objects.get(pk=consultation.pk)
    assert (consultation.outcome, consultation.referral_department) == ("referred_offline", "心内科门诊")
    notice = Notification.objects.get(kind="consultation_referred_offline")
    assert notice.patient == room.patient and "心内科门诊" in notice.title and "首诊评估" in notice.body
    assert room.proxy in notice.recipients.all()
    error = follow_up.prescribing_refusal(consultation)
    assert (error.code, error.kind) == ("referred_offline", "conflict")


def test_referring_offline_needs_a_department(room):
    admitted(room)
    error = refusal(consult_rules.consultation_refer_offline, by=room.doctor_user, consultation=room.consultation,
                    reason="needs an echocardiogram", department="  ")
    assert (error.code, error.field) == ("required", "department")
    assert Consultation.objects.get(pk=room.consultation.pk).status == "in_progress"
    assert not Notification.objects.filter(kind="consultation_referred_offline").exists()


# --- The offline diagnosis and evidence on the record -------------------------------------------


def test_the_family_records_where_and_when_a_condition_was_diagnosed(room):
    from consult import records

    condition = records.condition_add(by=room.proxy, patient=room.patient, icd10_code="N18.3",
                                      diagnosed_institution=" 宁波市第一医院肾内科 ", diagnosed_on=date(2019, 5, 6))
    assert (condition.diagnosed_institution, condition.diagnosed_on) == ("宁波市第一医院肾内科", date(2019, 5, 6))
    error = refusal(records.condition_update, by=room.proxy, condition=condition,
                    diagnosed_on=timezone.localdate() + timedelta(days=1))
    assert (error.code, error.field) == ("invalid", "diagnosed_on")


@pytest.mark.parametrize("content, content_type", [(PNG, "image/png"), (JPEG, "image/jpeg"), (PDF, "application/pdf")])
def test_evidence_is_stored_with_the_type_its_bytes_say(room, content, content_type):
    evidence = follow_up.evidence_add(by=room.proxy, condition=room.hypertension,
                                      file=upload(content, name="scan.bin", content_type="application/octet-stream"),
                                      kind="discharge_summary")
    evidence = ConditionEvidence.objects.get(pk=evidence.pk)
    assert (evidence.content_type, evidence.size, evidence.kind) == (content_type, len(content), "discharge_summary")
    assert evidence.file.read() == content
    assert evidence.file.name.startswith(f"condition-evidence/{room.patient.pk}/")


def test_a_file_named_like_an_image_but_not_one_is_refused(room):
    error = refusal(follow_up.evidence_add, by=room.proxy, condition=room.hypertension,
                    file=upload(b"#!/bin/sh\necho not an image\n" * 4, name="病历.png"))
    assert (error.code, error.field) == ("file_type_not_allowed", "file")
    assert not ConditionEvidence.objects.exists()


def test_a_file_over_the_size_limit_is_refused(room, settings):
    settings.FOLLOW_UP_EVIDENCE_MAX_BYTES = len(PNG) - 1
    error = refusal(follow_up.evidence_add, by=room.proxy, condition=room.hypertension, file=upload(PNG))
    assert (error.code, error.field) == ("file_too_large", "file")


def test_only_the_family_adds_evidence(room):
    for someone in (room.doctor_user, PatientFactory().account):
        assert refusal(follow_up.evidence_add, by=someone, condition=room.hypertension, file=upload(PNG)).code == "forbidden"


# --- API ------------------------------------------------------------------------------------------


def test_confirm_follow_up_through_the_api_and_in_allowed_actions(room, client_for):
    admitted(room)
    url = f"/api/consultations/{room.consultation.pk}/"
    doctor = client_for(room.doctor_user)
    assert "confirm-follow-up" in doctor.get(url).json()["allowed_actions"]
    assert "confirm-follow-up" not in client_for(room.proxy).get(url).json()["allowed_actions"]
    bare = ConditionFactory(patient=room.patient, icd10_code="E11.9", diagnosed_institution="", diagnosed_on=None)
    refused = doctor.post(f"{url}confirm-follow-up/", {"condition": bare.pk}, format="json")
    assert refused.status_code == 422
    assert (refused.json()["errors"][0]["code"], refused.json()["errors"][0]["attr"]) == ("offline_diagnosis_missing", "condition")
    done = doctor.post(f"{url}confirm-follow-up/", {"condition": room.hypertension.pk}, format="json")
    assert done.status_code == 200
    assert done.json()["follow_up_condition"] == room.hypertension.pk and done.json()["follow_up_confirmed_at"]


def test_confirm_follow_up_is_refused_to_the_family_and_hidden_from_strangers(room, client_for):
    url = f"/api/consultations/{room.consultation.pk}/confirm-follow-up/"
    body = {"condition": room.hypertension.pk}
    assert client_for(room.proxy).post(url, body, format="json").status_code == 403
    assert client_for(UserFactory(role=Role.DOCTOR)).post(url, body, format="json").status_code == 404
    assert client_for(room.doctor_user).post(url, {}, format="json").status_code == 400


def test_refer_offline_through_the_api_needs_the_department(room, client_for):
    admitted(room)
    url = f"/api/consultations/{room.consultation.pk}/refer-offline/"
    doctor = client_for(room.doctor_user)
    missing = doctor.post(url, {"reason": "needs an echocardiogram"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["attr"] == "department"
    done = doctor.post(url, {"reason": "needs an echocardiogram", "department": "心脏超声室"}, format="json")
    assert done.status_code == 200 and done.json()["referral_department"] == "心脏超声室"


def test_the_condition_api_carries_the_offline_diagnosis(room, client_for):
    family = client_for(room.proxy)
    url = f"/api/patients/{room.patient.pk}/conditions/{room.hypertension.pk}/"
    changed = family.patch(url, {"diagnosed_institution": "宁波市第二医院", "diagnosed_on": "2010-03-02"}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["diagnosed_institution"], changed.json()["diagnosed_on"]) == ("宁波市第二医院", "2010-03-02")


def test_evidence_upload_through_the_api(room, client_for):
    url = f"/api/patients/{room.patient.pk}/conditions/{room.hypertension.pk}/evidence/"
    created = client_for(room.proxy).post(url, {"file": upload(PDF, "出院小结.pdf", "application/pdf"),
                                                "kind": "discharge_summary"}, format="multipart")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["content_type"], body["kind"], body["size"]) == ("application/pdf", "discharge_summary", len(PDF))
    fake = client_for(room.proxy).post(url, {"file": upload(b"plain text, not a scan" * 5, "病历.jpg", "image/jpeg")},
                                       format="multipart")
    assert fake.status_code == 400 and fake.json()["errors"][0]["code"] == "file_type_not_allowed"
    assert client_for(room.doctor_user).post(url, {"file": upload(PNG)}, format="multipart").status_code == 403
    assert client_for(PatientFactory().account).post(url, {"file": upload(PNG)}, format="multipart").status_code == 404
    assert ConditionEvidence.objects.count() == 1


def test_opening_evidence_is_logged_for_the_doctor_and_refused_to_everyone_else(room, client_for):
    evidence = follow_up.evidence_add(by=room.proxy, condition=room.hypertension, file=upload(PNG))
    url = f"/api/patients/{room.patient.pk}/evidence/{evidence.pk}/file/"
    family = client_for(room.proxy).get(url)
    assert family.status_code == 200 and b"".join(family.streaming_content) == PNG
    assert not AccessLog.objects.exists()  # the family's own record
    opened = client_for(room.doctor_user).get(url)
    assert opened.status_code == 200 and opened["Content-Type"] == "image/png"
    assert opened["Cache-Control"] == "private, no-store"
    assert list(AccessLog.objects.values_list("user", "patient", "action")) == [
        (room.doctor_user.pk, room.patient.pk, "condition_evidence_open")]
    for someone in (PatientFactory().account, UserFactory(role=Role.DOCTOR)):
        assert client_for(someone).get(url).status_code == 404
    other = make_room()
    assert client_for(room.doctor_user).get(f"/api/patients/{other.patient.pk}/evidence/{evidence.pk}/file/").status_code == 404
    assert AccessLog.objects.count() == 1


# --- Pages ---------------------------------------------------------------------------------------


def test_the_room_shows_the_follow_up_card_and_the_doctor_confirms_it_with_htmx(room, client):
    client.force_login(room.doctor_user)
    page = client.get(f"/consult/{room.consultation.pk}/").content.decode()
    assert 'id="follow-up-form"' in page and 'id="follow-up-missing"' in page
    url = f"/portal/consultations/{room.consultation.pk}/follow-up/"
    bare = ConditionFactory(patient=room.patient, icd10_code="E11.9", diagnosed_institution="", diagnosed_on=None)
    refused = client.post(url, {"condition": bare.pk}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and "has no record of where and when it was diagnosed" in refused.content.decode()
    assert Consultation.objects.get(pk=room.consultation.pk).follow_up_confirmed_at is None
    done = client.post(url, {"condition": room.hypertension.pk}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and 'id="follow-up-confirmed"' in done.content.decode()
    assert Consultation.objects.get(pk=room.consultation.pk).follow_up_condition == room.hypertension
    # Without htmx, back to the room; another doctor's consultation is not found.
    assert client.post(url, {"condition": room.hypertension.pk}).url == f"/consult/{room.consultation.pk}/"
    client.force_login(UserFactory(role=Role.DOCTOR))
    assert client.post(url, {"condition": room.hypertension.pk}).status_code in (403, 404)


def test_the_refer_form_asks_for_the_department(room, client):
    admitted(room)
    client.force_login(room.doctor_user)
    url = f"/portal/consultations/{room.consultation.pk}/refer-offline/"
    missing = client.post(url, {"reason": "needs an exam"})
    assert missing.status_code == 400 and "Name the department the patient should visit in person." in missing.content.decode()
    assert client.post(url, {"reason": "needs an exam", "department": "心内科"}).status_code == 302
    assert Consultation.objects.get(pk=room.consultation.pk).referral_department == "心内科"


def test_the_family_adds_the_offline_diagnosis_and_a_scan_and_the_doctor_sees_it_in_the_chart(room, client):
    client.force_login(room.proxy)
    url = f"/patient/record/{room.patient.pk}/conditions/{room.hypertension.pk}/offline/"
    fake = client.post(url, {"diagnosed_institution": "宁波市第一医院", "diagnosed_on": "2006-04-01",
                             "kind": "outpatient_record", "file": upload(b"not a scan at all" * 8, "scan.png")})
    assert fake.status_code == 400 and "Upload a photo (JPEG or PNG) or a PDF" in fake.content.decode()
    done = client.post(url, {"diagnosed_institution": "宁波市第一医院心内科", "diagnosed_on": "2006-04-01",
                             "kind": "outpatient_record", "file": upload(JPEG, "scan.jpg", "image/jpeg")})
    assert done.status_code == 302
    evidence = ConditionEvidence.objects.get()
    assert evidence.content_type == "image/jpeg"
    record = client.get("/patient/record/").content.decode()
    assert "宁波市第一医院心内科" in record and f"/patients/{room.patient.pk}/evidence/{evidence.pk}/" in record
    client.force_login(room.doctor_user)
    chart = client.get(f"/portal/consultations/{room.consultation.pk}/chart/").content.decode()
    assert "宁波市第一医院心内科" in chart and f"/patients/{room.patient.pk}/evidence/{evidence.pk}/" in chart
    seen = AccessLog.objects.count()  # the log is append-only (a trigger refuses DELETE on PostgreSQL)
    opened = client.get(f"/patients/{room.patient.pk}/evidence/{evidence.pk}/")
    assert opened.status_code == 200 and opened["Content-Type"] == "image/jpeg"
    assert list(AccessLog.objects.order_by("pk").values_list("action", flat=True)[seen:]) == ["condition_evidence_open"]
    client.force_login(PatientFactory().account)
    assert client.get(f"/patients/{room.patient.pk}/evidence/{evidence.pk}/").status_code == 404
