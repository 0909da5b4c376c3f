"""Recording a video consultation: each side's consent, the recording the doctor's browser
makes once both have consented, and the chunks it uploads (consult.recording holds the rules)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class RecordingSide(models.TextChoices):
    """Who consents: the doctor, or the patient's side (the patient or a proxy acting for them)."""

    DOCTOR = "doctor", "Doctor"
    FAMILY = "family", "Patient or family"


class RecordingConsent(models.Model):
    """One side's consent to recording one consultation: who gave it, when, and whether and
    when it was withdrawn. Never deleted: a withdrawn consent keeps its row and a new consent
    is a new row, so the trail says who agreed to what."""

    consultation = models.ForeignKey("consult.Consultation", on_delete=models.CASCADE, related_name="recording_consents")
    side = models.CharField(max_length=10, choices=RecordingSide.choices)
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=10, help_text="doctor, patient or proxy: who gave it for the side.")
    given_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                   blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["given_at", "id"]
        verbose_name = "录制同意"
        verbose_name_plural = "录制同意"
        constraints = [
            models.UniqueConstraint(fields=["consultation", "side"], condition=Q(revoked_at__isnull=True),
                                    name="recording_consent_one_live_per_side"),
        ]

    def __str__(self):
        return f"{self.side} consent to recording consultation {self.consultation_id}"


class RecordingStatus(models.TextChoices):
    RECORDING = "recording", "Recording"
    COMPLETE = "complete", "Complete"


class ConsultRecording(models.Model):
    """The audio and video of a consultation as the doctor's browser recorded it (one WebM
    file: both videos side by side, both voices mixed). Chunks arrive in order while it is
    `recording`; `complete` joins them into `file` with its size and SHA-256."""

    consultation = models.ForeignKey("consult.Consultation", on_delete=models.PROTECT, related_name="recordings")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    mime_type = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=RecordingStatus.choices, default=RecordingStatus.RECORDING)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    file = models.FileField(max_length=300, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        verbose_name = "问诊录像"
        verbose_name_plural = "问诊录像"

    def __str__(self):
        return f"Recording {self.pk} of consultation {self.consultation_id} ({self.status})"


class RecordingChunk(models.Model):
    """One uploaded piece of a recording, stored on its own until the recording completes."""

    recording = models.ForeignKey(ConsultRecording, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file_name = models.CharField(max_length=300)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seq"]
        verbose_name = "录像分片"
        verbose_name_plural = "录像分片"
        constraints = [models.UniqueConstraint(fields=["recording", "seq"], name="recording_chunk_seq_unique")]
