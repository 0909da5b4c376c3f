"""No prescription is written or signed outside a confirmed follow-up, or in a consultation
referred offline (互联网诊疗管理办法（试行）; 互联网诊疗监管细则（试行）): the one refusal is
consult.follow_up.prescribing_refusal, asked by prescriptions.lifecycle."""

import pytest

from cloudhospital.errors import DomainError
from consult import consultation as consult_rules
from consult.models import Consultation
from prescriptions import lifecycle
from prescriptions.models import Prescription

pytestmark = pytest.mark.django_db


def unconfirm(room):
    Consultation.objects.filter(pk=room.consultation.pk).update(
        follow_up_condition=None, follow_up_confirmed_by=None, follow_up_confirmed_at=None)
    room.consultation.refresh_from_db()


def create(room, line):
    return lifecycle.prescription_create(by=room.doctor_user, consultation=room.consultation,
                                         diagnosis=[{"code": "I10"}], items=[line("AMLO-T5", 5)])


def test_a_draft_is_refused_until_the_doctor_confirms_the_follow_up(room, line):
    unconfirm(room)
    with pytest.raises(DomainError) as refused:
        create(room, line)
    assert (refused.value.code, refused.value.field, refused.value.kind) == (
        "follow_up_not_confirmed", "consultation", "conflict")
    assert "互联网诊疗管理办法（试行）" in refused.value.message
    assert not Prescription.objects.exists()


def test_the_confirmed_follow_up_allows_the_draft(room, line):
    assert create(room, line).prescription.status == "draft"


def test_no_draft_and_no_signature_after_a_referral_offline(room, line):
    draft = create(room, line).prescription
    consult_rules.consultation_refer_offline(by=room.doctor_user, consultation=room.consultation,
                                             reason="BP 190/120: seen today in person", department="急诊科")
    room.consultation.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        lifecycle.prescription_sign(by=room.doctor_user, prescription=draft)
    assert refused.value.code == "referred_offline" and "互联网诊疗监管细则（试行）" in refused.value.message
    assert Prescription.objects.get(pk=draft.pk).status == "draft"
    with pytest.raises(DomainError) as again:
        create(room, line)
    assert again.value.code == "referred_offline"


def test_signing_is_refused_when_the_confirmation_is_missing(room, line):
    draft = create(room, line).prescription
    unconfirm(room)
    with pytest.raises(DomainError) as refused:
        lifecycle.prescription_sign(by=room.doctor_user, prescription=draft)
    assert refused.value.code == "follow_up_not_confirmed"


def test_the_api_answers_409_with_the_code(room, client_for):
    unconfirm(room)
    response = client_for(room.doctor_user).post("/api/prescriptions/", {
        "consultation": room.consultation.pk, "diagnosis": [{"code": "I10"}],
        "items": [{"drug": "AMLO-T5", "dose": "5", "dose_unit": "mg", "frequency": "qd", "days_supply": 7,
                   "quantity": 7}]}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["code"] == "follow_up_not_confirmed"
