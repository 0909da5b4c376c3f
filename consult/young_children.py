"""Children under ONLINE_CARE_GUARDIAN_AGE are seen online only with a guardian present
(互联网诊疗管理办法（试行） art. 19).

The one home of the rule: the proxy who books for a young child must be the child's parent
or legal guardian (ProxyLink.relationship says what the *patient* is to the proxy, so the
child must be the proxy's CHILD or WARD), asked by consult.booking.booking_create and again
at admission; and at admission the doctor confirms a guardian is present, recorded on the
consultation (who, when). consult.consultation.consultation_admit calls
`admission_guardian_confirm`.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from cloudhospital.identity import age_on
from consult.models import Consultation, Patient, ProxyLink, Relationship

# What the child must be to the proxy: their own child, or a child in their legal guardianship.
GUARDIAN_RELATIONSHIPS = (Relationship.CHILD, Relationship.WARD)


def is_young_child(patient: Patient, *, on: date | None = None) -> bool:
    """Under ONLINE_CARE_GUARDIAN_AGE on `on` (default today)."""
    return age_on(patient.birth_date, on or timezone.localdate()) < settings.ONLINE_CARE_GUARDIAN_AGE


def is_guardian(user, patient: Patient) -> bool:
    """`user` acts for `patient` as a parent or legal guardian."""
    return bool(getattr(user, "pk", None)) and ProxyLink.objects.filter(
        proxy_id=user.pk, patient_id=patient.pk, relationship__in=GUARDIAN_RELATIONSHIPS).exists()


def guardian_proxy_refusal(*, by, patient: Patient, on: date | None = None) -> DomainError | None:
    """Why `by` may not bring `patient` online, or None: for a young child, anyone but a
    parent or legal guardian acting for them (422 `guardian_required`, field `patient`)."""
    if not is_young_child(patient, on=on) or is_guardian(by, patient):
        return None
    return DomainError(
        _("互联网诊疗管理办法（试行） art. 19: a child under %(age)s is seen online only with a parent or legal "
          "guardian. Only a family member recorded as the child's parent or guardian may book.")
        % {"age": settings.ONLINE_CARE_GUARDIAN_AGE},
        code="guardian_required", field="patient", kind=Kind.UNPROCESSABLE)


def require_guardian_proxy(*, by, patient: Patient, on: date | None = None) -> None:
    """Raise guardian_proxy_refusal's refusal, if any (consult.booking.booking_create's one call)."""
    refusal = guardian_proxy_refusal(by=by, patient=patient, on=on)
    if refusal is not None:
        raise refusal


def admission_guardian_confirm(consultation: Consultation, *, by, now: datetime, guardian_present: bool) -> None:
    """At admission of a young child: the booking was made by a parent or legal guardian
    (422 `guardian_required`), and the doctor confirms one is present (422
    `guardian_not_confirmed`, field `guardian_present`). Records who confirmed and when on
    `consultation` (saved by the caller's transition). Older patients: nothing to do."""
    booking = consultation.booking
    patient = booking.patient
    if not is_young_child(patient, on=timezone.localdate(now)):
        return
    refusal = guardian_proxy_refusal(by=booking.booked_by, patient=patient, on=timezone.localdate(now))
    if refusal is not None:
        raise refusal
    if guardian_present is not True:
        raise DomainError(
            _("互联网诊疗管理办法（试行） art. 19: %(name)s is under %(age)s. Confirm a parent or legal guardian is "
              "present before admitting.") % {"name": patient.full_name, "age": settings.ONLINE_CARE_GUARDIAN_AGE},
            code="guardian_not_confirmed", field="guardian_present", kind=Kind.UNPROCESSABLE)
    consultation.guardian_confirmed_by = by
    consultation.guardian_confirmed_at = now
