"""The consult app's kinds of record in the retention table (cloudhospital.retention).

- `online_care_records`: a booking with its consultation (the outpatient EMR of online care:
  complaint, notes, diagnosis, outcome) and what hangs off it. 互联网诊疗监管细则（试行）: kept at
  least 15 years (RETENTION_YEARS["online_care_records"]), counted from the latest of the
  booking and the consultation's end. Deleted whole; a consultation that a record kept longer
  still points at (a held prescription) is skipped.
- `chat_messages`: the consultation's text chat. 互联网诊疗监管细则（试行）: at least 3 years
  (RETENTION_YEARS["chat_messages"]) from when it was sent. Deleted; the consultation it belonged
  to is kept for its own 15 years.
- `recordings`: the call's audio/video (consult.recording). 互联网诊疗监管细则（试行）: at least 3
  years (RECORDING_RETENTION_YEARS), counted from the end of the consultation; deleted with the
  stored file by consult.recording.recording_purge. A recording points at its consultation
  (PROTECT): registered after the records, so the purge takes it first.

The patient's own record (problem list, allergies, readings) is not an online-care record
and is not purged here.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import Q

from cloudhospital.retention import RetentionKind, delete_with_history, retention_register, years_before
from consult import recording
from consult.models import Booking, ChatMessage, ConsultRecording


def _record_cutoff(now: datetime) -> datetime:
    return years_before(now, settings.RETENTION_YEARS["online_care_records"])


def online_care_records_expired(now: datetime):
    """Bookings (with their consultation) whose newest moment is older than the period."""
    cutoff = _record_cutoff(now)
    return (
        Booking.objects.filter(created_at__lt=cutoff)
        .exclude(Q(consultation__created_at__gte=cutoff) | Q(consultation__ended_at__gte=cutoff))
        .select_related("consultation")
        .order_by("created_at", "id")
    )


def online_care_record_purge(booking: Booking) -> str:
    """Delete the consultation (its chat, presences, tickets and what else cascades), then the
    booking, with their history. The consultation points at the booking (PROTECT), so it goes
    first; one transaction, so a consultation still referenced leaves the booking too."""
    consultation = getattr(booking, "consultation", None)
    if consultation is not None:
        delete_with_history([consultation])
    delete_with_history([booking])
    return "deleted"


def _record_covers(booking: Booking):
    return booking.patient_id, [booking, getattr(booking, "consultation", None)]


def chat_messages_expired(now: datetime):
    cutoff = years_before(now, settings.RETENTION_YEARS["chat_messages"])
    return ChatMessage.objects.filter(sent_at__lt=cutoff).select_related("consultation__booking").order_by("sent_at", "id")


def _chat_covers(message: ChatMessage):
    return message.consultation.booking.patient_id, [message, message.consultation, message.consultation.booking]


def _recording_covers(item: ConsultRecording):
    return item.consultation.booking.patient_id, [item, item.consultation, item.consultation.booking]


def _recording_purge(item: ConsultRecording) -> str:
    recording.recording_purge(item)
    return "deleted"


def register() -> None:
    retention_register(RetentionKind(
        name="online_care_records",
        label="Online-care records (bookings, consultations, clinical notes: outpatient EMR)",
        rule="互联网诊疗监管细则（试行）: online-care records are outpatient EMR, kept at least 15 years",
        years=lambda: settings.RETENTION_YEARS["online_care_records"],
        expired=online_care_records_expired,
        covers=_record_covers,
        purge=online_care_record_purge,
    ))
    retention_register(RetentionKind(
        name="chat_messages",
        label="Consultation chat (text and images)",
        rule="互联网诊疗监管细则（试行）: text and image chat kept at least 3 years",
        years=lambda: settings.RETENTION_YEARS["chat_messages"],
        expired=chat_messages_expired,
        covers=_chat_covers,
    ))
    retention_register(RetentionKind(
        name="recordings",
        label="Consultation audio/video recordings",
        rule="互联网诊疗监管细则（试行）: audio and video kept at least 3 years",
        years=lambda: settings.RECORDING_RETENTION_YEARS,
        expired=lambda now: recording.recordings_expired(now=now).select_related("consultation__booking").order_by("id"),
        covers=_recording_covers,
        purge=_recording_purge,
    ))
