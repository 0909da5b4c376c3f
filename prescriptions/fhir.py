"""A prescription as a FHIR R4 Bundle of MedicationRequest resources (one per item).

Built as plain dicts and validated by `fhir.resources.R4B` (FHIR 4.3, whose
MedicationRequest is the R4 one) before it leaves, so a malformed resource is our bug
found here, not a pharmacy system's. Items of one prescription share `groupIdentifier`.

Status mapping (MedicationRequest.status):
    draft -> draft; signed (awaiting pharmacist review) -> on-hold, because it may not be
    acted on yet; approved -> active; dispensed -> completed; expired -> stopped;
    voided -> cancelled; rejected -> cancelled (a review decision, not a data-entry error,
    so not entered-in-error), with the pharmacist's reason as statusReason.
"""

from __future__ import annotations

import json
from decimal import Decimal

from fhir.resources.R4B.bundle import Bundle

from prescriptions.checks import FREQUENCIES
from prescriptions.models import Prescription, PrescriptionStatus

S = PrescriptionStatus
STATUS_MAP = {
    S.DRAFT: "draft",
    S.SIGNED: "on-hold",
    S.APPROVED: "active",
    S.DISPENSED: "completed",
    S.EXPIRED: "stopped",
    S.VOIDED: "cancelled",
    S.REJECTED: "cancelled",
}
SYSTEM_BASE = "urn:cloudhospital"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
ATC_SYSTEM = "http://www.whocc.no/atc"
ROUTES_SNOMED = {"oral": ("26643006", "Oral route"), "sublingual": ("37161004", "Sublingual route"),
                 "topical": ("6064005", "Topical route")}


def _number(value: Decimal) -> float | int:
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _plain(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def _instant(value) -> str | None:
    return value.isoformat() if value else None


def medication_request(prescription: Prescription, item) -> dict:
    drug = item.drug
    frequency = FREQUENCIES[item.frequency]
    codings = [{"system": f"{SYSTEM_BASE}:formulary", "code": drug.code, "display": drug.generic_name}]
    if drug.atc_code:
        codings.append({"system": ATC_SYSTEM, "code": drug.atc_code})
    route = ROUTES_SNOMED.get(item.route)
    dosage = {
        "sequence": 1,
        "text": f"{_plain(item.dose)} {item.dose_unit} {frequency.label}" + (f"; {item.instructions}" if item.instructions else ""),
        "asNeededBoolean": frequency.as_needed,
        "timing": {"code": {"text": frequency.code},
                   "repeat": {"frequency": frequency.times_per_day, "period": 1, "periodUnit": "d"}},
        "route": {"coding": [{"system": "http://snomed.info/sct", "code": route[0], "display": route[1]}]}
        if route else {"text": item.route},
        "doseAndRate": [{"doseQuantity": {"value": _number(item.dose), "unit": item.dose_unit}}],
    }
    if item.instructions:
        dosage["patientInstruction"] = item.instructions
    resource = {
        "resourceType": "MedicationRequest",
        "id": f"{prescription.pk}-{item.position}",
        "identifier": [{"system": f"{SYSTEM_BASE}:prescription-item", "value": f"{prescription.pk}-{item.position}"}],
        "groupIdentifier": {"system": f"{SYSTEM_BASE}:prescription", "value": str(prescription.pk)},
        "status": STATUS_MAP[prescription.status],
        "intent": "order",
        "medicationCodeableConcept": {"coding": codings, "text": f"{drug.generic_name_zh} {_plain(drug.strength)}{drug.strength_unit} {drug.form}"},
        "subject": {"reference": f"Patient/{prescription.patient_id}", "display": prescription.patient.full_name},
        "encounter": {"reference": f"Encounter/{prescription.consultation_id}"},
        "requester": {"reference": f"Practitioner/{prescription.doctor_id}", "display": prescription.doctor.full_name},
        "reasonCode": [
            {"coding": [{"system": ICD10_SYSTEM, "code": d["code"], "display": d.get("name") or d["code"]}]}
            for d in prescription.diagnosis
        ],
        "dosageInstruction": [dosage],
        "dispenseRequest": {
            "quantity": {"value": item.quantity, "unit": drug.form},
            "expectedSupplyDuration": {"value": item.days_supply, "unit": "days", "system": "http://unitsofmeasure.org",
                                       "code": "d"},
        },
    }
    if prescription.signed_at:
        resource["authoredOn"] = _instant(prescription.signed_at)
    if prescription.expires_at:
        resource["dispenseRequest"]["validityPeriod"] = {"start": _instant(prescription.signed_at),
                                                         "end": _instant(prescription.expires_at)}
    reason = {S.REJECTED: prescription.review_reason, S.VOIDED: prescription.voided_reason}.get(prescription.status)
    if reason:
        resource["statusReason"] = {"text": reason}
    if prescription.previous_id:
        resource["priorPrescription"] = {"reference": f"MedicationRequest/{prescription.previous_id}-{item.position}"}
    if prescription.long_term:
        resource["courseOfTherapyType"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
            "code": "continuous", "display": "Continuous long term therapy"}]}
    return resource


def prescription_bundle(prescription: Prescription) -> dict:
    """The prescription as a validated FHIR R4 `collection` Bundle of MedicationRequests."""
    entries = [
        {"fullUrl": f"{SYSTEM_BASE}:MedicationRequest/{prescription.pk}-{item.position}",
         "resource": medication_request(prescription, item)}
        for item in sorted(prescription.items.all(), key=lambda i: i.position)
    ]
    bundle = {
        "resourceType": "Bundle",
        "id": f"prescription-{prescription.pk}",
        "identifier": {"system": f"{SYSTEM_BASE}:prescription", "value": str(prescription.pk)},
        "type": "collection",
        "timestamp": _instant(prescription.updated_at),
        "entry": entries,
    }
    if prescription.signature:
        bundle["signature"] = {
            "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1",
                      "display": "Author's Signature"}],
            "when": _instant(prescription.signed_at),
            "who": {"reference": f"Practitioner/{prescription.doctor_id}", "display": prescription.doctor.full_name},
            "sigFormat": "application/octet-stream",
            "targetFormat": "application/json",
            "data": prescription.signature,
        }
    return json.loads(Bundle.parse_obj(bundle).json())
