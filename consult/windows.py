"""The booking desk's clock and capacity rules, written once and used by writes
(consult.booking, consult.consultation), reads (consult.selectors) and tasks alike:
when a slot may be booked, checked in to, joined and cancelled, when a reminder is due and
under which key it is sent, and what "a slot with a place left" means.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat

# --- Capacity -------------------------------------------------------------------------------
# A slot has a place left while it is open and fewer are booked than it holds. The booking
# write takes the place with an UPDATE filtered by exactly this (consult.booking), and the
# listings filter by it, so "bookable" means the same thing on both sides.
HAS_FREE_PLACE = Q(is_open=True, booked__lt=F("capacity"))


def places_left(slot) -> int:
    return max(slot.capacity - slot.booked, 0) if slot.is_open else 0


# --- Booking window -------------------------------------------------------------------------
def booking_window() -> timedelta:
    return timedelta(days=settings.BOOKING_WINDOW_DAYS)


def booking_window_ends(now: datetime) -> datetime:
    """The latest start a slot booked at `now` may have."""
    return now + booking_window()


def bookable_slot_filter(now: datetime) -> Q:
    """Open, with a place left, in the future and within the booking window."""
    return HAS_FREE_PLACE & Q(starts_at__gt=now, starts_at__lte=booking_window_ends(now))


# --- The family's cut-off, check-in, joining the room ---------------------------------------
def patient_cancel_cutoff() -> timedelta:
    return timedelta(minutes=settings.BOOKING_PATIENT_CANCEL_CUTOFF_MINUTES)


def patient_change_closes(slot) -> datetime:
    """After this, the patient's side can no longer cancel or reschedule online."""
    return slot.starts_at - patient_cancel_cutoff()


def check_in_opens(slot) -> datetime:
    return slot.starts_at - timedelta(minutes=settings.BOOKING_CHECK_IN_OPENS_MINUTES)


def join_window_opens(slot) -> datetime:
    """When the consultation room of a booking in `slot` opens to its participants."""
    return slot.starts_at - timedelta(minutes=settings.CONSULT_JOIN_BEFORE_MINUTES)


# --- Reminders ------------------------------------------------------------------------------
def reminder_lead() -> timedelta:
    return timedelta(minutes=settings.BOOKING_REMINDER_MINUTES_BEFORE)


def reminder_due(slot, now: datetime) -> bool:
    """A visit is reminded from BOOKING_REMINDER_MINUTES_BEFORE its start until it ends."""
    return slot.starts_at - reminder_lead() <= now < slot.ends_at


def reminder_due_filter(now: datetime) -> Q:
    """reminder_due for bookings, as a query."""
    return Q(slot__starts_at__lte=now + reminder_lead(), slot__ends_at__gt=now)


# The reminder's idempotency key. The slot is part of it: a rescheduled booking is reminded
# of its new time. Built from these parts in Python and in SQL alike.
_REMINDER_KEY = ("booking:", "booking", ":reminder:", "slot")


def reminder_key(*, booking_id: int, slot_id: int) -> str:
    values = {"booking": booking_id, "slot": slot_id}
    return "".join(str(values[part]) if part in values else part for part in _REMINDER_KEY)


def reminder_key_sql(*, booking_id, slot_id):
    """The same key as an SQL expression over two column references (e.g. OuterRef)."""
    columns = {"booking": booking_id, "slot": slot_id}
    return Concat(*(Cast(columns[part], CharField()) if part in columns else Value(part) for part in _REMINDER_KEY))
