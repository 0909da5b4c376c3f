"""Doctors' timetables: weekly schedule templates, the slots generated from them for a
rolling window, and leave that closes slots and cancels their bookings.

Slot generation is a diff, safe to run any time and twice: it creates the slots the active
templates call for that do not exist yet (the unique (doctor, starts_at) constraint stops a
concurrent run from duplicating them), and removes future slots nobody ever booked that no
template calls for any more. A slot with a booking, even a cancelled one, is never deleted.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import stamp
from cloudhospital.errors import DomainError, Kind
from cloudhospital.outbox import outbox_add
from cloudhospital.permissions import require
from consult.models import ACTIVE_BOOKING_STATUSES, Booking, Clinic, Doctor, LeaveBlock, ScheduleTemplate, Slot

SLOT_MINUTES = (5, 120)
MAX_CAPACITY = 50
MAX_LEAVE_DAYS = 366
LEAVE_CLOSED_PREFIX = "Doctor on leave:"  # how a slot closed by leave says so
GENERATION_CHUNK = 250  # doctors per round trip: bounded memory at the network's full size


def _require_manages(by, doctor: Doctor) -> None:
    require("consult.manage_schedule", by, doctor,
            message=_("Only the doctor or an admin of their hospital may change this schedule."))


def _invalid(message: str, field: str, code: str = "invalid") -> DomainError:
    return DomainError(message, code=code, field=field, kind=Kind.INVALID)


def _validate_template(template: ScheduleTemplate) -> None:
    """Shape and overlap rules of a weekly session; raises 400/409/422 naming the field."""
    if template.weekday not in range(7):
        raise _invalid(_("Weekday is 0 (Monday) to 6 (Sunday)."), "weekday")
    low, high = SLOT_MINUTES
    if not low <= template.slot_minutes <= high:
        raise _invalid(_("A slot lasts %(low)s to %(high)s minutes.") % {"low": low, "high": high}, "slot_minutes")
    if not 1 <= template.capacity <= MAX_CAPACITY:
        raise _invalid(_("Capacity per slot is 1 to %(max)s.") % {"max": MAX_CAPACITY}, "capacity")
    if template.fee is None or template.fee < 0:
        raise _invalid(_("The fee cannot be negative."), "fee")
    if template.end_time <= template.start_time:
        raise _invalid(_("The session must end after it starts."), "end_time")
    length = datetime.combine(date.min, template.end_time) - datetime.combine(date.min, template.start_time)
    if length < timedelta(minutes=template.slot_minutes):
        raise _invalid(_("The session is shorter than one slot."), "end_time")
    if not template.doctor.clinics.filter(pk=template.clinic_id).exists():
        raise DomainError(
            _("%(doctor)s does not work in %(clinic)s.") % {"doctor": template.doctor.name, "clinic": template.clinic.display_name},
            code="not_in_clinic", field="clinic", kind=Kind.UNPROCESSABLE,
        )
    overlapping = ScheduleTemplate.objects.filter(
        doctor=template.doctor, weekday=template.weekday, active=True,
        start_time__lt=template.end_time, end_time__gt=template.start_time,
    ).exclude(pk=template.pk)
    if template.active and overlapping.exists():
        other = overlapping.first()
        raise DomainError(
            _("This overlaps the %(start)s-%(end)s session on the same day.")
            % {"start": f"{other.start_time:%H:%M}", "end": f"{other.end_time:%H:%M}"},
            code="overlapping_session", field="start_time", kind=Kind.CONFLICT,
        )


def _regenerate_on_commit(doctor_id: int) -> None:
    outbox_add("consult.tasks.slots_generate_task", doctor_ids=[doctor_id])


@transaction.atomic
def schedule_template_create(
    *, by, doctor: Doctor, clinic: Clinic, weekday: int, start_time: time, end_time: time,
    slot_minutes: int = 15, capacity: int = 1, fee: Decimal | None = None,
) -> ScheduleTemplate:
    """Add a weekly session for `doctor` in `clinic` and generate its slots after commit.

    Only the doctor or an admin of their hospital (403). The doctor must work in the clinic
    (422); the session must be well formed (400 naming the field) and must not overlap
    another active session of the doctor on that weekday (409). The fee defaults to the
    doctor's.
    """
    doctor = Doctor.objects.select_for_update().get(pk=doctor.pk)  # serialises overlap checks per doctor
    _require_manages(by, doctor)
    template = ScheduleTemplate(
        doctor=doctor, clinic=clinic, weekday=weekday, start_time=start_time, end_time=end_time,
        slot_minutes=slot_minutes, capacity=capacity, fee=doctor.fee if fee is None else fee,
    )
    _validate_template(template)
    stamp(template, by=by, reason="session added")
    template.save()
    _regenerate_on_commit(doctor.pk)
    return template


@transaction.atomic
def schedule_template_update(*, by, template: ScheduleTemplate, **changes) -> ScheduleTemplate:
    """Change a session (times, slot length, capacity, fee, clinic, or `active` to pause it).

    Same rules as schedule_template_create. Future slots nobody booked are regenerated to
    the new shape after commit; booked slots keep theirs, so no patient loses a visit.
    """
    Doctor.objects.select_for_update().get(pk=template.doctor_id)
    template = ScheduleTemplate.objects.select_related("doctor__user", "clinic").get(pk=template.pk)
    _require_manages(by, template.doctor)
    for field, value in changes.items():
        setattr(template, field, value)
    _validate_template(template)
    stamp(template, by=by, reason="session changed")
    template.save()
    _regenerate_on_commit(template.doctor_id)
    return template


@transaction.atomic
def schedule_template_delete(*, by, template: ScheduleTemplate) -> None:
    """Remove a session. Its unbooked future slots go with the next generation; booked
    slots stay (and keep their bookings)."""
    _require_manages(by, template.doctor)
    doctor_id = template.doctor_id
    stamp(template, by=by, reason="session removed")
    template.delete()
    _regenerate_on_commit(doctor_id)


@dataclass
class GenerationResult:
    created: int = 0
    removed: int = 0


def _window(days: int, today: date | None) -> list[date]:
    first = today or timezone.localdate()
    return [first + timedelta(days=offset) for offset in range(days)]


def _on_leave(leaves: list[tuple[date, date]], day: date) -> bool:
    return any(start <= day <= end for start, end in leaves)


def _wanted_slots(template: dict, days: list[date], leaves: list[tuple[date, date]], now: datetime) -> Iterable[Slot]:
    tz = timezone.get_current_timezone()
    step = timedelta(minutes=template["slot_minutes"])
    for day in days:
        if day.weekday() != template["weekday"] or _on_leave(leaves, day):
            continue
        start = datetime.combine(day, template["start_time"], tzinfo=tz)
        session_end = datetime.combine(day, template["end_time"], tzinfo=tz)
        while start + step <= session_end:
            if start > now:
                yield Slot(
                    doctor_id=template["doctor_id"], clinic_id=template["clinic_id"], template_id=template["id"],
                    starts_at=start, ends_at=start + step, capacity=template["capacity"], fee=template["fee"],
                )
            start += step


SHAPE = ("ends_at", "clinic_id", "template_id", "capacity", "fee")


def slots_generate(
    *, days: int | None = None, doctor_ids: list[int] | None = None, today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerationResult:
    """Bring future slots of the next `days` (default SLOT_GENERATION_DAYS) in line with the
    active templates, skipping leave dates. Idempotent; see the module docstring.

    `progress(n)` is called after each chunk with the number of doctors processed.
    """
    days_list = _window(days or settings.SLOT_GENERATION_DAYS, today)
    now = timezone.now()
    tz = timezone.get_current_timezone()
    window_end = datetime.combine(days_list[-1] + timedelta(days=1), time.min, tzinfo=tz)
    templates = ScheduleTemplate.objects.filter(active=True)
    doctors = Doctor.objects.order_by("pk")
    if doctor_ids is not None:
        templates = templates.filter(doctor_id__in=doctor_ids)
        doctors = doctors.filter(pk__in=doctor_ids)
    all_doctor_ids = list(doctors.values_list("pk", flat=True))
    result = GenerationResult()
    for offset in range(0, len(all_doctor_ids), GENERATION_CHUNK):
        chunk = all_doctor_ids[offset:offset + GENERATION_CHUNK]
        chunk_result = _generate_chunk(chunk, templates, days_list, now, window_end)
        result.created += chunk_result.created
        result.removed += chunk_result.removed
        if progress:
            progress(len(chunk))
    return result


def _generate_chunk(doctor_ids, templates, days_list, now, window_end) -> GenerationResult:
    leaves: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for doctor_id, starts_on, ends_on in LeaveBlock.objects.filter(
        doctor_id__in=doctor_ids, ends_on__gte=days_list[0], starts_on__lte=days_list[-1]
    ).values_list("doctor_id", "starts_on", "ends_on"):
        leaves[doctor_id].append((starts_on, ends_on))
    wanted: dict[tuple[int, datetime], Slot] = {}
    for template in templates.filter(doctor_id__in=doctor_ids).values(
        "id", "doctor_id", "clinic_id", "weekday", "start_time", "end_time", "slot_minutes", "capacity", "fee"
    ):
        for slot in _wanted_slots(template, days_list, leaves[template["doctor_id"]], now):
            wanted.setdefault((slot.doctor_id, slot.starts_at), slot)
    existing = Slot.objects.filter(
        doctor_id__in=doctor_ids, starts_at__gt=now, starts_at__lt=window_end
    ).annotate(used=Exists(Booking.objects.filter(slot=OuterRef("pk")))).values("id", "doctor_id", "starts_at", "used", *SHAPE)
    stale = []
    for row in existing:
        slot = wanted.get((row["doctor_id"], row["starts_at"]))
        if row["used"]:
            wanted.pop((row["doctor_id"], row["starts_at"]), None)
        elif slot is None or any(getattr(slot, field) != row[field] for field in SHAPE):
            stale.append(row["id"])
        else:
            wanted.pop((row["doctor_id"], row["starts_at"]))
    removed = 0
    with transaction.atomic():
        if stale:
            # Re-checked in the statement itself: a booking may have arrived since the read.
            removed, _by_model = Slot.objects.filter(pk__in=stale, booked=0).filter(
                ~Exists(Booking.objects.filter(slot=OuterRef("pk")))
            ).delete()
        created = Slot.objects.bulk_create(wanted.values(), batch_size=2000, ignore_conflicts=True)
    return GenerationResult(created=len(created), removed=removed)


@dataclass
class LeaveResult:
    leave: LeaveBlock
    slots_closed: int
    bookings_cancelled: int


@transaction.atomic
def leave_block_create(*, by, doctor: Doctor, starts_on: date, ends_on: date, reason: str) -> LeaveResult:
    """Block `starts_on`..`ends_on` (inclusive) for `doctor`: every future slot in the range
    closes, and each booking still waiting in them is cancelled with the reason, its
    family notified.

    Only the doctor or an admin of their hospital (403). Refuses a blank reason, a range
    that ends before it starts, starts in the past or spans more than a year (400 naming
    the field).
    """
    _require_manages(by, doctor)
    reason = (reason or "").strip()
    if not reason:
        raise _invalid(_("Give a reason; booked patients will see it."), "reason", "required")
    if starts_on < timezone.localdate():
        raise _invalid(_("Leave cannot start in the past."), "starts_on")
    if ends_on < starts_on:
        raise _invalid(_("Leave must end on or after its first day."), "ends_on")
    if (ends_on - starts_on).days >= MAX_LEAVE_DAYS:
        raise _invalid(_("Leave spans at most %(days)s days; add another block for longer.") % {"days": MAX_LEAVE_DAYS},
                       "ends_on")
    leave = LeaveBlock(doctor=doctor, starts_on=starts_on, ends_on=ends_on, reason=reason, created_by=by)
    stamp(leave, by=by, reason="leave added")
    leave.save()
    affected = _future_slots_between(doctor.pk, starts_on, ends_on)
    # Close the slots first: their rows are then locked by us, so no booking can slip in
    # between reading the bookings below and cancelling them (lock order: slots, bookings).
    closed = affected.update(is_open=False, closed_reason=f"{LEAVE_CLOSED_PREFIX} {reason}"[:200])
    from consult.booking import booking_cancel

    cancelled = 0
    waiting = Booking.objects.filter(slot__in=affected, status__in=ACTIVE_BOOKING_STATUSES).exclude(status="in_consult")
    for booking in waiting.order_by("slot_id", "pk"):
        booking_cancel(by=by, booking=booking, reason=f"The doctor is on leave: {reason}")
        cancelled += 1
    return LeaveResult(leave=leave, slots_closed=closed, bookings_cancelled=cancelled)


def _future_slots_between(doctor_id: int, starts_on: date, ends_on: date):
    """The doctor's slots from now on whose start falls on `starts_on`..`ends_on` (local dates)."""
    tz = timezone.get_current_timezone()
    start = max(datetime.combine(starts_on, time.min, tzinfo=tz), timezone.now())
    end = datetime.combine(ends_on + timedelta(days=1), time.min, tzinfo=tz)
    return Slot.objects.filter(doctor_id=doctor_id, starts_at__gte=start, starts_at__lt=end)


@transaction.atomic
def leave_block_lift(*, by, leave: LeaveBlock) -> int:
    """Lift a leave that has not ended: the doctor works those dates after all.

    The future slots leave closed reopen, except those another leave of the doctor still
    covers, and generation (after commit) brings back the template slots the leave kept from
    being created. Bookings it cancelled stay cancelled: their families were told and may have
    booked elsewhere. Only the doctor or an admin of their hospital (403); a leave that is
    over stays on record (409 `leave_over`). Returns the number of slots reopened.
    """
    _require_manages(by, leave.doctor)
    leave = LeaveBlock.objects.select_for_update().filter(pk=leave.pk).first()
    if leave is None:
        raise DomainError(_("This leave has just been lifted."), code="leave_lifted", kind=Kind.CONFLICT)
    if leave.ends_on < timezone.localdate():
        raise DomainError(_("This leave is over and stays on record; only current or future leave can be lifted."),
                          code="leave_over", kind=Kind.CONFLICT)
    still_away = list(
        LeaveBlock.objects.filter(doctor_id=leave.doctor_id, ends_on__gte=leave.starts_on, starts_on__lte=leave.ends_on)
        .exclude(pk=leave.pk).values_list("starts_on", "ends_on")
    )
    closed = _future_slots_between(leave.doctor_id, leave.starts_on, leave.ends_on).filter(
        is_open=False, closed_reason__startswith=LEAVE_CLOSED_PREFIX
    )
    reopen = [pk for pk, starts_at in closed.values_list("pk", "starts_at")
              if not _on_leave(still_away, timezone.localdate(starts_at))]
    reopened = Slot.objects.filter(pk__in=reopen).update(is_open=True, closed_reason="")
    stamp(leave, by=by, reason="leave lifted")
    leave.delete()
    _regenerate_on_commit(leave.doctor_id)
    return reopened
