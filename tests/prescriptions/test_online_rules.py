"""What may be prescribed online (prescriptions.rules): legal classes, five drugs, validity,
days' supply, long-term prescriptions and the patient's confirmation, and the review
pharmacist's own signature — each refusal and its allowed neighbour."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cloudhospital.errors import DomainError
from cloudhospital.models import Notification, Role
from prescriptions import lifecycle, rules
from prescriptions.checks import BLOCK, WARN, PatientFacts, expected_quantity
from prescriptions.lifecycle import ItemDraft
from prescriptions.models import LegalClass, PrescriptionStatus
from prescriptions.permissions import prescriptions_visible_to
from prescriptions.selectors import review_queue
from tests.factories import DrugFactory, UserFactory

pytestmark = pytest.mark.django_db
S = PrescriptionStatus
HYPERTENSION = [{"code": "I10", "name": "原发性高血压"}]


def drug_line(drug=None, days=7, **drug_fields) -> ItemDraft:
    """5 mg once a day of `drug` (a DrugFactory drug with `drug_fields` unless given) for `days`."""
    drug = drug or DrugFactory(**drug_fields)
    quantity = expected_quantity(drug=drug, dose=Decimal(5), dose_unit="mg", frequency="qd", days_supply=days)
    return ItemDraft(drug=drug, dose=Decimal(5), dose_unit="mg", frequency="qd", days_supply=days, quantity=quantity)


def codes(findings) -> set[tuple[str, str, int | None]]:
    return {(f.code, f.severity, f.item) for f in findings}


def create(room, *items, **kwargs):
    kwargs.setdefault("diagnosis", HYPERTENSION)
    return lifecycle.prescription_create(by=room.doctor_user, consultation=room.consultation, items=list(items),
                                         **kwargs).prescription


def sign(room, prescription, overrides=None):
    return lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription, overrides=overrides).prescription


def refusal(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as error:
        call(*args, **kwargs)
    return error.value


# --- 5. Legal classes -------------------------------------------------------------------------
@pytest.mark.parametrize("legal_class", sorted(set(LegalClass.values) - {LegalClass.ORDINARY}))
def test_a_specially_managed_drug_is_a_block_whatever_the_dose_and_cannot_be_signed(room, legal_class):
    prescription = create(room, drug_line(legal_class=legal_class, days=1))
    findings = lifecycle.prescription_findings(prescription)
    assert ("online_prohibited_class", BLOCK, 0) in codes(findings)
    assert "互联网诊疗管理办法（试行）art. 19" in next(f.message for f in findings if f.code == "online_prohibited_class")
    error = refusal(sign, room, prescription, overrides={f.key: "x" for f in findings})
    assert error.code == "safety_block"
    prescription.refresh_from_db()
    assert prescription.status == S.DRAFT


def test_the_live_check_shows_the_legal_class_block_beside_the_other_findings(room):
    narcotic = drug_line(legal_class=LegalClass.NARCOTIC, therapeutic_class="opioid")
    findings = lifecycle.prescription_findings_for(patient=room.patient, items=[drug_line(), narcotic],
                                                   diagnosis=HYPERTENSION)
    assert codes(findings) == {("online_prohibited_class", BLOCK, 1)}


def test_an_ordinary_drug_is_not_blocked(room):
    assert lifecycle.prescription_findings_for(patient=room.patient, items=[drug_line()], diagnosis=HYPERTENSION) == []


# --- 6. Five drugs ----------------------------------------------------------------------------
def test_six_drugs_are_refused_at_items_and_five_are_allowed(room):
    error = refusal(create, room, *[drug_line() for _ in range(6)])
    assert (error.code, error.field) == ("too_many_items", "items")
    assert "处方管理办法" in error.message
    prescription = create(room, *[drug_line() for _ in range(5)])
    assert prescription.items.count() == 5


# --- 6. Validity ------------------------------------------------------------------------------
def test_a_prescription_is_valid_to_the_end_of_the_day_it_is_signed(room):
    prescription = sign(room, create(room, drug_line()))
    assert prescription.validity_days == 1
    local = timezone.localtime(prescription.expires_at)
    assert (local.hour, local.minute, local.date()) == (0, 0, timezone.localtime(prescription.signed_at).date() + timedelta(days=1))


def test_three_days_with_a_reason_are_allowed(room):
    prescription = sign(room, create(room, drug_line(), validity_days=3, validity_reason="周末取药不便"))
    assert (prescription.validity_days, prescription.validity_reason) == (3, "周末取药不便")
    assert timezone.localtime(prescription.expires_at).date() == timezone.localtime(prescription.signed_at).date() + timedelta(days=3)


def test_more_than_a_day_without_a_reason_is_refused_at_the_reason(room):
    error = refusal(create, room, drug_line(), validity_days=3)
    assert (error.code, error.field) == ("validity_reason_required", "validity_reason")


def test_four_days_are_refused_even_with_a_reason(room):
    error = refusal(create, room, drug_line(), validity_days=4, validity_reason="出差")
    assert (error.code, error.field) == ("validity_too_long", "validity_days")


def test_the_validity_can_be_edited_on_the_draft(room):
    prescription = create(room, drug_line())
    error = refusal(lifecycle.prescription_update, by=room.doctor_user, prescription=prescription, validity_days=2)
    assert error.code == "validity_reason_required"
    saved = lifecycle.prescription_update(by=room.doctor_user, prescription=prescription, validity_days=2,
                                          validity_reason="行动不便，家属次日取药")
    assert saved.prescription.validity_days == 2


# --- 6. Days' supply --------------------------------------------------------------------------
def test_ten_days_of_an_acute_drug_warn_and_sign_with_the_written_reason(room):
    prescription = create(room, drug_line(days=10, chronic_use=False))
    findings = lifecycle.prescription_findings(prescription)
    assert codes(findings) == {("days_supply_extended", WARN, 0)}
    error = refusal(sign, room, prescription)
    assert error.code == "override_reason_required"
    signed = sign(room, prescription, overrides={"days_supply_extended:0": "高龄，行动不便"})
    assert signed.status == S.SIGNED and signed.override_reasons == {"days_supply_extended:0": "高龄，行动不便"}


def test_seven_days_need_no_reason(room):
    assert lifecycle.prescription_findings(create(room, drug_line(days=7, chronic_use=False))) == []


def test_a_chronic_drug_for_a_chronic_diagnosis_goes_to_thirty_days_and_no_further(room):
    chronic = DrugFactory(chronic_use=True)
    assert lifecycle.prescription_findings(create(room, drug_line(chronic, days=30))) == []
    assert codes(lifecycle.prescription_findings(create(room, drug_line(chronic, days=31)))) == {("days_supply", BLOCK, 0)}


def test_a_chronic_condition_alone_does_not_lengthen_an_acute_drug(room):
    findings = lifecycle.prescription_findings(create(room, drug_line(days=30, chronic_use=False)))
    assert codes(findings) == {("days_supply_extended", WARN, 0)}


def test_days_supply_limit_reads_the_drug_and_the_record():
    chronic_record = PatientFacts(chronic_conditions=("E11 Type 2 diabetes",))
    item = drug_line(DrugFactory.build(chronic_use=True), days=30)
    assert rules.days_supply_limit(chronic_record, item, long_term=False) == 30
    assert rules.days_supply_limit(PatientFacts(), item, long_term=False) == 7
    assert rules.days_supply_limit(PatientFacts(), item, long_term=True) == 84


# --- 6. Long-term prescriptions ---------------------------------------------------------------
def test_twelve_weeks_long_term_for_a_chronic_diagnosis_signs_and_thirteen_are_refused(room):
    chronic = DrugFactory(chronic_use=True)
    ok = create(room, drug_line(chronic, days=84), long_term=True)
    assert lifecycle.prescription_findings(ok) == []
    assert sign(room, ok).status == S.CONFIRMING
    too_long = create(room, drug_line(chronic, days=91), long_term=True)
    assert codes(lifecycle.prescription_findings(too_long)) == {("long_term_too_long", BLOCK, 0)}
    assert refusal(sign, room, too_long).code == "safety_block"


def test_long_term_needs_a_chronic_diagnosis_on_the_prescription(room):
    prescription = create(room, drug_line(DrugFactory(chronic_use=True), days=28), long_term=True,
                          diagnosis=[{"code": "J06.9", "name": "急性上呼吸道感染"}])
    assert codes(lifecycle.prescription_findings(prescription)) == {("long_term_without_chronic_diagnosis", BLOCK, None)}


@pytest.mark.parametrize("fields", [{"antimicrobial": True}, {"special_storage": True},
                                    {"legal_class": LegalClass.TOXIC}])
def test_the_excluded_classes_are_refused_long_term(room, fields):
    prescription = create(room, drug_line(days=28, **fields), long_term=True)
    assert ("long_term_excluded", BLOCK, 0) in codes(lifecycle.prescription_findings(prescription))


def test_an_antimicrobial_for_chronic_tuberculosis_may_be_long_term(room):
    prescription = create(room, drug_line(days=28, antimicrobial=True, chronic_use=True), long_term=True,
                          diagnosis=[*HYPERTENSION, {"code": "A15.0", "name": "肺结核"}])
    assert lifecycle.prescription_findings(prescription) == []


def test_four_weeks_long_term_goes_straight_to_review(room):
    prescription = sign(room, create(room, drug_line(DrugFactory(chronic_use=True), days=28), long_term=True))
    assert prescription.status == S.SIGNED
    assert prescription in review_queue()


@pytest.fixture
def awaiting(room):
    """A long-term prescription of eight weeks, signed: waiting for the patient's confirmation."""
    return sign(room, create(room, drug_line(DrugFactory(chronic_use=True), days=56), long_term=True))


def test_beyond_four_weeks_it_waits_for_the_patient_and_the_review_queue_does_not_show_it(room, awaiting):
    assert awaiting.status == S.CONFIRMING and awaiting.signature
    pharmacist = UserFactory(role=Role.PHARMACIST)
    assert awaiting not in review_queue()
    assert not prescriptions_visible_to(pharmacist).filter(pk=awaiting.pk).exists()
    assert refusal(lifecycle.prescription_approve, by=pharmacist, prescription=awaiting).code == "invalid_transition"
    notice = Notification.objects.get(key=f"prescription:{awaiting.pk}:confirm")
    assert set(notice.recipients.all()) >= {room.proxy}
    assert lifecycle.prescription_allowed_actions(awaiting, actor=room.proxy) == ["confirm"]
    assert "sign" not in lifecycle.prescription_allowed_actions(awaiting, actor=room.doctor_user)


def test_the_proxy_confirms_and_it_goes_to_review_with_who_and_when(room, awaiting):
    confirmed = lifecycle.prescription_confirm(by=room.proxy, prescription=awaiting)
    assert confirmed.status == S.SIGNED
    assert confirmed.patient_confirmed_by == room.proxy and confirmed.patient_confirmed_at is not None
    assert confirmed in review_queue()
    assert confirmed.history.first().history_user == room.proxy
    assert lifecycle.prescription_verify(confirmed)[0] is True
    again = refusal(lifecycle.prescription_confirm, by=room.proxy, prescription=confirmed)
    assert again.code == "invalid_transition"


def test_a_stranger_or_the_doctor_cannot_confirm(room, awaiting):
    for user in (UserFactory(role=Role.PATIENT), room.doctor_user):
        error = refusal(lifecycle.prescription_confirm, by=user, prescription=awaiting)
        assert error.code == "not_the_patient"
    awaiting.refresh_from_db()
    assert awaiting.status == S.CONFIRMING


def test_the_doctor_may_void_while_it_waits_and_it_expires_unconfirmed(room, awaiting, write):
    voided = lifecycle.prescription_void(by=room.doctor_user, prescription=awaiting, reason="患者要求改为四周")
    assert voided.status == S.VOIDED
    other = sign(room, create(room, drug_line(DrugFactory(chronic_use=True), days=56), long_term=True))
    assert lifecycle.prescription_expire(prescription=other, now=other.expires_at) is True


# --- 7. The review pharmacist's signature -----------------------------------------------------
def test_approval_is_signed_by_the_pharmacist_and_verifies(room, review_pharmacist):
    prescription = sign(room, create(room, drug_line()))
    approved = lifecycle.prescription_approve(by=review_pharmacist, prescription=prescription, reason="合理")
    assert approved.review_signature and approved.review_key_id.startswith("ed25519-")
    assert approved.review_key_id != approved.key_id
    assert approved.review_signed_content["decision"] == S.APPROVED
    assert approved.review_signed_content["prescription"]["content_hash"] == approved.content_hash
    assert rules.review_verify(approved) == (True, f"Valid signature by {review_pharmacist.full_name} with key "
                                                   f"{approved.review_key_id}.")
    type(approved).objects.filter(pk=approved.pk).update(review_reason="改过")
    approved.refresh_from_db()
    assert rules.review_verify(approved)[0] is False


def test_a_rejection_is_signed_too(room, review_pharmacist):
    prescription = sign(room, create(room, drug_line()))
    rejected = lifecycle.prescription_reject(by=review_pharmacist, prescription=prescription, reason="剂量需调整")
    assert rejected.review_signed_content["decision"] == S.REJECTED
    assert rules.review_verify(rejected)[0] is True


def test_an_unreviewed_prescription_has_no_pharmacist_signature(room):
    assert rules.review_verify(sign(room, create(room, drug_line())))[0] is False
