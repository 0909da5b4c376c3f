"""Signing in person (prescriptions.sign_in_person): a code from the doctor's authenticator in
the very request that signs (互联网诊疗监管细则（试行）: no prescription generated automatically)."""

import pytest

from prescriptions.models import PrescriptionStatus
from tests.api_errors import error_attrs, error_code
from tests.second_factor import code_for, enrol, token_client

pytestmark = pytest.mark.django_db


def sign(client, prescription, **body):
    return client.post(f"/api/prescriptions/{prescription.pk}/sign/", body, format="json")


def test_sign_is_refused_without_a_code_even_for_a_freshly_verified_token(room, write):
    prescription = write()
    client = token_client(room.doctor_user)  # fresh enough to admit, not to sign
    response = sign(client, prescription)
    assert response.status_code == 400 and error_code(response) == "otp_required" and error_attrs(response) == {"otp"}
    prescription.refresh_from_db()
    assert prescription.status == PrescriptionStatus.DRAFT and not prescription.signature


def test_sign_is_refused_with_a_wrong_code_and_allowed_with_the_right_one(room, write):
    prescription = write()
    client = token_client(room.doctor_user)
    right = code_for(room.doctor_user)
    wrong = "000000" if right != "000000" else "111111"
    refused = sign(client, prescription, otp=wrong)
    assert refused.status_code == 400 and error_code(refused) == "otp_invalid" and error_attrs(refused) == {"otp"}
    room.doctor_user.totpdevice_set.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    signed = sign(client, prescription, otp=code_for(room.doctor_user))
    assert signed.status_code == 200, signed.json()
    assert signed.json()["status"] == "signed" and signed.json()["signature"]


def test_a_code_used_to_sign_cannot_sign_again(room, write):
    first, second = write(), write()
    client = token_client(room.doctor_user, verified=False)
    code = code_for(enrol(room.doctor_user))
    assert sign(client, first, otp=code).status_code == 200
    replay = sign(client, second, otp=code)
    assert replay.status_code == 400 and error_code(replay) == "otp_invalid"
    second.refresh_from_db()
    assert second.status == PrescriptionStatus.DRAFT


def test_a_refusal_a_code_cannot_change_comes_first_and_spends_no_code(room, write, line):
    prescription = write(line("AMLO-T5", 15))  # a dose that blocks
    client = token_client(room.doctor_user, verified=False)
    device = enrol(room.doctor_user)
    response = sign(client, prescription, otp=code_for(device))
    assert response.status_code == 422 and error_code(response) == "safety_block"
    device.refresh_from_db()
    assert device.last_t == -1  # the code was not spent


def test_someone_else_cannot_sign_with_their_own_code(room, write):
    from tests.factories import UserFactory

    prescription = write()
    other = UserFactory(role="doctor")
    response = sign(token_client(other), prescription, otp=code_for(other))
    assert response.status_code == 404


def test_the_prescribing_panel_signs_with_a_code_and_says_at_its_field_when_it_is_missing(room):
    from django.test import Client
    from django.urls import reverse

    from consult import consultation as consult_rules
    from tests.prescriptions.test_prescribing_pages import AMLODIPINE, DIAGNOSIS, posted

    consult_rules.consultation_record(by=room.doctor_user, consultation=room.consultation, diagnosis=DIAGNOSIS)
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(room.doctor_user)
    url = reverse("prescribing-sign", args=[room.consultation.pk])
    device = enrol(room.doctor_user)
    missing = client.post(url, posted(AMLODIPINE))
    html = missing.content.decode()
    assert missing.status_code == 400
    assert 'aria-invalid="true"' in html.split('id="rx-otp"')[1].split(">")[0]
    assert "enter the 6-digit code from your authenticator" in html.split('id="rx-otp-error">')[1].split("</span>")[0]
    draft = room.consultation.prescriptions.get()
    assert draft.status == PrescriptionStatus.DRAFT  # saved, not signed
    signed = client.post(url, posted(AMLODIPINE, prescription=draft, otp=code_for(device)))
    assert signed.status_code == 200
    draft.refresh_from_db()
    assert draft.status == PrescriptionStatus.SIGNED
