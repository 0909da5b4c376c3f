"""A prescription as a FHIR R4 Bundle of MedicationRequest resources (one per item).

Built as plain dicts and validated by `fhir.resources.R4B` (FHIR 4.3, whose
MedicationRequest is the R4 one) before it leaves, so a malformed resource is our bug
found here, not a pharmacy system's. Items of one prescription share `groupIdentifier`.

Status mapping (MedicationRequest.status):
    draft -> draft; signed (awaiting pharmacist review) -> on-hold, because it may not be
    acted on yet; approved -> active; dispensed -> completed; expired -> stopped;
    voided -> cancelled; rejected -> cancelled (a review decision, not a data-entry error,
    so not entered-in-error), with the pharmacist's reason as statusReason.

Doses are UCUM quantities (UCUM_DOSE_UNITS), the unit as written kept as `unit`. Allergies
are coded here too (allergy_intolerances), since only this app knows the formulary: with
the drugs an allergy names, else the classes it names, by the safety checks' own rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from cloudhospital.fhir_bundle import collection_bundle
from consult import fhir as consult_fhir
from prescriptions import checks
from prescriptions.checks import FREQUENCIES
from prescriptions.models import Drug, Prescription, PrescriptionStatus

S = PrescriptionStatus
STATUS_MAP = {
    S.DRAFT: "draft",
    S.CONFIRMING: "on-hold",  # waits for the patient's confirmation (长期处方), then for review
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
FORMULARY_SYSTEM = f"{SYSTEM_BASE}:formulary"  # a Drug's code, as MedicationRequest codes it
DRUG_CLASS_SYSTEM = f"{SYSTEM_BASE}:drug-class"  # checks.ALLERGY_GROUP_TERMS' keys: "nsaid", "arb" ...
UCUM = "http://unitsofmeasure.org"
# Every dose unit the checks accept (checks.MASS_IN_MG, checks.DOSAGE_UNITS, the formulary's
# strength units), lower-cased, in UCUM; a count of tablets or capsules is a UCUM annotation.
UCUM_DOSE_UNITS = {
    "mg": "mg", "g": "g", "ug": "ug", "mcg": "ug", "µg": "ug", "μg": "ug",
    "ml": "mL", "l": "L", "iu": "[iU]", "u": "[U]", "mmol": "mmol",
    "tablet": "{tbl}", "片": "{tbl}", "capsule": "{capsule}", "粒": "{capsule}",
}
ROUTES_SNOMED = {"oral": ("26643006", "Oral route"), "sublingual": ("37161004", "Sublingual route"),
                 "topical": ("6064005", "Topical route")}


def _number(value: Decimal) -> float | int:
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _plain(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def _instant(value) -> str | None:
    return value.isoformat() if value else None


def dose_quantity(dose: Decimal, unit: str) -> dict:
    """A dose as a UCUM Quantity: {"value": 5, "unit": "mg", "system": UCUM, "code": "mg"}; a
    unit UCUM_DOSE_UNITS does not know stays uncoded (value and unit only)."""
    quantity = {"value": _number(dose), "unit": unit}
    code = UCUM_DOSE_UNITS.get(unit.strip().lower())
    if code:
        quantity.update(system=UCUM, code=code)
    return quantity


def medication_request(prescription: Prescription, item) -> dict:
    drug = item.drug
    frequency = FREQUENCIES[item.frequency]
    codings = [{"system": FORMULARY_SYSTEM, "code": drug.code, "display": drug.generic_name}]
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
        "doseAndRate": [{"doseQuantity": dose_quantity(item.dose, item.dose_unit)}],
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
    """The prescription as a validated FHIR R4 `collection` Bundle of MedicationRequests.
    The patient, encounter and prescriber are not in it; their references carry the urns
    those resources have in the patient's episode bundle, and a display."""
    resources = [medication_request(prescription, item)
                 for item in sorted(prescription.items.all(), key=lambda i: i.position)]
    fields = {"identifier": {"system": f"{SYSTEM_BASE}:prescription", "value": str(prescription.pk)}}
    if prescription.signature:
        fields["signature"] = {
            "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1",
                      "display": "Author's Signature"}],
            "when": _instant(prescription.signed_at),
            "who": {"reference": f"Practitioner/{prescription.doctor_id}", "display": prescription.doctor.full_name},
            "sigFormat": "application/octet-stream",
            "targetFormat": "application/json",
            "data": prescription.signature,
        }
    if prescription.signature:
        resources.append(signatures_provenance(prescription, resources))
    return collection_bundle(resources, bundle_id=f"prescription-{prescription.pk}",
                             timestamp=_instant(prescription.updated_at), **fields)


SIGNATURE_TYPES = "urn:iso-astm:E1762-95:2013"
PARTICIPANT_TYPES = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def signatures_provenance(prescription: Prescription, requests: list[dict]) -> dict:
    """One Provenance over the prescription's MedicationRequests carrying both signatures: the
    doctor's (author, Ed25519 over the signed content) and, once reviewed, the review
    pharmacist's (verifier, Ed25519 over the review decision: prescriptions.rules.review_content).
    Each agent's `who.identifier` is the signing key id (system urn:cloudhospital:signing-key),
    so a verifier fetches the public key from /api/signing-keys/<key_id>/."""
    targets = [{"reference": f"MedicationRequest/{r['id']}"} for r in requests]
    doctor = {"reference": f"Practitioner/{prescription.doctor_id}", "display": prescription.doctor.full_name}
    agents = [{"type": {"coding": [{"system": PARTICIPANT_TYPES, "code": "author", "display": "Author"}]},
               "who": {**doctor, "identifier": {"system": f"{SYSTEM_BASE}:signing-key", "value": prescription.key_id}}}]
    signatures = [{
        "type": [{"system": SIGNATURE_TYPES, "code": "1.2.840.10065.1.12.1.1", "display": "Author's Signature"}],
        "when": _instant(prescription.signed_at), "who": doctor,
        "sigFormat": "application/octet-stream", "targetFormat": "application/json", "data": prescription.signature,
    }]
    if prescription.review_signature and prescription.reviewed_by_id:
        pharmacist = {"reference": f"Practitioner/{prescription.reviewed_by_id}",
                      "display": prescription.reviewed_by.full_name}
        agents.append({"type": {"coding": [{"system": PARTICIPANT_TYPES, "code": "verifier", "display": "Verifier"}]},
                       "who": {**pharmacist, "identifier": {"system": f"{SYSTEM_BASE}:signing-key",
                                                            "value": prescription.review_key_id}}})
        signatures.append({
            "type": [{"system": SIGNATURE_TYPES, "code": "1.2.840.10065.1.12.1.5", "display": "Verification Signature"}],
            "when": _instant(prescription.reviewed_at), "who": pharmacist,
            "sigFormat": "application/octet-stream", "targetFormat": "application/json",
            "data": prescription.review_signature,
        })
    return {
        "resourceType": "Provenance", "id": f"prescription-{prescription.pk}-signatures", "target": targets,
        "recorded": _instant(prescription.reviewed_at or prescription.signed_at), "agent": agents,
        "signature": signatures,
    }


def allergy_codings(substance: str, category: str, drugs: Iterable[Drug]) -> list[dict]:
    """Codings for an allergy's substance: the formulary drugs it names (with their ATC
    substance codes), else the drug classes it names, else none (it stays free text). The
    rule is the safety checks' (checks.allergy_names_drug / allergy_groups_named), so what is
    coded here is what blocks a prescription; a food allergy is never coded as a drug."""
    if not checks.allergy_concerns_medicines(category):
        return []
    named = sorted((drug for drug in drugs if checks.allergy_names_drug(substance, drug)), key=lambda drug: drug.code)
    if named:
        codings = [{"system": FORMULARY_SYSTEM, "code": drug.code, "display": drug.generic_name} for drug in named]
        return codings + [{"system": ATC_SYSTEM, "code": atc} for atc in sorted({d.atc_code for d in named if d.atc_code})]
    return [{"system": DRUG_CLASS_SYSTEM, "code": group, "display": str(checks.allergy_group_label(group))}
            for group in checks.allergy_groups_named(substance)]


def allergy_intolerances(allergies: Iterable) -> list[dict]:
    """AllergyIntolerance resources (consult.fhir) with `code.coding` where the substance is
    a formulary drug or class; `code.text` keeps what was written. One query for the formulary."""
    allergies = list(allergies)
    drugs = list(Drug.objects.all()) if allergies else []
    resources = []
    for allergy in allergies:
        resource = consult_fhir.allergy_resource(allergy)
        codings = allergy_codings(allergy.substance, allergy.category, drugs)
        if codings:
            resource["code"] = {"coding": codings, "text": allergy.substance}
        resources.append(resource)
    return resources
