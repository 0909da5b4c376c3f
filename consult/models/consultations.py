"""The video consultation held for a booking, its chat, and who is in the room."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class ConsultationStatus(models.TextChoices):
    WAITING = "waiting", "Waiting room"
    IN_PROGRESS = "in_progress", "In progress"
    ENDED = "ended", "Ended"


class ConsultationOutcome(models.TextChoices):
    """How the doctor closed the visit: done online, or sent to be seen in person."""

    COMPLETED = "completed", "Completed online"
    REFERRED_OFFLINE = "referred_offline", "Referred for an in-person visit"


class Consultation(models.Model):
    """One per booking. Only the booking's doctor writes the clinical fields; the patient
    and proxies read them once the consultation has ended."""

    booking = models.OneToOneField("consult.Booking", on_delete=models.PROTECT, related_name="consultation")
    status = models.CharField(max_length=12, choices=ConsultationStatus.choices, default=ConsultationStatus.WAITING)
    admitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    chief_complaint = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True, max_length=20000)
    diagnosis = models.JSONField(
        default=list, blank=True, help_text='ICD-10 diagnoses: [{"code": "I10", "name": "Essential hypertension"}].'
    )
    follow_up_advice = models.TextField(blank=True, max_length=5000)
    follow_up_interval_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="When the family should come back, in days from the visit (none: as needed).")
    outcome = models.CharField(max_length=20, choices=ConsultationOutcome.choices, blank=True,
                               help_text="Set when the consultation ends; blank before.")
    referral_reason = models.TextField(blank=True, max_length=2000,
                                       help_text="Why the doctor referred the patient to an in-person visit.")
    referral_department = models.CharField(max_length=80, blank=True,
                                           help_text="The department the doctor suggests for the in-person visit.")
    # The doctor's judgement that this is a follow-up of a condition diagnosed offline
    # (互联网诊疗管理办法（试行）): without it no prescription is written (consult.follow_up).
    follow_up_condition = models.ForeignKey("consult.Condition", null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="follow_up_consultations")
    follow_up_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                               on_delete=models.PROTECT, related_name="+")
    follow_up_confirmed_at = models.DateTimeField(null=True, blank=True)
    # A child under ONLINE_CARE_GUARDIAN_AGE is admitted only once the doctor confirms a
    # guardian is present (互联网诊疗管理办法（试行） art. 19; consult.young_children).
    guardian_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                              on_delete=models.PROTECT, related_name="+")
    guardian_confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "问诊"
        verbose_name_plural = "问诊"

    def __str__(self):
        return f"Consultation {self.pk} for booking {self.booking_id} ({self.status})"


class ChatMessage(models.Model):
    """A text message sent in the consultation room; kept as part of the record."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=10)
    text = models.TextField(max_length=4000)
    sent_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["sent_at", "id"]
        verbose_name = "聊天消息"
        verbose_name_plural = "聊天消息"

    def __str__(self):
        return f"{self.role}: {self.text[:40]}"


class RoomPresence(models.Model):
    """An open signalling socket. Kept in the database, not in process memory, so that two
    server processes behind a load balancer agree on who is in the room."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10)
    channel_name = models.CharField(max_length=200, unique=True)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["joined_at", "id"]
        verbose_name = "在线状态"
        verbose_name_plural = "在线状态"
