"""The consultation's events for the regulator's feed (cloudhospital.regulator): the start
(the doctor admits the patient) and the end (completed online, or referred offline), with the
doctor's licence, the patient's real identity and the diagnosis codes
(互联网诊疗监管细则（试行）: the platform collects the doctors' qualifications and the EMR).

Called by consult.consultation inside the verb's transaction."""

from __future__ import annotations

from cloudhospital.regulator import regulator_report
from consult.models import Consultation, ConsultationOutcome, Patient


def patient_payload(patient: Patient) -> dict:
    """The patient as the platform identifies them: real name and resident ID number."""
    return {"id": patient.pk, "name": patient.full_name, "id_number": patient.id_number, "sex": patient.sex,
            "birth_date": patient.birth_date}


def doctor_payload(doctor) -> dict:
    return {"id": doctor.pk, "name": doctor.user.full_name, "licence_number": doctor.licence_number,
            "title": doctor.title, "hospital": doctor.hospital.name}


def consultation_payload(consultation: Consultation) -> dict:
    booking = consultation.booking
    slot = booking.slot
    return {
        "consultation_id": consultation.pk,
        "booking_id": booking.pk,
        "clinic": {"id": slot.clinic_id, "name": slot.clinic.name, "specialty": slot.clinic.specialty},
        "doctor": doctor_payload(slot.doctor),
        "patient": patient_payload(booking.patient),
        "admitted_at": consultation.admitted_at,
        "ended_at": consultation.ended_at,
        "outcome": consultation.outcome,
        "diagnosis": [{"code": entry.get("code"), "name": entry.get("name")} for entry in consultation.diagnosis or []],
        "referral_reason": consultation.referral_reason,
        "referral_department": consultation.referral_department,
    }


def consultation_started_report(consultation: Consultation) -> None:
    regulator_report("consultation.started", consultation_payload(consultation), occurred_at=consultation.admitted_at)


def consultation_closed_report(consultation: Consultation) -> None:
    """The end, by its outcome: ended (completed online) or referred offline."""
    kind = ("consultation.referred_offline" if consultation.outcome == ConsultationOutcome.REFERRED_OFFLINE
            else "consultation.ended")
    regulator_report(kind, consultation_payload(consultation), occurred_at=consultation.ended_at)
