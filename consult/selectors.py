"""Read queries: the record and its summary, the directory, slots, worklists, rooms.

"Objects this user may see" is one queryset per role, in consult.permissions; views start
from it, so a foreign id is simply not found (404) and ids cannot be probed. Reading a
patient's data and writing its access-log row are one call here (`record_for`,
`patients_listed`), so no view, page, consumer or export can forget the log.
"""

from datetime import date, datetime, time, timedelta

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import access_log_record, access_log_record_many
from cloudhospital.errors import DomainError, Kind
from consult import doctors, windows
from consult.models import (
    Booking,
    BookingStatus,
    Clinic,
    ConditionStatus,
    Doctor,
    Observation,
    ObservationKind,
    Patient,
    ProxyLink,
    Slot,
)
from consult.permissions import (
    bookings_visible_to,
    consultation_role,
    consultations_visible_to,
    doctor_access_bookings,
    manages_patient,
    patients_managed_by,
    patients_visible_to,
)


def relationship_to(user, patient: Patient) -> str:
    """How `patient` relates to `user`: "self", or the proxy link's relationship, or ""."""
    if patient.account_id == user.pk:
        return "self"
    link = next((link for link in patient.proxy_links.all() if link.proxy_id == user.pk), None)
    return link.relationship if link else ""


def patients_with_links(queryset: QuerySet[Patient]) -> QuerySet[Patient]:
    return queryset.prefetch_related(Prefetch("proxy_links", queryset=ProxyLink.objects.select_related("proxy")))


def latest_observation(patient: Patient, kind: str) -> Observation | None:
    return valid_observations(patient).filter(kind=kind).order_by("-measured_at", "-id").first()


def valid_observations(patient: Patient):
    """The patient's readings and lab values, leaving out those marked entered in error."""
    return patient.observations.filter(entered_in_error_at__isnull=True)


def record_summary(patient: Patient, *, bp_readings: int = 10) -> dict:
    """Everything a clinician needs on one screen: demographics, active problems,
    allergies, current medicines, the last readings and the latest kidney function."""
    return {
        "patient": patient,
        "conditions": list(patient.conditions.filter(status=ConditionStatus.ACTIVE)),
        "allergies": list(patient.allergies.all()),
        "medications": list(patient.medications.filter(active=True)),
        "blood_pressure": list(
            valid_observations(patient).filter(kind=ObservationKind.BLOOD_PRESSURE).order_by("-measured_at", "-id")[:bp_readings]
        ),
        "latest_egfr": latest_observation(patient, ObservationKind.EGFR),
        "latest_creatinine": latest_observation(patient, ObservationKind.CREATININE),
    }


# --- Booking desk: directory, slots, bookings, doctors' access to records -------------


def record_for(viewer, patient_id, *, purpose: str) -> Patient:
    """The patient `viewer` may read (consult.permissions.patients_visible_to), with the
    read access-logged for `purpose` in the same call. Anyone else's id: not found."""
    patient = patients_visible_to(viewer).filter(pk=patient_id).first() if str(patient_id).isdigit() else None
    if patient is None:
        raise DomainError(_("No patient with this id among those you may see."), code="not_found", kind=Kind.NOT_FOUND)
    _log_record_read(user=viewer, patient=patient, action=purpose)
    return patient


def patients_listed(viewer, patients: list[Patient], *, purpose: str = "patient_list_read") -> list[Patient]:
    """A page of patients `viewer` listed, with every listed patient's read logged."""
    _log_records_listed(user=viewer, patients=patients, action=purpose)
    return patients


def access_log_of(patient: Patient):
    """The patient's access log, newest first, with who read it."""
    return patient.access_logs.select_related("user").order_by("-seq")


def log_patient_data_read(viewer, patient_id: int, *, action: str, grounds: str) -> None:
    """Log that `viewer` read patient data other than the record itself (a consultation, a
    booking, a prescription) on `grounds`, unless it is the patient's own family. For the
    read-and-log selectors (`booking_for`, `consultation_for`, prescriptions'
    `prescription_for`): views never call it themselves."""
    if manages_patient(viewer, patient_id):
        return
    access_log_record(user=viewer, patient=Patient(pk=patient_id), action=action, reason=grounds)


def booking_for(viewer, booking_id, *, purpose: str, queryset: QuerySet[Booking] | None = None) -> Booking:
    """A booking `viewer` may see (bookings_visible_to, or the caller's narrower `queryset`),
    its read logged. Anyone else's id: not found."""
    queryset = bookings_visible_to(viewer) if queryset is None else queryset
    booking = queryset.filter(pk=booking_id).first() if str(booking_id).isdigit() else None
    if booking is None:
        raise DomainError(_("No booking with this id among those you may see."), code="not_found", kind=Kind.NOT_FOUND)
    log_patient_data_read(viewer, booking.patient_id, action=purpose, grounds=f"booking {booking.pk} ({booking.status})")
    return booking


def consultation_for(viewer, consultation_id, *, purpose: str, queryset=None):
    """A consultation `viewer` takes part in (consultations_visible_to, or the caller's
    `queryset`), its read logged. Anyone else's id: not found."""
    queryset = consultations_visible_to(viewer) if queryset is None else queryset
    consultation = queryset.filter(pk=consultation_id).first() if str(consultation_id).isdigit() else None
    if consultation is None:
        raise DomainError(_("No consultation with this id among yours."), code="not_found", kind=Kind.NOT_FOUND)
    log_patient_data_read(viewer, consultation.booking.patient_id, action=purpose,
                          grounds=f"consultation {consultation.pk} of booking {consultation.booking_id}")
    return consultation


def _log_record_read(*, user, patient: Patient, action: str) -> None:
    """Write the access log for a read of `patient`'s record by someone who does not manage
    it, naming the booking that allows it. The patient's own and proxies' reads are not
    logged: it is their record."""
    if patients_managed_by(user).filter(pk=patient.pk).exists():
        return
    booking = doctor_access_bookings(user).filter(patient=patient).order_by("-slot__starts_at").first()
    if booking is not None:
        access_log_record(user=user, patient=patient, action=action, reason=f"booking {booking.pk} ({booking.status})")


def _log_records_listed(*, user, patients: list[Patient], action: str = "patient_list_read") -> None:
    """_log_record_read for a page of patients a doctor listed: names and masked ID numbers
    are personal data too. At most three queries whatever the page size."""
    ids = [patient.pk for patient in patients]
    if not ids:
        return
    managed = set(patients_managed_by(user).filter(pk__in=ids).values_list("pk", flat=True))
    others = [pk for pk in ids if pk not in managed]
    if not others:
        return
    grounds: dict[int, str] = {}
    bookings = doctor_access_bookings(user).filter(patient_id__in=others).order_by("-slot__starts_at")
    for booking_pk, patient_id, status in bookings.values_list("pk", "patient_id", "status"):
        grounds.setdefault(patient_id, f"booking {booking_pk} ({status})")
    access_log_record_many(user=user, reasons=grounds, action=action)


def bookings_for_display(queryset: QuerySet[Booking]) -> QuerySet[Booking]:
    return queryset.select_related("patient", "slot__clinic__hospital", "slot__doctor__user")


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def slots_available(
    *, clinic: int | None = None, doctor: int | None = None, hospital: int | None = None,
    date_from: date | None = None, date_to: date | None = None, available_only: bool = False,
) -> QuerySet[Slot]:
    """Future slots of verified doctors in active clinics, earliest first, with what the
    listing shows joined in (one query whatever the page size). `available_only` keeps
    the slots that can be booked now."""
    now = timezone.now()
    slots = Slot.objects.filter(starts_at__gt=now, doctor__verified=True, clinic__is_active=True)
    slots = slots.filter(doctors.qualified_slots_q())  # who may practise online here (consult.doctors)
    if clinic is not None:
        slots = slots.filter(clinic_id=clinic)
    if doctor is not None:
        slots = slots.filter(doctor_id=doctor)
    if hospital is not None:
        slots = slots.filter(clinic__hospital_id=hospital)
    if date_from is not None:
        slots = slots.filter(starts_at__gte=_local_midnight(date_from))
    if date_to is not None:
        slots = slots.filter(starts_at__lt=_local_midnight(date_to + timedelta(days=1)))
    if available_only:
        slots = slots.filter(windows.bookable_slot_filter(now))
    return slots.select_related("doctor__user", "clinic__hospital").order_by("starts_at", "id")


def doctors_directory() -> QuerySet[Doctor]:
    """Verified doctors with hospital, clinics and their next bookable slot, in a fixed
    number of queries (the next slot is a correlated subquery, not a query per doctor)."""
    next_slot = Slot.objects.filter(windows.bookable_slot_filter(timezone.now()), doctors.qualified_slots_q(),
                                    doctor=OuterRef("pk")).order_by("starts_at")
    return (
        Doctor.objects.filter(verified=True).filter(doctors.qualified_doctors_q())
        .select_related("user", "hospital")
        .prefetch_related(Prefetch("clinics", queryset=Clinic.objects.order_by("id")))
        .annotate(
            next_slot_id=Subquery(next_slot.values("pk")[:1]),
            next_slot_starts_at=Subquery(next_slot.values("starts_at")[:1]),
        )
        .order_by("id")
    )


def doctor_worklist(doctor: Doctor, day: date) -> QuerySet[Booking]:
    """The doctor's bookings on `day` (local time), in consulting order; cancelled ones left out."""
    return (
        Booking.objects.filter(
            slot__doctor=doctor, slot__starts_at__gte=_local_midnight(day),
            slot__starts_at__lt=_local_midnight(day + timedelta(days=1)),
        )
        .exclude(status=BookingStatus.CANCELLED)
        .select_related("patient", "slot__clinic")
        .order_by("slot__starts_at", "queue_number")
    )


# --- Consultations --------------------------------------------------------------------


def room_presence(consultation) -> list[dict]:
    """Who has a socket open in the room, once per person, earliest first."""
    from consult.models import RoomPresence

    present: dict[int, dict] = {}
    for row in RoomPresence.objects.filter(consultation=consultation).select_related("user"):
        present.setdefault(row.user_id, {"user_id": row.user_id, "name": row.user.full_name, "role": row.role})
    return list(present.values())


def room_admission(user, consultation_id: int):
    """Decide whether `user` may open a signalling socket for the consultation now.

    Returns (consultation, role, None) when they may, or (None, None, close_code) saying why
    not: unknown consultation, not a participant, too early, booking inactive, ended.
    """
    from consult import signalling
    from consult.models import Consultation, ConsultationStatus

    if not user.is_authenticated:
        return None, None, signalling.CLOSE_UNAUTHENTICATED
    consultation = (
        Consultation.objects.select_related("booking__slot__doctor", "booking__patient").filter(pk=consultation_id).first()
    )
    if consultation is None:
        return None, None, signalling.CLOSE_NOT_FOUND
    role = consultation_role(user, consultation)
    if role is None:
        return None, None, signalling.CLOSE_NOT_PARTICIPANT
    if consultation.booking.status in (BookingStatus.CANCELLED, BookingStatus.NO_SHOW):
        return None, None, signalling.CLOSE_BOOKING_INACTIVE
    if consultation.status == ConsultationStatus.ENDED:
        return None, None, signalling.CLOSE_CONSULT_ENDED
    if timezone.now() < windows.join_window_opens(consultation.booking.slot):
        return None, None, signalling.CLOSE_TOO_EARLY
    return consultation, role, None


# --- Chronic care ---------------------------------------------------------------------

# Hypertension threshold for office and averaged home readings (Chinese hypertension
# guideline 2018): a reading counts as high at 140 systolic or 90 diastolic and above.
HIGH_SYSTOLIC, HIGH_DIASTOLIC = 140, 90


def bp_trend(patient: Patient, *, date_from: date, date_to: date) -> dict:
    """Blood pressure between two local dates: every reading, the daily averages, and the
    share of readings at or above 140/90. Three queries whatever the number of readings."""
    from django.db.models import Avg, Count
    from django.db.models.functions import TruncDate

    readings = valid_observations(patient).filter(
        kind=ObservationKind.BLOOD_PRESSURE,
        measured_at__gte=_local_midnight(date_from),
        measured_at__lt=_local_midnight(date_to + timedelta(days=1)),
    )
    high = Q(systolic__gte=HIGH_SYSTOLIC) | Q(diastolic__gte=HIGH_DIASTOLIC)
    totals = readings.aggregate(count=Count("id"), high=Count("id", filter=high))
    days = (
        readings.annotate(day=TruncDate("measured_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(avg_systolic=Avg("systolic"), avg_diastolic=Avg("diastolic"), avg_pulse=Avg("pulse"), count=Count("id"), high=Count("id", filter=high))
        .order_by("day")
    )
    return {
        "date_from": date_from,
        "date_to": date_to,
        "readings_count": totals["count"],
        "high_count": totals["high"],
        "share_high": round(totals["high"] / totals["count"], 3) if totals["count"] else None,
        "threshold": {"systolic": HIGH_SYSTOLIC, "diastolic": HIGH_DIASTOLIC},
        "days": [
            {
                "date": row["day"],
                "systolic": round(row["avg_systolic"], 1),
                "diastolic": round(row["avg_diastolic"], 1),
                "pulse": round(row["avg_pulse"], 1) if row["avg_pulse"] is not None else None,
                "readings": row["count"],
                "high": row["high"],
            }
            for row in days
        ],
        "readings": list(readings.order_by("measured_at").values("measured_at", "systolic", "diastolic", "pulse", "source")),
    }


# --- Doctor portal: the chart's previous visits, the schedule's days ahead ------------------


def previous_visits(patient: Patient, *, before, limit: int = 10):
    """The patient's ended consultations other than `before` (a Consultation), newest
    first, with their doctor and diagnoses. For a patient already read through
    `record_for`, whose call logged the read."""
    from consult.models import Consultation, ConsultationStatus

    return (
        Consultation.objects.filter(booking__patient=patient, status=ConsultationStatus.ENDED)
        .exclude(pk=before.pk)
        .select_related("booking__slot__doctor__user", "booking__slot__clinic")
        .order_by("-booking__slot__starts_at", "-id")[:limit]
    )


def doctor_days_ahead(doctor: Doctor, *, first: date, days: int) -> list[dict]:
    """Each of `days` local dates from `first`: the doctor's slots, places, places taken
    and active bookings, open or closed (leave). Two queries whatever the number of days."""
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncDate

    tz = timezone.get_current_timezone()
    slots = Slot.objects.filter(
        doctor=doctor, starts_at__gte=_local_midnight(first), starts_at__lt=_local_midnight(first + timedelta(days=days)))
    per_day = {
        row["day"]: row
        for row in slots.annotate(day=TruncDate("starts_at", tzinfo=tz)).values("day").annotate(
            slots=Count("id"), open_slots=Count("id", filter=Q(is_open=True)),
            places=Sum("capacity", filter=Q(is_open=True)), booked=Sum("booked"),
        )
    }
    bookings = dict(
        Booking.objects.filter(slot__in=slots.values("pk"), status__in=[
            BookingStatus.BOOKED, BookingStatus.CHECKED_IN, BookingStatus.IN_CONSULT, BookingStatus.COMPLETED])
        .annotate(day=TruncDate("slot__starts_at", tzinfo=tz)).values("day").annotate(n=Count("id")).values_list("day", "n")
    )
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = per_day.get(day, {})
        result.append({
            "day": day, "slots": row.get("slots", 0), "open_slots": row.get("open_slots", 0),
            "places": row.get("places") or 0, "booked": row.get("booked") or 0, "bookings": bookings.get(day, 0),
        })
    return result


def bookings_with_family_online(booking_ids) -> set[int]:
    """Which of these bookings have the patient or a proxy in the consultation room now
    (an open signalling socket), for the worklist's "online" mark."""
    from consult.models import RoomPresence

    return set(
        RoomPresence.objects.filter(consultation__booking_id__in=list(booking_ids)).exclude(role="doctor")
        .values_list("consultation__booking_id", flat=True)
    )
