"""The patient side of a FHIR R4 episode: Patient, RelatedPerson, Condition,
AllergyIntolerance, Observation, Practitioner, Appointment and Encounter, as plain dicts.

References are relative (`Patient/12`); cloudhospital.fhir_bundle turns each into the
urn:uuid it gives that resource's entry, so they resolve inside the bundle. The resident ID number is never exported: like every response of
this API, FHIR shows no full ID number; the patient is identified by the hospital's own id.
"""

from consult.models import (
    AllergyCategory,
    Booking,
    BookingStatus,
    Condition,
    Consultation,
    ConsultationStatus,
    Observation,
    ObservationKind,
    Patient,
    ProxyLink,
    Relationship,
)
from cloudhospital.identity import mask_mobile

SYSTEM_BASE = "urn:cloudhospital"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# What the proxy is to the patient (v3 RoleCode), from what the patient is to the proxy.
PROXY_ROLE = {
    Relationship.PARENT: ("CHILD", "child"),
    Relationship.CHILD: ("PRN", "parent"),
    Relationship.SPOUSE: ("SPS", "spouse"),
    Relationship.OTHER: ("FAMMEMB", "family member"),
}
APPOINTMENT_STATUS = {
    BookingStatus.BOOKED: "booked",
    BookingStatus.CHECKED_IN: "checked-in",
    BookingStatus.IN_CONSULT: "arrived",
    BookingStatus.COMPLETED: "fulfilled",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.NO_SHOW: "noshow",
}
ENCOUNTER_STATUS = {
    ConsultationStatus.WAITING: "arrived",
    ConsultationStatus.IN_PROGRESS: "in-progress",
    ConsultationStatus.ENDED: "finished",
}
# LOINC codes: blood pressure panel with its systolic and diastolic components, heart rate,
# eGFR (CKD-EPI, creatinine-based) and serum creatinine in umol/L.
BP_PANEL, SYSTOLIC, DIASTOLIC, HEART_RATE = "85354-9", "8480-6", "8462-4", "8867-4"
LAB_CODES = {
    ObservationKind.EGFR: ("62238-1", "Glomerular filtration rate/1.73 sq M.predicted (CKD-EPI)", "mL/min/{1.73_m2}"),
    ObservationKind.CREATININE: ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L"),
}


def _ref(kind: str, pk, display: str | None = None) -> dict:
    ref = {"reference": f"{kind}/{pk}"}
    if display:
        ref["display"] = display
    return ref


def _identifier(kind: str, pk) -> list[dict]:
    return [{"system": f"{SYSTEM_BASE}:{kind}", "value": str(pk)}]


def patient_resource(patient: Patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "identifier": _identifier("patient", patient.pk),
        "name": [{"text": patient.full_name}],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }
    if patient.phone:
        resource["telecom"] = [{"system": "phone", "value": patient.phone, "use": "mobile"}]
    if patient.address:
        resource["address"] = [{"text": patient.address}]
    return resource


def related_person_resource(link: ProxyLink) -> dict:
    code, display = PROXY_ROLE[link.relationship]
    return {
        "resourceType": "RelatedPerson",
        "id": str(link.pk),
        "patient": _ref("Patient", link.patient_id),
        "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code, "display": display}]}],
        "name": [{"text": link.proxy.full_name}],
        "telecom": [{"system": "phone", "value": mask_mobile(link.proxy.phone)}],
    }


def condition_resource(condition: Condition) -> dict:
    resource = {
        "resourceType": "Condition",
        "id": str(condition.pk),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": condition.status}]},
        "code": {"coding": [{"system": ICD10, "code": condition.icd10_code, "display": condition.name}], "text": condition.name},
        "subject": _ref("Patient", condition.patient_id),
        "recordedDate": condition.recorded_at.isoformat(),
    }
    if condition.onset_date:
        resource["onsetDateTime"] = condition.onset_date.isoformat()
    return resource


def allergy_resource(allergy) -> dict:
    category = {AllergyCategory.DRUG: "medication", AllergyCategory.DRUG_CLASS: "medication", AllergyCategory.FOOD: "food"}
    resource = {
        "resourceType": "AllergyIntolerance",
        "id": str(allergy.pk),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "code": {"text": allergy.substance},
        "patient": _ref("Patient", allergy.patient_id),
        "recordedDate": allergy.recorded_at.isoformat(),
    }
    if allergy.category in category:
        resource["category"] = [category[allergy.category]]
    if allergy.reaction:
        resource["reaction"] = [{"manifestation": [{"text": allergy.reaction}], "severity": allergy.severity}]
    return resource


def _quantity(value, unit: str) -> dict:
    return {"value": float(value), "unit": unit, "system": UCUM, "code": unit}


def observation_resources(observation: Observation) -> list[dict]:
    """A blood-pressure reading is a BP panel (and a heart rate when the pulse was taken);
    a lab value is one laboratory Observation."""
    base = {
        "resourceType": "Observation",
        "status": "entered-in-error" if observation.entered_in_error_at else "final",
        "subject": _ref("Patient", observation.patient_id),
        "effectiveDateTime": observation.measured_at.isoformat(),
    }
    if observation.kind == ObservationKind.BLOOD_PRESSURE:
        vital = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs"}]}]
        panel = {
            **base,
            "id": f"bp-{observation.pk}",
            "category": vital,
            "code": {"coding": [{"system": LOINC, "code": BP_PANEL, "display": "Blood pressure panel with all children optional"}]},
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": SYSTOLIC, "display": "Systolic blood pressure"}]},
                 "valueQuantity": _quantity(observation.systolic, "mm[Hg]")},
                {"code": {"coding": [{"system": LOINC, "code": DIASTOLIC, "display": "Diastolic blood pressure"}]},
                 "valueQuantity": _quantity(observation.diastolic, "mm[Hg]")},
            ],
        }
        resources = [panel]
        if observation.pulse:
            resources.append({
                **base,
                "id": f"hr-{observation.pk}",
                "category": vital,
                "code": {"coding": [{"system": LOINC, "code": HEART_RATE, "display": "Heart rate"}]},
                "valueQuantity": _quantity(observation.pulse, "/min"),
            })
        return resources
    code, display, unit = LAB_CODES[observation.kind]
    return [{
        **base,
        "id": f"lab-{observation.pk}",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "valueQuantity": _quantity(observation.value, unit),
    }]


def practitioner_resource(doctor) -> dict:
    """A doctor, identified by their login's id (as prescriptions name their requester)."""
    return {
        "resourceType": "Practitioner",
        "id": str(doctor.user_id),
        "identifier": [{"system": f"{SYSTEM_BASE}:practising-licence", "value": doctor.licence_number}],
        "name": [{"text": doctor.user.full_name}],
        "qualification": [{"code": {"text": doctor.get_title_display()}}],
    }


def appointment_resource(booking: Booking) -> dict:
    slot = booking.slot
    resource = {
        "resourceType": "Appointment",
        "id": str(booking.pk),
        "status": APPOINTMENT_STATUS[booking.status],
        "serviceType": [{"text": slot.clinic.name}],
        "description": booking.reason,
        "start": slot.starts_at.isoformat(),
        "end": slot.ends_at.isoformat(),
        "participant": [
            {"actor": _ref("Patient", booking.patient_id, booking.patient.full_name), "status": "accepted"},
            {"actor": _ref("Practitioner", slot.doctor.user_id, slot.doctor.user.full_name), "status": "accepted"},
        ],
    }
    if booking.cancel_reason and booking.status == BookingStatus.CANCELLED:
        resource["cancelationReason"] = {"text": booking.cancel_reason}
    return resource


def encounter_resource(consultation: Consultation) -> dict:
    booking = consultation.booking
    resource = {
        "resourceType": "Encounter",
        "id": str(consultation.pk),
        "status": ENCOUNTER_STATUS[consultation.status],
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR", "display": "virtual"},
        "subject": _ref("Patient", booking.patient_id),
        "participant": [{"individual": _ref("Practitioner", booking.slot.doctor.user_id)}],
        "appointment": [_ref("Appointment", booking.pk)],
    }
    if consultation.started_at:
        resource["period"] = {"start": consultation.started_at.isoformat()}
        if consultation.ended_at:
            resource["period"]["end"] = consultation.ended_at.isoformat()
    if consultation.status == ConsultationStatus.ENDED and consultation.diagnosis:
        resource["reasonCode"] = [
            {"coding": [{"system": ICD10, "code": d["code"], "display": d.get("name") or d["code"]}]} for d in consultation.diagnosis
        ]
    return resource


# --- Consent: the consent under which a proxy acts (consult.consent) ------------------------
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_POLICY = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PROXY_SCOPE_SYSTEM = f"{SYSTEM_BASE}/proxy-scope"


def proxy_consent_resource(consent, *, at=None) -> dict:
    """A FHIR Consent for a ProxyConsent: the patient (or their guardian, `performer`)
    permits the proxy (`provision.actor`, a RelatedPerson with their role) the actions of
    `provision.action` for `provision.period`. Revoked or expired: status inactive."""
    link = consent.link
    code, display = PROXY_ROLE.get(link.relationship, ("FAMMEMB", "family member"))
    if consent.grantor_role == "patient":
        performer = _ref("Patient", link.patient_id, consent.granted_by.full_name)
    elif consent.granted_by_id == link.proxy_id:
        performer = _ref("RelatedPerson", link.pk, consent.granted_by.full_name)
    else:
        guardian = ProxyLink.objects.filter(patient_id=link.patient_id, proxy_id=consent.granted_by_id).first()
        performer = (_ref("RelatedPerson", guardian.pk, consent.granted_by.full_name) if guardian
                     else {"display": consent.granted_by.full_name})
    period = {"start": consent.starts_at.isoformat()}
    end = consent.revoked_at if consent.revoked_at and (consent.ends_at is None or consent.revoked_at < consent.ends_at) else consent.ends_at
    if end is not None:
        period["end"] = end.isoformat()
    return {
        "resourceType": "Consent",
        "id": str(consent.pk),
        "status": "active" if consent.in_force(at) else "inactive",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": _ref("Patient", link.patient_id),
        "dateTime": consent.granted_at.isoformat(),
        "performer": [performer],
        "policyRule": {"coding": [{"system": CONSENT_POLICY, "code": "OPTIN"}]},
        "provision": {
            "type": "permit",
            "period": period,
            "actor": [{
                "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code,
                                     "display": display}]},
                "reference": _ref("RelatedPerson", link.pk, link.proxy.full_name),
            }],
            "action": [{"coding": [{"system": PROXY_SCOPE_SYSTEM, "code": scope}]} for scope in consent.scope],
        },
    }
