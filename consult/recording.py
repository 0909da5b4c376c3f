"""Recording a video consultation, with both sides' consent (互联网诊疗监管细则（试行）: audio and
video of online care are kept at least 3 years; a recording needs the informed consent of
the people recorded).

- Consent: the doctor and the patient's side (the patient or a proxy acting for them, in the
  waiting room or the call) each consent to recording *this* consultation; who and when are
  kept, and a side may withdraw its consent until a recording has started. Nothing is
  recorded unless both sides have consented.
- Recording: the doctor's browser (consult/static/consult/recording.js) records the call and
  uploads it in numbered chunks, in order; a retried chunk is accepted again without being
  stored twice. Only the consultation's doctor, while it is in progress or up to
  RECORDING_UPLOAD_GRACE_MINUTES after it ended. `recording_complete` joins the chunks into
  one file in Django's default storage, with its size, duration and SHA-256.
- Playback: the treating doctor, the patient and their proxies (consult.permissions
  may_play_recording). Every playback writes an access-log row, and the file is served only
  with the signed ticket that playback issued, so no byte of a recording leaves unlogged.
- Retention: `recordings_expired` and `recording_purge` (which deletes the stored file too)
  are what the retention registry calls (the `recordings` kind, consult.retention);
  RECORDING_RETENTION_YEARS (3) is the rule's minimum.

Every change of consent or recording is told to the room (the `recording` socket message).
"""

import hashlib
import re
import tempfile
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.audit import access_log_record
from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import require
from cloudhospital.retention import years_before
from consult import signalling
from consult.consultation import room_broadcast
from consult.models import (
    Consultation,
    ConsultationStatus,
    ConsultRecording,
    Patient,
    RecordingChunk,
    RecordingConsent,
    RecordingSide,
    RecordingStatus,
)
from consult.permissions import consultation_role, recordings_playable_by

# What MediaRecorder produces in Chromium and Firefox; the first chunk starts with the EBML
# header of a WebM file.
RECORDING_CONTENT_TYPES = ("video/webm", "audio/webm")
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
PLAYBACK_TICKET_SALT = "consult.recording.playback"
PLAYBACK_TICKET_SECONDS = 6 * 3600  # long enough to watch a long consultation, seeking included


# --- Consent -----------------------------------------------------------------------------


def _side_of(user, consultation: Consultation) -> tuple[str, str]:
    """(side, role) of a participant; anyone else: 403."""
    require("consult.consent_recording", user, consultation,
            message=_("Only the consultation's doctor, the patient or their family may consent to recording it."))
    role = consultation_role(user, consultation)
    return (RecordingSide.DOCTOR if role == "doctor" else RecordingSide.FAMILY), role


def _live_consents(consultation: Consultation) -> dict[str, RecordingConsent]:
    consents = consultation.recording_consents.filter(revoked_at__isnull=True).select_related("given_by")
    return {consent.side: consent for consent in consents}


def recording_state(consultation: Consultation) -> dict:
    """Where consent and recording stand: each side's live consent (who, when), whether both
    have consented, and the latest recording's status. What the room is told."""
    consents = _live_consents(consultation)
    latest = consultation.recordings.order_by("-started_at", "-id").first()

    def side(name):
        consent = consents.get(name)
        return None if consent is None else {"by": consent.given_by.full_name, "role": consent.role,
                                             "at": consent.given_at.isoformat()}

    return {
        "consent": {"doctor": side(RecordingSide.DOCTOR), "family": side(RecordingSide.FAMILY)},
        "both_consented": len(consents) == 2,
        "recording": None if latest is None else {"id": latest.pk, "status": latest.status},
    }


def _tell_room(consultation: Consultation) -> None:
    room_broadcast(consultation.pk, signalling.recording_event(recording_state(consultation)))


def _locked(consultation: Consultation) -> Consultation:
    return Consultation.objects.select_for_update().select_related("booking__slot__doctor", "booking__patient").get(
        pk=consultation.pk)


@transaction.atomic
def recording_consent_give(*, by, consultation: Consultation) -> RecordingConsent:
    """`by` consents, for their side, to recording this consultation. Giving it again while it
    stands changes nothing. Only participants (403); not once the consultation has ended (409
    consultation_ended)."""
    consultation = _locked(consultation)
    side, role = _side_of(by, consultation)
    if consultation.status == ConsultationStatus.ENDED:
        raise DomainError(_("The consultation has ended."), code="consultation_ended")
    consent = _live_consents(consultation).get(side)
    if consent is None:
        consent = RecordingConsent.objects.create(consultation=consultation, side=side, given_by=by, role=role)
        _tell_room(consultation)
    return consent


@transaction.atomic
def recording_consent_revoke(*, by, consultation: Consultation) -> RecordingConsent:
    """`by` withdraws their side's consent (the patient or any proxy for the family's). Only
    before a recording has started (409 recording_started); 409 no_consent when the side has
    none to withdraw; only participants (403)."""
    consultation = _locked(consultation)
    side, _role = _side_of(by, consultation)
    consent = _live_consents(consultation).get(side)
    if consent is None:
        raise DomainError(_("There is no consent to withdraw."), code="no_consent")
    if consultation.recordings.exists():
        # 互联网诊疗监管细则（试行）: what was recorded with consent is kept as the record.
        raise DomainError(_("The recording has started; consent can no longer be withdrawn for this consultation."),
                          code="recording_started")
    consent.revoked_by, consent.revoked_at = by, timezone.now()
    consent.save(update_fields=["revoked_by", "revoked_at"])
    _tell_room(consultation)
    return consent


# --- Recording: start, chunks, complete ------------------------------------------------------


def _require_recorder(by, consultation: Consultation) -> None:
    require("consult.record_consultation", by, consultation,
            message=_("Only the consultation's doctor records it."), code="not_the_doctor")


def _require_upload_window(consultation: Consultation, now: datetime) -> None:
    if consultation.status == ConsultationStatus.IN_PROGRESS:
        return
    grace = timedelta(minutes=settings.RECORDING_UPLOAD_GRACE_MINUTES)
    if consultation.status == ConsultationStatus.ENDED and consultation.ended_at and now <= consultation.ended_at + grace:
        return
    raise DomainError(_("A recording is uploaded during the consultation or within %(minutes)s minutes of its end.")
                      % {"minutes": settings.RECORDING_UPLOAD_GRACE_MINUTES}, code="upload_closed")


def _content_type(value: str) -> str:
    base = (value or "").split(";")[0].strip().lower()
    if base not in RECORDING_CONTENT_TYPES:
        raise DomainError(_("Recordings are WebM video or audio (%(types)s).") % {"types": ", ".join(RECORDING_CONTENT_TYPES)},
                          code="unsupported_media_type", field="mime_type", kind=Kind.INVALID)
    return base


@transaction.atomic
def recording_start(*, by, consultation: Consultation, mime_type: str) -> ConsultRecording:
    """The doctor's browser starts recording. Only the consultation's doctor (403), only while
    it is in progress (409 not_in_progress), only when both sides have consented (409
    doctor_consent_missing / family_consent_missing), WebM only (400 unsupported_media_type).
    A reloaded page starts a new recording; the earlier one keeps what it uploaded."""
    consultation = _locked(consultation)
    _require_recorder(by, consultation)
    if consultation.status != ConsultationStatus.IN_PROGRESS:
        raise DomainError(_("Recording starts once the patient is admitted, and not after the end."),
                          code="not_in_progress")
    consents = _live_consents(consultation)
    # 互联网诊疗监管细则（试行）: no recording without both sides' informed consent.
    if RecordingSide.DOCTOR not in consents:
        raise DomainError(_("互联网诊疗监管细则（试行）: the doctor has not consented to recording this consultation."),
                          code="doctor_consent_missing")
    if RecordingSide.FAMILY not in consents:
        raise DomainError(_("互联网诊疗监管细则（试行）: the patient or their family has not consented to recording "
                            "this consultation."), code="family_consent_missing")
    recording = ConsultRecording.objects.create(consultation=consultation, started_by=by,
                                                mime_type=_content_type(mime_type))
    _tell_room(consultation)
    return recording


def _locked_recording(recording: ConsultRecording) -> ConsultRecording:
    return ConsultRecording.objects.select_for_update().select_related(
        "consultation__booking__slot__doctor").get(pk=recording.pk)


def _digest(upload) -> tuple[str, bytes]:
    """SHA-256 of an uploaded file and its first bytes, reading it in chunks."""
    digest, head = hashlib.sha256(), b""
    upload.seek(0)
    for piece in upload.chunks():
        head = head or piece[:4]
        digest.update(piece)
    upload.seek(0)
    return digest.hexdigest(), head


def _chunk_name(recording: ConsultRecording, seq: int) -> str:
    return f"recordings/{recording.consultation_id}/{recording.pk}/chunk-{seq:06d}.part"


@transaction.atomic
def recording_chunk_add(*, by, recording: ConsultRecording, seq: int, data, content_type: str,
                        sha256: str) -> tuple[RecordingChunk, bool]:
    """Store chunk `seq` (0, 1, 2 … in order) of a recording; returns (chunk, created).

    The same chunk sent again (same number and checksum, a retry after a lost answer) is
    accepted without storing it twice (created False); a different one under a number
    already taken is a 409 chunk_conflict, a gap a 409 chunk_out_of_order naming the
    expected number. Refused: not the doctor (403), a completed recording (409
    recording_complete), outside the upload window (409 upload_closed), empty or over
    RECORDING_CHUNK_MAX_BYTES (400 chunk_too_large on `data`), not WebM (400
    unsupported_media_type), a checksum that does not match (400 checksum_mismatch), the
    recording over RECORDING_MAX_BYTES (409 recording_too_large)."""
    recording = _locked_recording(recording)
    _require_recorder(by, recording.consultation)
    if recording.status != RecordingStatus.RECORDING:
        raise DomainError(_("This recording is complete."), code="recording_complete")
    _require_upload_window(recording.consultation, timezone.now())
    size = getattr(data, "size", 0) or 0
    if not 0 < size <= settings.RECORDING_CHUNK_MAX_BYTES:
        raise DomainError(_("A chunk is 1 byte to %(max)s bytes.") % {"max": settings.RECORDING_CHUNK_MAX_BYTES},
                          code="chunk_too_large", field="data", kind=Kind.INVALID)
    if _content_type(content_type) != recording.mime_type:
        raise DomainError(_("Every chunk has the recording's type (%(type)s).") % {"type": recording.mime_type},
                          code="unsupported_media_type", field="data", kind=Kind.INVALID)
    sha256 = (sha256 or "").strip().lower()
    if not SHA256_HEX.match(sha256):
        raise DomainError(_("Send the chunk's SHA-256 as 64 hexadecimal digits."), code="invalid", field="sha256",
                          kind=Kind.INVALID)
    actual, head = _digest(data)
    if actual != sha256:
        raise DomainError(_("The chunk's SHA-256 does not match what arrived; send it again."),
                          code="checksum_mismatch", field="sha256", kind=Kind.INVALID)
    if seq > recording.chunk_count:
        raise DomainError(_("Chunks arrive in order: the next one is %(expected)s.") % {"expected": recording.chunk_count},
                          code="chunk_out_of_order", field="seq")
    if seq < recording.chunk_count:
        existing = recording.chunks.get(seq=seq)
        if existing.sha256 == sha256:
            return existing, False
        raise DomainError(_("Chunk %(seq)s has already been received with other content.") % {"seq": seq},
                          code="chunk_conflict", field="seq")
    if seq == 0 and head != WEBM_MAGIC:
        raise DomainError(_("The recording does not start as a WebM file."), code="unsupported_media_type",
                          field="data", kind=Kind.INVALID)
    if recording.size_bytes + size > settings.RECORDING_MAX_BYTES:
        raise DomainError(_("The recording is over %(max)s bytes.") % {"max": settings.RECORDING_MAX_BYTES},
                          code="recording_too_large")
    name = default_storage.save(_chunk_name(recording, seq), data)
    chunk = RecordingChunk.objects.create(recording=recording, seq=seq, size_bytes=size, sha256=sha256, file_name=name)
    recording.chunk_count += 1
    recording.size_bytes += size
    recording.save(update_fields=["chunk_count", "size_bytes"])
    return chunk, True


@transaction.atomic
def recording_complete(*, by, recording: ConsultRecording, chunks: int, duration_ms: int) -> ConsultRecording:
    """Close a recording: its `chunks` chunks, in order, become one file in default storage
    with its size, SHA-256 and the `duration_ms` the browser measured. Completing it again
    returns it unchanged. Refused: not the doctor (403), outside the upload window (409
    upload_closed), no chunk (409 recording_empty), fewer chunks received than sent (409
    chunks_missing)."""
    recording = _locked_recording(recording)
    _require_recorder(by, recording.consultation)
    if recording.status == RecordingStatus.COMPLETE:
        return recording
    _require_upload_window(recording.consultation, timezone.now())
    if recording.chunk_count == 0:
        raise DomainError(_("Nothing was recorded."), code="recording_empty")
    if chunks != recording.chunk_count:
        raise DomainError(_("%(received)s of %(sent)s chunks have arrived; send the missing ones first.")
                          % {"received": recording.chunk_count, "sent": chunks}, code="chunks_missing", field="chunks")
    parts = list(recording.chunks.order_by("seq"))
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as joined:
        for part in parts:
            with default_storage.open(part.file_name, "rb") as piece:
                while block := piece.read(1024 * 1024):
                    digest.update(block)
                    joined.write(block)
        joined.seek(0)
        name = default_storage.save(f"recordings/{recording.consultation_id}/recording-{recording.pk}.webm",
                                    File(joined))
    recording.file.name = name
    recording.sha256 = digest.hexdigest()
    recording.duration_ms = max(0, int(duration_ms))
    recording.status, recording.completed_at = RecordingStatus.COMPLETE, timezone.now()
    recording.save()
    names = [part.file_name for part in parts]
    recording.chunks.all().delete()
    # The joined file is the record; the pieces go once that is committed.
    transaction.on_commit(lambda: [default_storage.delete(n) for n in names])
    _tell_room(recording.consultation)
    return recording


# --- Playback --------------------------------------------------------------------------------


def recording_playback(viewer, recording_id) -> tuple[ConsultRecording, str]:
    """A complete recording `viewer` may play (the treating doctor, the patient, a proxy), its
    playback access-logged in the same call, with the signed ticket the file is served
    with. Anyone else's, or an unfinished one: not found."""
    recording = recordings_playable_by(viewer).select_related("consultation__booking").filter(
        pk=recording_id).first() if str(recording_id).isdigit() else None
    if recording is None:
        raise DomainError(_("No recording with this id among those you may play."), code="not_found",
                          kind=Kind.NOT_FOUND)
    # Every playback is logged, the family's own too: the recording shows the doctor as well.
    access_log_record(user=viewer, patient=Patient(pk=recording.consultation.booking.patient_id),
                      action="recording_playback",
                      reason=f"recording {recording.pk} of consultation {recording.consultation_id}")
    ticket = signing.dumps([recording.pk, viewer.pk], salt=PLAYBACK_TICKET_SALT, compress=False)
    return recording, ticket


def recording_for_ticket(viewer, recording_id, ticket: str) -> ConsultRecording:
    """The recording a playback ticket was issued for, to `viewer`, while it is fresh and
    they may still play it; otherwise not found."""
    try:
        ticket_recording, ticket_user = signing.loads(ticket or "", salt=PLAYBACK_TICKET_SALT,
                                                      max_age=PLAYBACK_TICKET_SECONDS)
    except (signing.BadSignature, ValueError, TypeError):
        ticket_recording = ticket_user = None
    recording = recordings_playable_by(viewer).filter(pk=ticket_recording).first() if (
        str(recording_id) == str(ticket_recording) and ticket_user == viewer.pk) else None
    if recording is None:
        raise DomainError(_("No recording with this id among those you may play."), code="not_found",
                          kind=Kind.NOT_FOUND)
    return recording


def recordings_of(viewer, consultation: Consultation):
    """The complete recordings of `consultation` that `viewer` may play, oldest first."""
    return recordings_playable_by(viewer).filter(consultation=consultation).order_by("started_at", "id")


# --- Retention -------------------------------------------------------------------------------


def recordings_expired(*, now: datetime | None = None):
    """Recordings past RECORDING_RETENTION_YEARS (互联网诊疗监管细则（试行）: audio/video ≥ 3 years),
    counted from the end of the consultation (its start when it never ended)."""
    cutoff = years_before(now or timezone.now(), settings.RECORDING_RETENTION_YEARS)
    return ConsultRecording.objects.filter(started_at__lt=cutoff).exclude(consultation__ended_at__gte=cutoff)


@transaction.atomic
def recording_purge(recording: ConsultRecording) -> None:
    """Delete a recording past retention: its stored file, any chunk left, and its row. The
    caller (a retention registry) decides that it is due and not under a legal hold."""
    names = [name for name in [recording.file.name, *recording.chunks.values_list("file_name", flat=True)] if name]
    recording.delete()
    transaction.on_commit(lambda: [default_storage.delete(n) for n in names])
