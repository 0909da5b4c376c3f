"""Booking desk tasks: slot generation, reminders and no-show marking.

Each task takes ids, calls one domain function and is safe to run twice: reminders and
cancellation notices are keyed notifications (sent once), no-show marking goes through
the state machine (a booking already marked is skipped), and slot generation is a diff.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cloudhospital.errors import DomainError
from cloudhospital.models import Notification
from cloudhospital.notifications import notification_send
from cloudhospital.permissions import SYSTEM
from consult import booking as booking_domain
from consult import windows
from consult.models import Booking, BookingStatus
from consult.schedules import slots_generate

logger = logging.getLogger(__name__)

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(**RETRY)
def slots_generate_task(doctor_ids: list[int] | None = None) -> dict:
    """Keep the rolling window of slots in line with the templates (hourly, and after a
    schedule change for that doctor)."""
    result = slots_generate(doctor_ids=doctor_ids)
    return {"created": result.created, "removed": result.removed}


@shared_task(**RETRY)
def booking_remind(booking_id: int) -> bool:
    """Remind the patient's family of a visit starting within BOOKING_REMINDER_MINUTES_BEFORE.

    Does nothing for a booking no longer waiting, or not yet due (a beat run will come back
    to it). Sent once per booking and slot, however often the task runs.
    """
    booking = Booking.objects.select_related("patient", "slot__doctor__user", "slot__clinic").filter(pk=booking_id).first()
    if booking is None or booking.status not in (BookingStatus.BOOKED, BookingStatus.CHECKED_IN):
        return False
    if not windows.reminder_due(booking.slot, timezone.now()):
        return False
    starts = timezone.localtime(booking.slot.starts_at)
    notification_send(
        key=windows.reminder_key(booking_id=booking.pk, slot_id=booking.slot_id),
        patient=booking.patient,
        kind="booking_reminder",
        title=f"就诊提醒 Visit at {starts:%H:%M}: {booking.slot.clinic.name}",
        body=(
            f"{booking.patient.full_name}: your online visit with {booking.slot.doctor.user.full_name} "
            f"({booking.slot.clinic.name}) starts at {starts:%H:%M on %Y-%m-%d}, queue number {booking.queue_number}. "
            f"Check in to the waiting room now."
        ),
        data={"booking": booking.pk, "slot": booking.slot_id},
    )
    return True


@shared_task(**RETRY)
def booking_reminders_due() -> int:
    """Beat, every minute: queue a reminder for each waiting booking whose slot starts
    within the reminder lead time and has not been reminded yet."""
    # The same key windows.reminder_key() builds, so the unique index answers the question.
    reminded = Notification.objects.filter(
        key=windows.reminder_key_sql(booking_id=OuterRef("pk"), slot_id=OuterRef("slot_id"))
    )
    due = (
        Booking.objects.filter(windows.reminder_due_filter(timezone.now()),
                               status__in=[BookingStatus.BOOKED, BookingStatus.CHECKED_IN])
        .filter(~Exists(reminded))
        .values_list("pk", flat=True)
    )
    ids = list(due)
    for booking_id in ids:
        booking_remind.delay(booking_id)
    return len(ids)


@shared_task(**RETRY)
def booking_no_shows_mark() -> int:
    """Beat, every five minutes: bookings still only booked (never checked in)
    BOOKING_NO_SHOW_AFTER_MINUTES after their slot ended become no-shows."""
    cutoff = timezone.now() - timedelta(minutes=settings.BOOKING_NO_SHOW_AFTER_MINUTES)
    marked = 0
    for booking in Booking.objects.filter(status=BookingStatus.BOOKED, slot__ends_at__lte=cutoff).only("pk"):
        try:
            booking_domain.booking_mark_no_show(by=SYSTEM, booking=booking)
        except DomainError as exc:
            # Changed since the query (checked in, cancelled, or marked by another run).
            logger.info("booking %s not marked no-show: %s", booking.pk, exc.message)
            continue
        marked += 1
    return marked


@shared_task(**RETRY)
def booking_cancelled_notify(booking_id: int) -> bool:
    """Tell the patient's family that the clinic cancelled their booking, and why."""
    booking = Booking.objects.select_related("patient", "slot__doctor__user", "slot__clinic").filter(pk=booking_id).first()
    if booking is None or booking.status != BookingStatus.CANCELLED:
        return False
    starts = timezone.localtime(booking.slot.starts_at)
    notification_send(
        key=f"booking:{booking.pk}:cancelled",
        patient=booking.patient,
        kind="booking_cancelled",
        title=f"预约取消 Visit cancelled: {booking.slot.clinic.name} {starts:%m-%d %H:%M}",
        body=(
            f"{booking.patient.full_name}'s visit with {booking.slot.doctor.user.full_name} at "
            f"{starts:%H:%M on %Y-%m-%d} was cancelled by the clinic: {booking.cancel_reason}. "
            f"Please choose another time."
        ),
        data={"booking": booking.pk, "slot": booking.slot_id},
    )
    return True
