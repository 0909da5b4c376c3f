"""Read queries: the review queue, the prescriptions for display, and the signed content.
Who may see which prescription is prescriptions.permissions."""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from consult.selectors import log_patient_data_read
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionStatus


def prescription_for(viewer, prescription_id, *, purpose: str, queryset: QuerySet[Prescription]) -> Prescription:
    """A prescription from `queryset` (what `viewer` may see: prescriptions.permissions), its
    read logged for anyone but the patient's family: the prescribing doctor, the review
    pharmacist. Anyone else's id: not found."""
    prescription = queryset.filter(pk=prescription_id).first() if str(prescription_id).isdigit() else None
    if prescription is None:
        raise DomainError(_("No prescription with this id among those you may see."), code="not_found",
                          kind=Kind.NOT_FOUND)
    grounds = (f"review of prescription {prescription.pk}" if prescription.doctor_id != getattr(viewer, "pk", None)
               else f"prescription {prescription.pk} ({prescription.status}) they wrote")
    log_patient_data_read(viewer, prescription.patient_id, action=purpose, grounds=grounds)
    return prescription


def review_queue() -> QuerySet[Prescription]:
    """Signed prescriptions awaiting review, oldest signature first."""
    return Prescription.objects.filter(status=PrescriptionStatus.SIGNED).order_by("signed_at", "id")


def prescriptions_for_display(queryset: QuerySet[Prescription]) -> QuerySet[Prescription]:
    """Everything the list and detail render, in a fixed number of queries (the consultation
    and the revision too: `allowed_actions` reads them)."""
    return queryset.select_related(
        "patient", "doctor", "reviewed_by", "patient_confirmed_by", "revision", "doctor__doctor_profile__hospital", "consultation"
    ).prefetch_related(Prefetch("items", queryset=PrescriptionItem.objects.select_related("drug").order_by("position")))


def signed_content(prescription: Prescription) -> dict:
    """The prescription's content as it is now, in the shape that is signed: patient, doctor,
    diagnosis, long-term flag, items and issue time. Built from the rows on every call, so a
    row changed after signing gives different content."""
    patient = prescription.patient
    doctor = prescription.doctor
    profile = getattr(doctor, "doctor_profile", None)
    items = sorted(prescription.items.all(), key=lambda item: item.position)
    return {
        "prescription": {"id": prescription.pk, "version": prescription.version,
                         "previous": prescription.previous_id, "long_term": prescription.long_term},
        "patient": {"id": patient.pk, "name": patient.full_name, "sex": patient.sex,
                    "birth_date": patient.birth_date},
        "doctor": {"id": doctor.pk, "name": doctor.full_name,
                   "licence_number": profile.licence_number if profile else "",
                   "hospital": profile.hospital.name if profile else ""},
        "diagnosis": [{"code": d["code"], "name": d.get("name", "")} for d in prescription.diagnosis],
        "items": [
            {"position": item.position, "drug": item.drug.code, "drug_name": item.drug.generic_name_zh,
             "strength": item.drug.strength, "strength_unit": item.drug.strength_unit, "dose": item.dose,
             "dose_unit": item.dose_unit, "frequency": item.frequency, "route": item.route,
             "days_supply": item.days_supply, "quantity": item.quantity, "instructions": item.instructions}
            for item in items
        ],
        "issued_at": prescription.issued_at,
    }
