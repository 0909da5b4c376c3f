"""Visits: a patient's booking of a slot (and, later, the consultation held for it)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords


class BookingStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in (waiting room)"
    IN_CONSULT = "in_consult", "In consultation"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# Bookings that hold a place in their slot and count against the one-a-day rule.
ACTIVE_BOOKING_STATUSES = (BookingStatus.BOOKED, BookingStatus.CHECKED_IN, BookingStatus.IN_CONSULT)


class Booking(models.Model):
    """A patient's place (queue number 序号) in a slot, made by the patient or a proxy.

    Status changes only through consult.booking, whose BOOKING_STATES table is the state machine.
    `idempotency_key` is the client's Idempotency-Key, unique per requesting user, with the
    fingerprint of the request body it came with.
    """

    patient = models.ForeignKey("consult.Patient", on_delete=models.PROTECT, related_name="bookings")
    slot = models.ForeignKey("consult.Slot", on_delete=models.PROTECT, related_name="bookings")
    queue_number = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=BookingStatus.choices, default=BookingStatus.BOOKED)
    reason = models.CharField("visit reason", max_length=500)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=80, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords(excluded_fields=["idempotency_key", "request_fingerprint"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "预约"
        verbose_name_plural = "预约"
        constraints = [
            # A cancelled booking gives its number back; every other booking keeps its own.
            models.UniqueConstraint(
                fields=["slot", "queue_number"], condition=~Q(status="cancelled"), name="unique_queue_number_in_slot"
            ),
            models.UniqueConstraint(
                fields=["booked_by", "idempotency_key"], condition=~Q(idempotency_key=""),
                name="unique_idempotency_key_per_user",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "status"], name="booking_patient_status"),
            models.Index(fields=["slot", "status"], name="booking_slot_status"),
        ]

    def __str__(self):
        return f"#{self.queue_number} {self.patient.full_name} @ {self.slot} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_BOOKING_STATUSES
