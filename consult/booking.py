"""Booking a slot, and every later change of a booking. The booking rules live here only.

Lock order, everywhere: patient row, then slot rows (by id), then booking rows. Keeping
one order means two requests never wait on each other in a cycle (no deadlocks).

Why a conditional UPDATE for the seat and not SELECT ... FOR UPDATE then UPDATE:
`UPDATE slot SET booked = booked + 1 WHERE id = %s AND is_open AND booked < capacity` takes
the row lock and checks capacity in one statement. Under PostgreSQL's READ COMMITTED a
waiting UPDATE re-reads the row once the holder commits and re-checks the WHERE clause, so
when the fifth place of five goes, every later request matches zero rows and is told
"slot full" without a second round trip. The lock it takes is held to the end of the
transaction, which also serialises choosing the queue number below. On SQLite the
IMMEDIATE transaction mode (settings) serialises writers, and the same statement is correct.
"""

import hashlib
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital import metrics
from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.outbox import outbox_add
from cloudhospital.permissions import SYSTEM, allowed, require
from cloudhospital.states import StateTable, actions_allowed, refusal_of, require_move, transition
from consult import consent as consent_rules
from consult import windows
from consult.doctors import doctor_online_refusal
from consult import young_children
from consult.models import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus, Condition, ConditionStatus, Patient, Slot
from consult.permissions import is_booking_staff

S = BookingStatus

# The state machine: from each status, the statuses a booking may move to, and the
# timestamp each move stamps.
BOOKING_STATES = StateTable(
    label="booking",
    moves={
        S.BOOKED: {S.CHECKED_IN, S.CANCELLED, S.NO_SHOW},
        S.CHECKED_IN: {S.IN_CONSULT, S.CANCELLED, S.NO_SHOW},
        S.IN_CONSULT: {S.COMPLETED},
        S.COMPLETED: set(),
        S.CANCELLED: set(),
        S.NO_SHOW: set(),
    },
    stamps={
        S.CHECKED_IN: "checked_in_at",
        S.IN_CONSULT: "started_at",
        S.COMPLETED: "completed_at",
        S.CANCELLED: "cancelled_at",
    },
    verbs={
        S.CHECKED_IN: "check in",
        S.IN_CONSULT: "start the consultation",
        S.COMPLETED: "complete the consultation",
        S.CANCELLED: "cancel",
        S.NO_SHOW: "mark a no-show",
    },
)
TRANSITIONS = BOOKING_STATES.moves


def _transition(booking: Booking, to: str, *, by, reason: str) -> Booking:
    return transition(booking, to, table=BOOKING_STATES, by=by, reason=reason)


def _lock_booking(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().select_related("slot", "patient").get(pk=booking.pk)


def _fingerprint(*, patient_id: int, slot_id: int, reason: str) -> str:
    canonical = json.dumps({"patient": patient_id, "slot": slot_id, "reason": reason}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _local_day_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _check_slot_bookable(slot: Slot, *, patient: Patient, now: datetime) -> None:
    """The rules that depend on the slot and the patient's record, not on other bookings."""
    if slot.starts_at <= now:
        raise DomainError(_("This slot has already started or passed; choose a later one."), code="slot_in_past", field="slot", kind=Kind.UNPROCESSABLE)
    if slot.starts_at > windows.booking_window_ends(now):
        raise DomainError(
            _("Slots open for booking %(days)s days ahead; this one is later.") % {"days": settings.BOOKING_WINDOW_DAYS},
            code="beyond_booking_window", field="slot", kind=Kind.UNPROCESSABLE,
        )
    if not slot.is_open and slot.closed_reason:
        raise DomainError(_("This slot is closed: %(reason)s.") % {"reason": slot.closed_reason}, code="slot_closed",
                          field="slot", kind=Kind.CONFLICT)
    if not slot.is_open:
        raise DomainError(_("This slot is closed."), code="slot_closed", field="slot", kind=Kind.CONFLICT)
    doctor = slot.doctor
    if not doctor.verified:
        raise DomainError(
            _("%(doctor)s is not yet verified by the hospital and cannot be booked.") % {"doctor": doctor.user.full_name},
            code="doctor_unverified", field="slot", kind=Kind.UNPROCESSABLE,
        )
    clinic = slot.clinic
    if (refusal := doctor_online_refusal(doctor, clinic.hospital_id)) is not None:
        raise refusal
    if clinic.follow_up_only:
        codes = Condition.objects.filter(patient=patient, status=ConditionStatus.ACTIVE).values_list("icd10_code", flat=True)
        if not any(clinic.treats(code) for code in codes):
            ranges = ", ".join(low if low == high else f"{low}–{high}" for low, high in clinic.code_ranges)
            raise DomainError(
                _("%(clinic)s takes follow-up visits only, for patients with a diagnosed condition in "
                  "ICD-10 %(ranges)s. %(patient)s's record has no such active condition; add the diagnosis "
                  "to the record or book a clinic that sees new patients.")
                % {"clinic": clinic.display_name, "ranges": ranges, "patient": patient.full_name},
                code="follow_up_only", field="patient", kind=Kind.UNPROCESSABLE,
            )


def _check_one_a_day(*, patient: Patient, slot: Slot, exclude: Booking | None = None) -> None:
    day_start, day_end = _local_day_bounds(slot.starts_at)
    others = Booking.objects.filter(
        patient=patient, status__in=ACTIVE_BOOKING_STATUSES, slot__clinic_id=slot.clinic_id,
        slot__starts_at__gte=day_start, slot__starts_at__lt=day_end,
    )
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise DomainError(
            _("%(patient)s already has a booking in %(clinic)s on %(day)s; cancel or reschedule it instead.")
            % {"patient": patient.full_name, "clinic": slot.clinic.display_name,
               "day": f"{timezone.localtime(slot.starts_at):%Y-%m-%d}"},
            code="duplicate_booking", field="slot", kind=Kind.CONFLICT,
        )


def _take_place(slot: Slot) -> int:
    """Take one place in `slot` and return the queue number; 409 if full or closed.

    See the module docstring for why this is one conditional UPDATE.
    """
    taken = Slot.objects.filter(windows.HAS_FREE_PLACE, pk=slot.pk).update(booked=F("booked") + 1)
    if not taken:
        current = Slot.objects.filter(pk=slot.pk).first()
        if current is None:
            raise DomainError(_("This slot was withdrawn from the schedule."), code="slot_withdrawn", field="slot", kind=Kind.CONFLICT)
        if not current.is_open:
            raise DomainError(_("This slot is closed."), code="slot_closed", field="slot", kind=Kind.CONFLICT)
        raise DomainError(_("This slot is full; choose another."), code="slot_full", field="slot", kind=Kind.CONFLICT)
    # The slot row is locked by our UPDATE until commit, so nobody else picks a number now.
    # The lowest free number is given: a cancelled booking's number goes back to the pool.
    used = set(
        Booking.objects.filter(slot=slot).exclude(status=S.CANCELLED).order_by().values_list("queue_number", flat=True)
    )
    return next(number for number in range(1, len(used) + 2) if number not in used)


def _release_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _replay(*, by, idempotency_key: str, fingerprint: str) -> Booking | None:
    original = Booking.objects.filter(booked_by=by, idempotency_key=idempotency_key).first()
    if original is not None and original.request_fingerprint != fingerprint:
        raise DomainError(
            _("This Idempotency-Key was already used with a different request; use a new key for a new booking."),
            code="idempotency_key_reused", kind=Kind.UNPROCESSABLE,
        )
    return original


@metrics.counts_booking_outcome("create", "created", replayed="replayed")
def booking_create(*, by, patient: Patient, slot: Slot, reason: str, idempotency_key: str = "") -> tuple[Booking, bool]:
    """Book `patient` into `slot` on behalf of `by`, the patient or a proxy acting for them.
    Returns (booking, created).

    Refuses: a patient `by` does not manage (400, field patient, worded as for an unknown
    id so ids cannot be probed); a blank reason (400); a slot that has started, lies beyond the booking window,
    belongs to an unverified doctor (422) or is closed (409); a follow-up-only clinic when
    the patient has no active condition in its ICD-10 ranges (422, field patient); a second
    active booking in the same clinic on the same day (409); a full slot (409 slot_full).

    With an `idempotency_key`, a repeat of the same request by the same user returns the
    original booking with created=False and books nothing; the same key with a different
    request is refused (422).
    """
    consent_rules.booking_consents_require(by=by, patient=patient)  # 互联网诊疗监管细则（试行）: consent first
    if not allowed("consult.book_for", by, patient):
        raise DomainError(_("No patient with this id among those you manage."), code="unknown_patient", field="patient", kind=Kind.INVALID)
    young_children.require_guardian_proxy(by=by, patient=patient)  # 互联网诊疗管理办法（试行） art. 19: a parent or guardian
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say briefly why the patient needs the visit."), code="required", field="reason", kind=Kind.INVALID)
    idempotency_key = (idempotency_key or "").strip()
    fingerprint = _fingerprint(patient_id=patient.pk, slot_id=slot.pk, reason=reason) if idempotency_key else ""
    if idempotency_key:
        original = _replay(by=by, idempotency_key=idempotency_key, fingerprint=fingerprint)
        if original is not None:
            return original, False
    try:
        with transaction.atomic():
            return _book(by=by, patient=patient, slot=slot, reason=reason,
                         idempotency_key=idempotency_key, fingerprint=fingerprint)
    except IntegrityError:
        # The same key's twin request (for another patient) committed first: answer as
        # the retry it is, or 422 if it was a different request.
        original = idempotency_key and _replay(by=by, idempotency_key=idempotency_key, fingerprint=fingerprint)
        if original:
            return original, False
        raise


def _book(*, by, patient: Patient, slot: Slot, reason: str, idempotency_key: str, fingerprint: str) -> tuple[Booking, bool]:
    now = timezone.now()
    # Serialise this patient's bookings so two at once cannot both pass the one-a-day rule.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if idempotency_key:
        # A twin request may have committed while we waited for the lock.
        original = _replay(by=by, idempotency_key=idempotency_key, fingerprint=fingerprint)
        if original is not None:
            return original, False
    slot = Slot.objects.select_related("doctor__user", "clinic").get(pk=slot.pk)
    _check_slot_bookable(slot, patient=patient, now=now)
    _check_one_a_day(patient=patient, slot=slot)
    queue_number = _take_place(slot)
    booking = Booking(
        patient=patient, slot=slot, queue_number=queue_number, reason=reason, booked_by=by,
        idempotency_key=idempotency_key, request_fingerprint=fingerprint, created_at=now,
    )
    stamp(booking, by=by, reason="booked")
    booking.save()
    _remind_on_commit_if_due(booking)
    return booking, True


def _remind_on_commit_if_due(booking: Booking) -> None:
    """A booking made inside the reminder window is reminded at once; later ones are picked
    up by the beat task (consult.tasks.booking_reminders_due), so no task waits for days
    in the broker with an ETA."""
    if windows.reminder_due(booking.slot, timezone.now()):
        outbox_add("consult.tasks.booking_remind", booking.pk)


def _lock_slot_then_booking(booking: Booking) -> Booking:
    """Lock the booking's slot and then the booking itself (the module's lock order).

    A concurrent reschedule may move the booking between reading its slot and locking it,
    so the slot is re-read until it is the one locked.
    """
    slot_id = booking.slot_id
    for _attempt in range(3):
        Slot.objects.select_for_update().filter(pk=slot_id).first()
        locked = _lock_booking(booking)
        if locked.slot_id == slot_id:
            return locked
        slot_id = locked.slot_id
    raise DomainError(_("The booking changed while cancelling; please retry."), code="conflict", kind=Kind.CONFLICT)


# --- What may happen to a booking now -----------------------------------------------------
# One check per action, named as the API names it (the last segment of the POST URL). Each
# raises the refusal its verb would meet, and the verb runs it on the locked booking before
# it acts; `booking_allowed_actions` is the checks that pass: the `allowed_actions` a client
# is shown. What depends on the request's body (a new slot, a reason) is the verb's alone.


def _check_cancel(booking: Booking, by, now: datetime) -> None:
    require("consult.cancel_booking", by, booking,
            message=_("Only the patient, their proxies or the clinic may cancel this booking."))
    require_move(booking, S.CANCELLED, table=BOOKING_STATES)
    if not is_booking_staff(by, booking) and now > windows.patient_change_closes(booking.slot):
        hours = settings.BOOKING_PATIENT_CANCEL_CUTOFF_MINUTES / 60
        raise DomainError(
            _("Bookings can be cancelled online until %(hours)s hours before the slot; please contact the clinic.")
            % {"hours": f"{hours:g}"},
            code="too_late_to_cancel", kind=Kind.UNPROCESSABLE,
        )


def _check_reschedule(booking: Booking, by, now: datetime) -> None:
    require("consult.reschedule_booking", by, booking,
            message=_("Only the patient, their proxies or the clinic may reschedule this booking."))
    if booking.status != S.BOOKED:
        raise DomainError(
            _("Cannot reschedule: the booking is %(status)s.") % {"status": booking.status},
            code="invalid_transition", kind=Kind.CONFLICT,
        )
    if not is_booking_staff(by, booking) and now > windows.patient_change_closes(booking.slot):
        raise DomainError(_("It is too late to reschedule this visit online; please contact the clinic."),
                          code="too_late_to_reschedule", kind=Kind.UNPROCESSABLE)


def _check_check_in(booking: Booking, by, now: datetime) -> None:
    require("consult.check_in", by, booking, message=_("Only the patient or their proxies check in."))
    require_move(booking, S.CHECKED_IN, table=BOOKING_STATES)
    opens = windows.check_in_opens(booking.slot)
    if now < opens:
        raise DomainError(
            _("Check-in opens at %(time)s on %(day)s, %(minutes)s minutes before the slot.")
            % {"time": f"{timezone.localtime(opens):%H:%M}", "day": f"{timezone.localtime(opens):%Y-%m-%d}",
               "minutes": settings.BOOKING_CHECK_IN_OPENS_MINUTES},
            code="check_in_not_open", kind=Kind.UNPROCESSABLE,
        )
    if now > booking.slot.ends_at:
        raise DomainError(_("This slot has ended; check-in is closed."), code="check_in_closed", kind=Kind.UNPROCESSABLE)


def _require_booking_doctor(by, booking: Booking, permission: str = "consult.run_booking") -> None:
    require(permission, by, booking, message=_("Only the booking's doctor may do this."))


def _check_start(booking: Booking, by, now: datetime) -> None:
    _require_booking_doctor(by, booking)
    require_move(booking, S.IN_CONSULT, table=BOOKING_STATES)


def _check_complete(booking: Booking, by, now: datetime) -> None:
    _require_booking_doctor(by, booking)
    require_move(booking, S.COMPLETED, table=BOOKING_STATES)


def _check_no_show(booking: Booking, by, now: datetime) -> None:
    _require_booking_doctor(by, booking, "consult.mark_no_show")
    require_move(booking, S.NO_SHOW, table=BOOKING_STATES)
    if now < booking.slot.starts_at:
        raise DomainError(_("The slot has not started yet; the patient cannot be a no-show."), code="too_early", kind=Kind.UNPROCESSABLE)


BOOKING_ACTIONS = {
    "cancel": _check_cancel,
    "reschedule": _check_reschedule,
    "check-in": _check_check_in,
    "start": _check_start,
    "complete": _check_complete,
    "no-show": _check_no_show,
}


def booking_refusal(action: str, booking: Booking, *, actor, at: datetime | None = None) -> DomainError | None:
    """The refusal `actor` would meet doing `action` (a BOOKING_ACTIONS name) on `booking` at
    `at` (default now), or None: what other modules ask before they move a booking."""
    return refusal_of(BOOKING_ACTIONS[action], booking, by=actor, now=at or timezone.now())


def booking_allowed_actions(booking: Booking, *, actor, at: datetime | None = None) -> list[str]:
    """The BOOKING_ACTIONS `actor` may take on `booking` now: the API's `allowed_actions`."""
    return actions_allowed(BOOKING_ACTIONS, booking, by=actor, now=at)


@metrics.counts_booking_outcome("cancel", "cancelled")
@transaction.atomic
def booking_cancel(*, by, booking: Booking, reason: str = "") -> Booking:
    """Cancel a booking and give its place back at once.

    The patient or a proxy may cancel until BOOKING_PATIENT_CANCEL_CUTOFF_MINUTES (2 h)
    before the slot starts (422 after that). The booking's doctor or an admin of their
    hospital may cancel a booking not yet in consultation, must give a reason (400
    without), and the patient's family is notified. Anyone else: 403. A booking in any
    state but booked or checked in: 409 naming the state.
    """
    booking = _lock_slot_then_booking(booking)
    reason = (reason or "").strip()
    _check_cancel(booking, by, timezone.now())
    staff = is_booking_staff(by, booking)
    if staff and not reason:
        raise DomainError(_("Give the patient a reason for the cancellation."), code="required", field="reason", kind=Kind.INVALID)
    booking.cancel_reason = reason[:200]
    _transition(booking, S.CANCELLED, by=by, reason=f"cancelled: {reason}" if reason else "cancelled by patient")
    _release_place(booking.slot_id)
    if staff:
        _notify_cancelled_on_commit(booking)
    return booking


def _notify_cancelled_on_commit(booking: Booking) -> None:
    outbox_add("consult.tasks.booking_cancelled_notify", booking.pk)


@metrics.counts_booking_outcome("reschedule", "rescheduled")
@transaction.atomic
def booking_reschedule(*, by, booking: Booking, new_slot: Slot) -> Booking:
    """Move a booked (not yet checked-in) booking to another slot of the same clinic:
    the new place is taken and the old one released together, or neither.

    Who may: as for cancelling, with the same cut-off for the patient's side (422). The new
    slot must pass every booking rule (see booking_create), ignoring this booking for the
    one-a-day rule; a full new slot is 409 and the booking stays where it was.
    """
    if booking.slot_id == new_slot.pk:
        raise DomainError(_("The booking is already in this slot."), code="same_slot", field="slot", kind=Kind.INVALID)
    now = timezone.now()
    patient = Patient.objects.select_for_update().get(pk=booking.patient_id)
    # Lock both slots in id order so two reschedules between the same pair cannot deadlock.
    list(Slot.objects.select_for_update().filter(pk__in=[booking.slot_id, new_slot.pk]).order_by("pk"))
    booking = _lock_booking(booking)
    _check_reschedule(booking, by, now)
    new_slot = Slot.objects.select_related("doctor__user", "clinic").get(pk=new_slot.pk)
    if new_slot.clinic_id != booking.slot.clinic_id:
        raise DomainError(_("A booking can only move to another slot of the same clinic."), code="other_clinic", field="slot", kind=Kind.UNPROCESSABLE)
    _check_slot_bookable(new_slot, patient=patient, now=now)
    _check_one_a_day(patient=patient, slot=new_slot, exclude=booking)
    old_slot_id = booking.slot_id
    booking.queue_number = _take_place(new_slot)
    _release_place(old_slot_id)
    booking.slot = new_slot
    stamp(booking, by=by, reason=f"rescheduled from slot {old_slot_id}")
    booking.save()
    _remind_on_commit_if_due(booking)
    return booking


@metrics.counts_booking_outcome("check_in", "checked_in")
@transaction.atomic
def booking_check_in(*, by, booking: Booking) -> Booking:
    """The patient (or a proxy) enters the waiting room, from BOOKING_CHECK_IN_OPENS_MINUTES
    (30) before the slot starts until it ends (422 outside that window). 403 for anyone
    else; 409 from any state but booked."""
    booking = _lock_booking(booking)
    _check_check_in(booking, by, timezone.now())
    return _transition(booking, S.CHECKED_IN, by=by, reason="checked in")


def _lock_with_doctor(booking: Booking) -> Booking:
    return Booking.objects.select_for_update().select_related("slot__doctor").get(pk=booking.pk)


@metrics.counts_booking_outcome("start", "started")
@transaction.atomic
def booking_start(*, by, booking: Booking) -> Booking:
    """The booking's doctor admits a checked-in patient: the consultation begins.
    403 for anyone else; 409 from any state but checked in."""
    booking = _lock_with_doctor(booking)
    _check_start(booking, by, timezone.now())
    return _transition(booking, S.IN_CONSULT, by=by, reason="consultation started")


@metrics.counts_booking_outcome("complete", "completed")
@transaction.atomic
def booking_complete(*, by, booking: Booking) -> Booking:
    """The booking's doctor ends the consultation (409 unless in consultation). The doctor
    keeps reading the record for DOCTOR_RECORD_ACCESS_DAYS after this (consult.selectors)."""
    booking = _lock_with_doctor(booking)
    _check_complete(booking, by, timezone.now())
    return _transition(booking, S.COMPLETED, by=by, reason="consultation completed")


@metrics.counts_booking_outcome("no_show", "no_show")
@transaction.atomic
def booking_mark_no_show(*, by, booking: Booking) -> Booking:
    """The patient did not come. Marked by the booking's doctor once the slot has started
    (422 before; 403 for anyone else), or by the no-show task acting as SYSTEM, which only
    passes bookings whose slot ended BOOKING_NO_SHOW_AFTER_MINUTES ago. The place is not
    released: its time has passed. 409 from a state that cannot become a no-show."""
    booking = _lock_with_doctor(booking)
    _check_no_show(booking, by, timezone.now())
    automatic = by is SYSTEM
    return _transition(booking, S.NO_SHOW, by=by, reason="no-show (marked automatically)" if automatic else "no-show")
