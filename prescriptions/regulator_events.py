"""The prescription's events for the regulator's feed (cloudhospital.regulator): signed,
reviewed (approved or rejected) and voided, with the prescribing doctor's licence, the
reviewing pharmacist, the diagnosis and every item with its drug's legal class
(互联网诊疗监管细则（试行）: the platform collects e-prescriptions and drug use).

Called by prescriptions.lifecycle inside the verb's transaction. A draft voided before it
was signed never reached review, so it is not reported."""

from __future__ import annotations

from cloudhospital.regulator import regulator_report
from consult.models import Doctor
from consult.regulator_events import patient_payload
from prescriptions.models import Prescription


def _doctor(user) -> dict:
    profile = Doctor.objects.filter(user=user).select_related("hospital").first()
    return {"id": user.pk, "name": user.full_name, "licence_number": profile.licence_number if profile else ""}


def prescription_payload(prescription: Prescription) -> dict:
    reviewer = prescription.reviewed_by
    return {
        "prescription_id": prescription.pk,
        "version": prescription.version,
        "previous_id": prescription.previous_id,
        "consultation_id": prescription.consultation_id,
        "status": prescription.status,
        "doctor": _doctor(prescription.doctor),
        "patient": patient_payload(prescription.patient),
        "diagnosis": [{"code": entry.get("code"), "name": entry.get("name")} for entry in prescription.diagnosis or []],
        "long_term": prescription.long_term,
        "items": [
            {"position": item.position, "drug_code": item.drug.code, "drug_name": item.drug.generic_name_zh,
             "legal_class": item.drug.legal_class, "dose": item.dose, "dose_unit": item.dose_unit,
             "frequency": item.frequency, "route": item.route, "days_supply": item.days_supply,
             "quantity": item.quantity}
            for item in prescription.items.select_related("drug").order_by("position")
        ],
        "signed_at": prescription.signed_at,
        "key_id": prescription.key_id,
        "content_hash": prescription.content_hash,
        "expires_at": prescription.expires_at,
        "reviewed_by": {"id": reviewer.pk, "name": reviewer.full_name} if reviewer else None,
        "reviewed_at": prescription.reviewed_at,
        "review_reason": prescription.review_reason,
        "voided_at": prescription.voided_at,
        "voided_reason": prescription.voided_reason,
    }


def prescription_report(prescription: Prescription, kind: str) -> None:
    """Report `kind` (signed, approved, rejected, voided) for `prescription`; a void of a
    never-signed draft is left out."""
    if kind == "voided" and prescription.signed_at is None:
        return
    occurred_at = {"signed": prescription.signed_at, "voided": prescription.voided_at}.get(kind, prescription.reviewed_at)
    regulator_report(f"prescription.{kind}", prescription_payload(prescription), occurred_at=occurred_at)
