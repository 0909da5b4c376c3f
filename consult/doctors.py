"""Who may practise online: one home for the rule.

- **Who may be booked online** (`doctor_online_refusal`, and `qualified_slots_q` /
  `qualified_doctors_q` for the listings): 互联网诊疗管理办法（试行）art. 25 — a practising
  licence and at least ONLINE_DOCTOR_MIN_PRACTICE_YEARS of independent clinical practice; and
  互联网诊疗监管细则（试行）(多点执业) — an active registration at the hospital whose clinic is
  booked (the doctor's own hospital counts only when registered too). Booking
  (consult.booking._check_slot_bookable) refuses; the directory and slot search leave such doctors
  out.

The doctor's identity before each consult (the second factor at admission) is
consult.doctor_identity.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from consult.models import Doctor, DoctorRegistration, Hospital


def practice_cutoff(today: date | None = None) -> date:
    """The latest start of independent practice that is ONLINE_DOCTOR_MIN_PRACTICE_YEARS ago."""
    today = today or timezone.localdate()
    years = settings.ONLINE_DOCTOR_MIN_PRACTICE_YEARS
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February, in a year without one
        return today.replace(year=today.year - years, day=28)


def is_registered_at(doctor: Doctor, hospital: Hospital | int) -> bool:
    hospital_id = getattr(hospital, "pk", hospital)
    return DoctorRegistration.objects.filter(doctor=doctor, hospital_id=hospital_id, active=True).exists()


def doctor_online_refusal(doctor: Doctor, hospital: Hospital | int) -> DomainError | None:
    """Why `doctor` may not be booked online at `hospital`, or None when they may."""
    name = doctor.user.full_name
    if not (doctor.licence_number or "").strip():
        # 互联网诊疗管理办法（试行）art. 25: a practising licence.
        return DomainError(
            _("互联网诊疗管理办法（试行）: %(doctor)s has no practising licence on record and cannot be booked "
              "online.") % {"doctor": name}, code="doctor_unlicensed", field="slot", kind=Kind.UNPROCESSABLE)
    since = doctor.independent_practice_since
    if since is None or since > practice_cutoff():
        # 互联网诊疗管理办法（试行）art. 25: at least three years of independent practice.
        return DomainError(
            _("互联网诊疗管理办法（试行）: a doctor practising online has at least %(years)s years of independent "
              "practice; %(doctor)s cannot be booked online yet.")
            % {"years": settings.ONLINE_DOCTOR_MIN_PRACTICE_YEARS, "doctor": name},
            code="doctor_practice_too_short", field="slot", kind=Kind.UNPROCESSABLE)
    if not is_registered_at(doctor, hospital):
        # 互联网诊疗监管细则（试行）: a doctor is registered at each internet hospital they work at (多点执业).
        return DomainError(
            _("互联网诊疗监管细则（试行）: %(doctor)s is not registered to practise at this hospital (多点执业) and "
              "cannot be booked here.") % {"doctor": name},
            code="doctor_not_registered", field="slot", kind=Kind.UNPROCESSABLE)
    return None


def _qualified(prefix: str) -> Q:
    return Q(**{f"{prefix}independent_practice_since__lte": practice_cutoff()}) & ~Q(**{f"{prefix}licence_number": ""})


def qualified_slots_q() -> Q:
    """Slots whose doctor may be booked online at the slot's clinic's hospital (a filter for
    Slot querysets; the same rule as doctor_online_refusal)."""
    registered = DoctorRegistration.objects.filter(
        doctor=OuterRef("doctor_id"), hospital=OuterRef("clinic__hospital_id"), active=True)
    return _qualified("doctor__") & Q(Exists(registered))


def qualified_doctors_q() -> Q:
    """Doctors who may practise online at one hospital of the group at least (the directory);
    their slots elsewhere are filtered by qualified_slots_q."""
    registered = DoctorRegistration.objects.filter(doctor=OuterRef("pk"), active=True)
    return _qualified("") & Q(Exists(registered))
