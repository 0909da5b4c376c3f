"""The prescription's life in prescriptions.lifecycle: who may do what, when, and what is recorded."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cloudhospital.errors import DomainError
from cloudhospital.models import Role
from consult import consultation as consult_rules
from prescriptions import lifecycle, tasks
from prescriptions.lifecycle import TRANSITIONS
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionStatus
from tests.factories import PharmacyFactory, PharmacyStaffFactory, UserFactory

pytestmark = pytest.mark.django_db
S = PrescriptionStatus


def refused(code: str, expected_kind: str | None = None):
    """Context: the block raises DomainError with `code` (and `expected_kind`)."""

    class Expect:
        def __enter__(self):
            return self

        def __exit__(self, kind, error, tb):
            assert kind is DomainError, f"expected DomainError {code}, got {kind}"
            assert error.code == code, error.message
            if expected_kind is not None:
                assert error.kind == expected_kind
            self.error = error
            return True

    return Expect()


def test_transitions_table_covers_every_status_and_nothing_leaves_a_final_state():
    assert set(TRANSITIONS) == set(S.values)
    for final in (S.REJECTED, S.DISPENSED, S.EXPIRED, S.VOIDED):
        assert TRANSITIONS[final] == set()


def test_prescription_create_by_the_consultations_doctor_saves_a_draft_with_findings(room, write, line):
    prescription = write()
    assert prescription.status == S.DRAFT and prescription.patient == room.patient
    assert prescription.doctor == room.doctor_user and prescription.version == 1
    item = prescription.items.get()
    assert (item.drug.code, item.quantity, item.route) == ("AMLO-T5", 7, "oral")
    assert prescription.history.first().history_user == room.doctor_user


def test_prescription_create_returns_block_findings_but_still_saves_the_draft(room, line):
    saved = lifecycle.prescription_create(
        by=room.doctor_user, consultation=room.consultation, diagnosis=[{"code": "I10"}],
        items=[line("METF-T500", 1000, "bid"), line("IBUP-SR300", 600, "bid", days=5), line("AMLO-T5", 15)],
    )
    codes = {(f.code, f.item) for f in saved.findings}
    # Zhang Lin, eGFR 48: full-dose metformin and ibuprofen are over their renal caps.
    assert {("renal_dose_cap", 0), ("renal_dose_cap", 1), ("max_daily_dose", 2)} <= codes
    assert Prescription.objects.filter(pk=saved.prescription.pk, status=S.DRAFT).exists()


@pytest.mark.parametrize("who", ["proxy", "other_doctor", "pharmacist"])
def test_prescription_create_refuses_anyone_but_the_consultations_doctor(room, line, who):
    by = {"proxy": room.proxy, "other_doctor": UserFactory(role=Role.DOCTOR),
          "pharmacist": UserFactory(role=Role.PHARMACIST)}[who]
    with refused("not_the_doctor", "forbidden"):
        lifecycle.prescription_create(by=by, consultation=room.consultation, diagnosis=[{"code": "I10"}],
                                      items=[line("AMLO-T5", 5)])
    assert not Prescription.objects.exists()


def test_prescription_create_refuses_before_the_patient_is_admitted(formulary, line):
    from tests.consult.rooms import make_room

    waiting = make_room()
    with refused("prescribing_closed", "conflict"):
        lifecycle.prescription_create(by=waiting.doctor_user, consultation=waiting.consultation,
                                      diagnosis=[{"code": "I10"}], items=[line("AMLO-T5", 5)])


def test_prescription_create_allowed_up_to_24_hours_after_the_end_then_refused(room, line):
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    args = dict(by=room.doctor_user, consultation=room.consultation, diagnosis=[{"code": "I10"}],
                items=[line("AMLO-T5", 5)])
    assert lifecycle.prescription_create(**args).prescription.pk
    room.consultation.refresh_from_db()
    room.consultation.ended_at = timezone.now() - timedelta(hours=24, minutes=1)
    room.consultation.save()
    with refused("prescribing_closed", "conflict"):
        lifecycle.prescription_create(**args)


@pytest.mark.parametrize(
    "diagnosis, field, code",
    [([], "diagnosis", "diagnosis_required"), ([{"code": "hypertension"}], "diagnosis[0].code", "invalid_icd10"),
     ([{"name": "no code"}], "diagnosis[0].code", "diagnosis_invalid"), ("I10", "diagnosis", "diagnosis_required")],
)
def test_prescription_create_refuses_missing_or_non_icd10_diagnosis(room, line, diagnosis, field, code):
    with refused(code, "invalid") as expect:
        lifecycle.prescription_create(by=room.doctor_user, consultation=room.consultation, diagnosis=diagnosis,
                                      items=[line("AMLO-T5", 5)])
    assert expect.error.field == field
    assert not Prescription.objects.exists()


def test_prescription_create_normalises_icd10_codes(room, write):
    prescription = write(diagnosis=[{"code": " n18.3 ", "name": "CKD 3"}, {"code": "I10"}])
    assert prescription.diagnosis == [{"code": "N18.3", "name": "CKD 3"}, {"code": "I10", "name": "原发性高血压"}]  # from consult.icd10


@pytest.mark.parametrize(
    "change, field",
    [({"dose": Decimal("0")}, "items[1].dose"), ({"dose": Decimal("-5")}, "items[1].dose"),
     ({"quantity": 8}, "items[1].quantity"), ({"frequency": "q2h"}, "items[1].frequency"),
     ({"dose_unit": "ml"}, "items[1].dose_unit")],
)
def test_prescription_create_refuses_bad_items_naming_the_field_and_saves_nothing(room, line, change, field):
    from dataclasses import replace

    items = [line("AMLO-T5", 5), replace(line("LOSA-T50", 50), **change)]
    with refused(_code_for(field), "invalid") as expect:
        lifecycle.prescription_create(by=room.doctor_user, consultation=room.consultation,
                                      diagnosis=[{"code": "I10"}], items=items)
    assert expect.error.field == field
    assert not Prescription.objects.exists() and not PrescriptionItem.objects.exists()


def _code_for(field: str) -> str:
    name = field.split(".")[-1]
    return {"dose": "dose_invalid", "quantity": "quantity_mismatch", "frequency": "frequency_invalid",
            "dose_unit": "dose_unit_invalid"}[name]


def test_prescription_create_refuses_more_than_five_items(room, line):
    with refused("too_many_items", "invalid"):
        lifecycle.prescription_create(by=room.doctor_user, consultation=room.consultation, diagnosis=[{"code": "I10"}],
                                      items=[line("AMLO-T5", 5)] * 6)


def test_prescription_update_replaces_items_of_a_draft(write, room, line):
    prescription = write()
    saved = lifecycle.prescription_update(by=room.doctor_user, prescription=prescription,
                                          items=[line("LOSA-T50", 50), line("HCTZ-T25", 12.5)])
    assert [i.drug.code for i in saved.prescription.items.order_by("position")] == ["LOSA-T50", "HCTZ-T25"]


def test_prescription_update_refuses_after_signing_naming_the_state(write, room, line):
    prescription = write(sign=True)
    with refused("not_editable", "conflict") as expect:
        lifecycle.prescription_update(by=room.doctor_user, prescription=prescription, items=[line("LOSA-T50", 50)])
    assert "signed" in expect.error.message
    assert prescription.items.get().drug.code == "AMLO-T5"


def test_prescription_update_refuses_another_doctor(write):
    with refused("not_the_prescriber", "forbidden"):
        lifecycle.prescription_update(by=UserFactory(role=Role.DOCTOR), prescription=write(), notes="x")


def test_prescription_sign_stores_signature_key_hash_and_validity(write, room):
    prescription = write(sign=True)
    assert prescription.status == S.SIGNED
    assert prescription.signature and prescription.key_id.startswith("ed25519-") and len(prescription.content_hash) == 64
    # 处方管理办法: valid on the day written, to the end of that day in the hospital's time zone.
    signed_local = timezone.localtime(prescription.signed_at)
    assert timezone.localtime(prescription.expires_at) == signed_local.replace(
        hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    assert prescription.signed_content["patient"]["id"] == room.patient.pk
    assert lifecycle.prescription_verify(prescription)[0] is True
    last = prescription.history.first()
    assert last.history_user == room.doctor_user and last.history_change_reason == "signed"


def test_prescription_sign_refuses_a_block(write, room, line):
    prescription = write(line("AMLO-T5", 15))  # 15 mg/day: above the 10 mg maximum
    with refused("safety_block", "unprocessable"):
        lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription, overrides={"max_daily_dose:0": "x"})
    prescription.refresh_from_db()
    assert prescription.status == S.DRAFT and not prescription.signature


def test_prescription_sign_needs_a_reason_for_each_warning_and_stores_it(write, room, line):
    prescription = write(line("METF-T500", 1000, "bid"))
    with refused("override_reason_required", "unprocessable") as expect:
        lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription)
    assert "renal_dose_cap:0" in expect.error.message
    signed = lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription,
                                         overrides={"renal_dose_cap:0": "内分泌科会诊后决定，两周复查肾功能"}).prescription
    assert signed.status == S.SIGNED
    assert signed.override_reasons == {"renal_dose_cap:0": "内分泌科会诊后决定，两周复查肾功能"}


def test_prescription_sign_refuses_anyone_but_the_author(write):
    with refused("not_the_prescriber", "forbidden"):
        lifecycle.prescription_sign(by=UserFactory(role=Role.DOCTOR), prescription=write())


def test_prescription_sign_twice_is_a_409_naming_the_state(write, room):
    prescription = write(sign=True)
    with refused("invalid_transition", "conflict") as expect:
        lifecycle.prescription_sign(by=room.doctor_user, prescription=prescription)
    assert "signed" in expect.error.message


def test_prescription_verify_detects_a_row_changed_in_the_database(write):
    prescription = write(sign=True)
    PrescriptionItem.objects.filter(prescription=prescription).update(quantity=70)
    valid, reason = lifecycle.prescription_verify(Prescription.objects.get(pk=prescription.pk))
    assert valid is False and "items[0].quantity" in reason


def test_prescription_verify_detects_a_forged_stored_copy(write):
    prescription = write(sign=True)
    content = prescription.signed_content
    content["items"][0]["quantity"] = 70
    PrescriptionItem.objects.filter(prescription=prescription).update(quantity=70)
    Prescription.objects.filter(pk=prescription.pk).update(signed_content=content)
    valid, reason = lifecycle.prescription_verify(Prescription.objects.get(pk=prescription.pk))
    assert valid is False and "Signature does not match" in reason


def test_review_approve_and_reject_by_the_review_pharmacist(write, review_pharmacist):
    approved = lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True))
    assert approved.status == S.APPROVED and approved.reviewed_by == review_pharmacist and approved.reviewed_at
    rejected = lifecycle.prescription_reject(by=review_pharmacist, prescription=write(sign=True), reason="剂量与诊断不符")
    assert rejected.status == S.REJECTED and rejected.review_reason == "剂量与诊断不符"
    assert rejected.history.first().history_change_reason.startswith("rejected: ")


def test_review_refuses_a_pharmacy_pharmacist_and_a_doctor(write, room):
    pharmacy_pharmacist = UserFactory(role=Role.PHARMACIST)
    PharmacyStaffFactory(user=pharmacy_pharmacist, pharmacy=PharmacyFactory())
    prescription = write(sign=True)
    for by in (pharmacy_pharmacist, room.doctor_user):
        with refused("not_a_review_pharmacist", "forbidden"):
            lifecycle.prescription_approve(by=by, prescription=prescription)


def test_reject_needs_a_reason(write, review_pharmacist):
    with refused("reason_required", "invalid"):
        lifecycle.prescription_reject(by=review_pharmacist, prescription=write(sign=True), reason="  ")


def test_approve_a_draft_is_a_409_naming_the_state(write, review_pharmacist):
    with refused("invalid_transition", "conflict") as expect:
        lifecycle.prescription_approve(by=review_pharmacist, prescription=write())
    assert "draft" in expect.error.message


def test_revise_makes_a_new_linked_draft_and_leaves_the_rejected_one_as_it_was(write, room, review_pharmacist, line):
    old = lifecycle.prescription_reject(by=review_pharmacist, prescription=write(sign=True), reason="请改用缬沙坦")
    before = (old.status, old.signature, old.content_hash, old.history.count())
    new = lifecycle.prescription_revise(by=room.doctor_user, prescription=old).prescription
    assert (new.status, new.version, new.previous_id) == (S.DRAFT, 2, old.pk)
    assert [i.drug.code for i in new.items.all()] == ["AMLO-T5"]
    old.refresh_from_db()
    assert (old.status, old.signature, old.content_hash, old.history.count()) == before
    lifecycle.prescription_update(by=room.doctor_user, prescription=new, items=[line("LOSA-T50", 50)])
    signed = lifecycle.prescription_sign(by=room.doctor_user, prescription=new).prescription
    assert signed.signed_content["prescription"]["previous"] == old.pk
    assert lifecycle.prescription_verify(Prescription.objects.get(pk=old.pk))[0] is True
    with refused("already_revised", "conflict"):
        lifecycle.prescription_revise(by=room.doctor_user, prescription=old)


def test_revise_only_from_rejected(write, room):
    with refused("invalid_transition", "conflict"):
        lifecycle.prescription_revise(by=room.doctor_user, prescription=write(sign=True))


def test_void_an_approved_prescription_with_a_reason(write, room, review_pharmacist):
    approved = lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True))
    with refused("reason_required", "invalid"):
        lifecycle.prescription_void(by=room.doctor_user, prescription=approved, reason="")
    voided = lifecycle.prescription_void(by=room.doctor_user, prescription=approved, reason="患者已住院")
    assert voided.status == S.VOIDED and voided.voided_reason == "患者已住院" and voided.voided_at


def test_void_a_draft_before_signing(write, room):
    voided = lifecycle.prescription_void(by=room.doctor_user, prescription=write(), reason="开错了")
    voided.refresh_from_db()
    assert voided.status == S.VOIDED and not voided.signature and voided.voided_reason == "开错了"


def test_void_while_in_review_is_a_409_naming_the_state(write, room):
    with refused("invalid_transition", "conflict") as expect:
        lifecycle.prescription_void(by=room.doctor_user, prescription=write(sign=True), reason="x")
    assert "signed" in expect.error.message


def test_void_refuses_anyone_but_the_author(write, review_pharmacist):
    with refused("not_the_prescriber", "forbidden"):
        lifecycle.prescription_void(by=review_pharmacist, prescription=write(), reason="x")


def test_dispense_only_an_approved_prescription(write, review_pharmacist):
    prescription = write(sign=True)
    with refused("invalid_transition", "conflict"):
        lifecycle.prescription_dispense(prescription=prescription, by=PharmacyStaffFactory().user)
    lifecycle.prescription_approve(by=review_pharmacist, prescription=prescription)
    dispensed = lifecycle.prescription_dispense(prescription=prescription, by=PharmacyStaffFactory().user, reason="dispensed by order 1")
    assert dispensed.status == S.DISPENSED and dispensed.dispensed_at


def test_dispense_refuses_past_validity_even_before_the_task_ran(write, review_pharmacist):
    prescription = lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True))
    Prescription.objects.filter(pk=prescription.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with refused("prescription_expired", "conflict"):
        lifecycle.prescription_dispense(prescription=prescription, by=PharmacyStaffFactory().user)


def test_expire_task_expires_only_what_is_due_and_is_idempotent(write, review_pharmacist):
    due_signed = write(sign=True)
    due_approved = lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True))
    fresh = write(sign=True)
    draft = write()
    dispensed = lifecycle.prescription_dispense(
        prescription=lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True)),
        by=PharmacyStaffFactory().user)
    past = timezone.now() - timedelta(seconds=1)
    Prescription.objects.filter(pk__in=[due_signed.pk, due_approved.pk, dispensed.pk]).update(expires_at=past)
    assert tasks.prescriptions_expire.delay().get() == 2
    assert tasks.prescriptions_expire.delay().get() == 0
    status = dict(Prescription.objects.values_list("pk", "status"))
    assert status[due_signed.pk] == status[due_approved.pk] == S.EXPIRED
    assert (status[fresh.pk], status[draft.pk], status[dispensed.pk]) == (S.SIGNED, S.DRAFT, S.DISPENSED)
    expired = Prescription.objects.get(pk=due_signed.pk)
    assert expired.history.first().history_user is None
    assert expired.history.first().history_change_reason.startswith("expired")


def test_expire_at_the_end_of_its_valid_day_by_the_clock(write):
    # 处方管理办法: valid on the day written (the rule changed from three days after signing).
    prescription = write(sign=True)
    assert lifecycle.prescription_expire(prescription=prescription, now=prescription.expires_at - timedelta(seconds=1)) is False
    assert lifecycle.prescription_expire(prescription=prescription, now=prescription.expires_at) is True
    assert lifecycle.prescription_expire(prescription=prescription, now=prescription.expires_at + timedelta(days=1)) is False
