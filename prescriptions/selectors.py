"""Read queries: who may see which prescription, the review queue, and the signed content.

Review pharmacists (审方药师) are the internet hospital's own: users with the `pharmacist`
role and NO pharmacy membership (pharmacy.PharmacyStaff). A pharmacy's pharmacists dispense;
they must not also approve the prescriptions they will be paid to fill, so a membership
takes the review right away.
"""

from django.db.models import Prefetch, Q, QuerySet

from cloudhospital.models import Role, User
from consult.selectors import patients_managed_by
from prescriptions.models import Prescription, PrescriptionItem, PrescriptionStatus


def is_review_pharmacist(user) -> bool:
    """An active `pharmacist` user with no pharmacy membership (see the module docstring)."""
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return False
    if user.role != Role.PHARMACIST or not user.is_active:
        return False
    return not User.objects.filter(pk=user.pk, pharmacy_membership__isnull=False).exists()


def review_pharmacists() -> QuerySet[User]:
    return User.objects.filter(role=Role.PHARMACIST, is_active=True, pharmacy_membership__isnull=True)


def prescriptions_visible_to(user) -> QuerySet[Prescription]:
    """Prescriptions `user` may read: the patient's and their proxies' from signing onwards
    (never drafts), every one a doctor wrote, and for a review pharmacist the ones awaiting
    review and those they reviewed. Anyone else sees none (a foreign id is a 404)."""
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return Prescription.objects.none()
    rule = Q(patient__in=patients_managed_by(user).values("pk")) & ~Q(status=PrescriptionStatus.DRAFT)
    if user.role == Role.DOCTOR:
        rule |= Q(doctor=user)
    if is_review_pharmacist(user):
        rule |= Q(status=PrescriptionStatus.SIGNED) | Q(reviewed_by=user)
    return Prescription.objects.filter(rule)


def review_queue() -> QuerySet[Prescription]:
    """Signed prescriptions awaiting review, oldest signature first."""
    return Prescription.objects.filter(status=PrescriptionStatus.SIGNED).order_by("signed_at", "id")


def prescriptions_for_display(queryset: QuerySet[Prescription]) -> QuerySet[Prescription]:
    """Everything the list and detail render, in a fixed number of queries."""
    return queryset.select_related(
        "patient", "doctor", "reviewed_by", "revision", "doctor__doctor_profile__hospital"
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
