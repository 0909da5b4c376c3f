"""Who may see and do what with e-prescriptions. See cloudhospital.permissions.

Review pharmacists (审方药师) are the internet hospital's own: users with the `pharmacist`
role and NO pharmacy membership. A pharmacy's pharmacists dispense; they must not also
approve the prescriptions they will be paid to fill, so a membership takes the review
right away.
"""

from __future__ import annotations

import rules
from django.db.models import Q, QuerySet

from cloudhospital.models import Role, User
from cloudhospital.permissions import is_doctor, is_signed_in, is_superuser, is_system, memoized
from consult.permissions import is_booking_doctor, is_hospital_admin_for, patients_managed_by
from prescriptions.models import Prescription, PrescriptionStatus


@rules.predicate
def is_review_pharmacist(user) -> bool:
    """An active `pharmacist` user with no pharmacy membership (see the module docstring)."""
    if not isinstance(user, User) or not is_signed_in(user) or user.role != Role.PHARMACIST:
        return False
    return not _has_pharmacy_membership(user)


def _has_pharmacy_membership(user: User) -> bool:
    return memoized(("pharmacy_member", user.pk),
                    lambda: User.objects.filter(pk=user.pk, pharmacy_membership__isnull=False).exists())


def review_pharmacists() -> QuerySet[User]:
    return User.objects.filter(role=Role.PHARMACIST, is_active=True, pharmacy_membership__isnull=True)


@rules.predicate
def is_dispenser(actor) -> bool:
    """Someone acting for a pharmacy: a pharmacy system's API token, or a logged-in member
    of a pharmacy's staff. Which pharmacy, and whether the order is with it, is the
    pharmacy app's check (pharmacy.permissions)."""
    if getattr(actor, "token", None) is not None and getattr(actor, "pharmacy", None) is not None:
        return True
    return bool(isinstance(actor, User) and is_signed_in(actor) and _has_pharmacy_membership(actor))


@rules.predicate
def may_prescribe_in(user, consultation) -> bool:
    """Only the consultation's doctor prescribes for it."""
    return bool(consultation is not None and is_doctor(user) and is_booking_doctor(user, consultation.booking))


@rules.predicate
def is_prescriber(user, prescription) -> bool:
    return bool(prescription is not None and is_signed_in(user) and user.pk == prescription.doctor_id)


def prescriptions_visible_to(user) -> QuerySet[Prescription]:
    """Prescriptions `user` may read: the patient's and their proxies' from signing onwards
    (never drafts), every one a doctor wrote, and for a review pharmacist the ones awaiting
    review and those they reviewed. Anyone else sees none (a foreign id is a 404)."""
    if not isinstance(user, User) or not is_signed_in(user):
        return Prescription.objects.none()
    rule = Q(patient__in=patients_managed_by(user).values("pk")) & ~Q(status=PrescriptionStatus.DRAFT)
    if user.role == Role.DOCTOR:
        rule |= Q(doctor=user)
    if is_review_pharmacist(user):
        rule |= Q(status=PrescriptionStatus.SIGNED) | Q(reviewed_by=user)
    return Prescription.objects.filter(rule)


@rules.predicate
def acts_for_prescription_patient(user, prescription) -> bool:
    """The patient's own login or a proxy acting for them (confirming a long-term prescription)."""
    if prescription is None or not isinstance(user, User) or not is_signed_in(user):
        return False
    return patients_managed_by(user).filter(pk=prescription.patient_id).exists()


@rules.predicate
def manages_signing_keys_of(user, doctor) -> bool:
    """The doctor themselves, an admin of their hospital, or a superuser (key rotation, revocation)."""
    if doctor is None or not is_signed_in(user):
        return False
    if user.pk == doctor.pk or is_superuser(user):
        return True
    profile = getattr(doctor, "doctor_profile", None)
    return profile is not None and is_hospital_admin_for(user, profile)


rules.add_perm("prescriptions.manage_signing_keys", manages_signing_keys_of)  # obj: the doctor (a User)
rules.add_perm("prescriptions.prescribe", may_prescribe_in)  # obj: the consultation
rules.add_perm("prescriptions.author", is_prescriber)  # edit, sign, revise, void
rules.add_perm("prescriptions.run_checks", is_prescriber | is_review_pharmacist)
rules.add_perm("prescriptions.review", is_review_pharmacist)
rules.add_perm("prescriptions.dispense", is_dispenser)
rules.add_perm("prescriptions.expire", is_system)
rules.add_perm("prescriptions.confirm", acts_for_prescription_patient)  # 长期处方 beyond 4 weeks
