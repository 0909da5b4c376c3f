"""Who may see and do what in consult: patients and their records, bookings, schedules and
consultation rooms. The predicates, the named permissions built from them, and the
per-role querysets ("objects this user may see") that views start from, so a foreign id is
simply not found. See cloudhospital.permissions for how the policy is asked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import rules
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cloudhospital.models import Role
from cloudhospital.permissions import in_policy_memo, is_doctor, is_signed_in, is_superuser, is_system, memoized
from consult.models import (
    Booking,
    BookingStatus,
    Consultation,
    Doctor,
    Patient,
    ProxyConsent,
    ProxyConsentStatus,
    ProxyLink,
    ProxyScope,
)

# --- Querysets: the objects a user may see -------------------------------------------------


def proxy_consents_in_force(*, at: datetime | None = None) -> QuerySet[ProxyConsent]:
    """Proxy consents active at `at` (default now): not revoked, started, not yet ended
    (互联网诊疗监管细则（试行）: a proxy acts only under the patient's recorded consent)."""
    now = at or timezone.now()
    return ProxyConsent.objects.filter(status=ProxyConsentStatus.ACTIVE, starts_at__lte=now).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def proxy_links_in_force(*, at: datetime | None = None) -> QuerySet[ProxyLink]:
    """Proxy links through which the proxy may act now: those with a consent in force. A
    revoked or expired consent leaves the link (its history) but gives the proxy nothing."""
    return ProxyLink.objects.filter(Exists(proxy_consents_in_force(at=at).filter(link=OuterRef("pk"))))


def patients_managed_by(user) -> QuerySet[Patient]:
    """The user's own patient profile and every dependant they act for under a consent in force."""
    if not is_signed_in(user):
        return Patient.objects.none()
    return Patient.objects.filter(
        Q(account=user) | Q(pk__in=proxy_links_in_force().filter(proxy=user).values("patient_id")))


def doctor_access_bookings(user, *, at: datetime | None = None) -> QuerySet[Booking]:
    """Bookings through which `user`, as their doctor, may read the patient's record at `at`
    (default now): checked in or in consultation, or completed less than
    DOCTOR_RECORD_ACCESS_DAYS before."""
    if not is_signed_in(user):
        return Booking.objects.none()
    since = (at or timezone.now()) - timedelta(days=settings.DOCTOR_RECORD_ACCESS_DAYS)
    return Booking.objects.filter(slot__doctor__user=user).filter(
        Q(status__in=[BookingStatus.CHECKED_IN, BookingStatus.IN_CONSULT])
        | Q(status=BookingStatus.COMPLETED, completed_at__gte=since)
    )


def patients_visible_to(user) -> QuerySet[Patient]:
    """Patients whose record `user` may read: their own and their dependants', and for a
    doctor, the patients they are treating (doctor_access_bookings). Every read by someone
    who does not manage the patient is access-logged (consult.selectors.record_for)."""
    managed = patients_managed_by(user)
    if not is_doctor(user):
        return managed
    return Patient.objects.filter(
        Q(pk__in=managed.values("pk")) | Q(pk__in=doctor_access_bookings(user).values("patient_id"))
    )


def bookings_visible_to(user) -> QuerySet[Booking]:
    """Bookings of the patients `user` manages, of their own slots as a doctor, of the
    hospitals they administer, or all for a superuser."""
    if not is_signed_in(user):
        return Booking.objects.none()
    if user.is_superuser:
        return Booking.objects.all()
    rule = Q(patient__in=patients_managed_by(user).values("pk")) | Q(slot__doctor__user=user)
    if user.role == Role.HOSPITAL_ADMIN:
        rule |= Q(slot__doctor__hospital__in=user.administered_hospitals.values("pk"))
    return Booking.objects.filter(rule)


def bookings_openable_by(user) -> QuerySet[Booking]:
    """Bookings whose consultation room the user may open: as the booking's doctor, or as
    the patient or one of their proxies."""
    if not is_signed_in(user):
        return Booking.objects.none()
    return Booking.objects.filter(
        Q(slot__doctor__user=user) | Q(patient__in=patients_managed_by(user).values("pk"))
    )


def consultations_visible_to(user) -> QuerySet[Consultation]:
    """Consultations of the user's own bookings, their dependants', and, for a doctor, their patients'."""
    if not is_signed_in(user):
        return Consultation.objects.none()
    return Consultation.objects.filter(booking__in=bookings_openable_by(user).values("pk"))


def doctors_managed_by(user) -> QuerySet[Doctor]:
    """Doctors whose schedule `user` may change: their own profile, every doctor of a
    hospital they administer, or everyone for a superuser."""
    if not is_signed_in(user):
        return Doctor.objects.none()
    if user.is_superuser:
        return Doctor.objects.all()
    rule = Q(user=user)
    if user.role == Role.HOSPITAL_ADMIN:
        rule |= Q(hospital__admins=user)
    return Doctor.objects.filter(rule).distinct()


# --- Predicates ---------------------------------------------------------------------------


def _patient_id(patient) -> int | None:
    return patient if isinstance(patient, int) else getattr(patient, "pk", None)


@rules.predicate
def manages_patient(user, patient) -> bool:
    """The patient themselves (their login) or a proxy acting for them."""
    patient_id = _patient_id(patient)
    if patient_id is None or not is_signed_in(user):
        return False
    if in_policy_memo():  # a list being rendered: the same queryset, read once
        return patient_id in memoized(("patients_managed_by", user.pk),
                                      lambda: set(patients_managed_by(user).values_list("pk", flat=True)))
    return patients_managed_by(user).filter(pk=patient_id).exists()


def is_treating_doctor(user, patient, *, at: datetime | None = None) -> bool:
    """The doctor of one of the patient's bookings that is checked in, in consultation or
    completed less than DOCTOR_RECORD_ACCESS_DAYS before `at` (default now)."""
    patient_id = _patient_id(patient)
    if patient_id is None:
        return False
    return doctor_access_bookings(user, at=at).filter(patient_id=patient_id).exists()


@rules.predicate(name="is_treating_doctor")
def is_treating_doctor_now(user, patient) -> bool:
    return is_treating_doctor(user, patient)


@rules.predicate
def is_booking_doctor(user, booking) -> bool:
    """The doctor whose slot `booking` is in. The one place this question is answered."""
    return bool(booking is not None and is_signed_in(user) and booking.slot.doctor.user_id == user.pk)


@rules.predicate
def is_hospital_admin_for(user, doctor) -> bool:
    """An admin of `doctor`'s hospital."""
    return bool(
        doctor is not None and is_signed_in(user) and user.role == Role.HOSPITAL_ADMIN
        and memoized(("hospital_admin", user.pk, doctor.hospital_id),
                     lambda: doctor.hospital.admins.filter(pk=user.pk).exists())
    )


@rules.predicate
def manages_doctor(user, doctor) -> bool:
    """The doctor themselves, an admin of their hospital, or a superuser."""
    return bool(doctor is not None and doctors_managed_by(user).filter(pk=doctor.pk).exists())


@rules.predicate
def manages_booking_patient(user, booking) -> bool:
    return booking is not None and manages_patient(user, booking.patient_id)


@rules.predicate
def is_booking_staff(user, booking) -> bool:
    """The booking's doctor, an admin of the doctor's hospital, or a superuser: the clinic."""
    if booking is None:
        return False
    return bool(is_superuser(user) or is_booking_doctor(user, booking) or is_hospital_admin_for(user, booking.slot.doctor))


@rules.predicate
def is_consultation_doctor(user, consultation) -> bool:
    return consultation is not None and is_booking_doctor(user, consultation.booking)


def consultation_role(user, consultation) -> str | None:
    """"doctor", "patient" or "proxy" for a participant of the consultation, else None."""
    if not is_signed_in(user):
        return None
    booking = consultation.booking
    if is_booking_doctor(user, booking):
        return "doctor"
    if booking.patient.account_id == user.pk:
        return "patient"
    if proxy_links_in_force().filter(proxy=user, patient_id=booking.patient_id).exists():
        return "proxy"
    return None


@rules.predicate
def is_consultation_participant(user, consultation) -> bool:
    return consultation is not None and consultation_role(user, consultation) is not None


def proxy_consent_covers(user, patient, scope: str) -> bool:
    """The patient themself, or a proxy whose consent in force includes `scope` (ProxyScope)."""
    patient_id = _patient_id(patient)
    if patient_id is None or not is_signed_in(user):
        return False
    if Patient.objects.filter(pk=patient_id, account=user).exists():
        return True
    scopes = proxy_consents_in_force().filter(link__proxy=user, link__patient_id=patient_id).values_list("scope", flat=True)
    return any(scope in granted for granted in scopes)


@rules.predicate
def consent_covers_booking(user, patient) -> bool:
    return proxy_consent_covers(user, patient, ProxyScope.BOOK)


may_read_record = manages_patient | is_treating_doctor_now

# --- Named permissions: registered once, asked from every layer ---------------------------
rules.add_perm("consult.manage_patient", manages_patient)  # contact details, proxies, family-entered record
rules.add_perm("consult.read_record", may_read_record)
rules.add_perm("consult.write_record", may_read_record)  # conditions, allergies, medicines, readings
rules.add_perm("consult.book_for", manages_patient & consent_covers_booking)
rules.add_perm("consult.cancel_booking", manages_booking_patient | is_booking_staff)
rules.add_perm("consult.reschedule_booking", manages_booking_patient | is_booking_staff)
rules.add_perm("consult.check_in", manages_booking_patient)
rules.add_perm("consult.run_booking", is_booking_doctor)  # start, complete, mark a no-show
rules.add_perm("consult.mark_no_show", is_booking_doctor | is_system)
rules.add_perm("consult.open_room", manages_booking_patient | is_booking_doctor)
rules.add_perm("consult.conduct_consultation", is_consultation_doctor)  # admit, record, end
rules.add_perm("consult.chat", is_consultation_participant)
rules.add_perm("consult.manage_schedule", manages_doctor)
rules.add_perm("consult.add_dependant", is_signed_in)


# --- Consult recordings (consult.recording) ---------------------------------------------------


@rules.predicate
def may_play_recording(user, recording) -> bool:
    """The treating doctor of the recorded consultation, the patient, or an active proxy."""
    if recording is None:
        return False
    consultation = recording.consultation
    return bool(is_consultation_doctor(user, consultation) or manages_patient(user, consultation.booking.patient_id))


def recordings_playable_by(user):
    """Complete recordings `user` may play back (may_play_recording), as a queryset."""
    from consult.models import ConsultRecording, RecordingStatus

    if not is_signed_in(user):
        return ConsultRecording.objects.none()
    booking_rule = Q(consultation__booking__slot__doctor__user=user) | Q(
        consultation__booking__patient__in=patients_managed_by(user).values("pk"))
    return ConsultRecording.objects.filter(booking_rule, status=RecordingStatus.COMPLETE)


rules.add_perm("consult.consent_recording", is_consultation_participant)  # each side gives or withdraws its own
rules.add_perm("consult.record_consultation", is_consultation_doctor)  # start, upload, complete
rules.add_perm("consult.play_recording", may_play_recording)
