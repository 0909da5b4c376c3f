"""Consult recording with consent (互联网诊疗监管细则（试行）; consult.recording): both sides
consent before anything is recorded, only the consultation's doctor uploads, chunks arrive in
order and a retried one is stored once, sizes and types are checked, and only the treating
doctor and the family play it back, each playback access-logged."""

import hashlib
import os
from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from cloudhospital.errors import DomainError, Kind
from cloudhospital.models import AccessLog
from consult import consultation as consult_rules
from consult import recording
from consult.models import ConsultRecording, RecordingConsent, RecordingStatus
from tests.api_errors import error_code
from tests.consult.rooms import make_room
from tests.factories import DoctorFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
WEBM = "video/webm;codecs=vp8,opus"


def piece(first=False, size=2000) -> bytes:
    body = os.urandom(size)
    return recording.WEBM_MAGIC + body if first else body


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(data: bytes, content_type: str = "video/webm") -> SimpleUploadedFile:
    return SimpleUploadedFile("chunk.webm", data, content_type=content_type)


@pytest.fixture
def room():
    room = make_room()
    consult_rules.consultation_admit(by=room.doctor_user, consultation=room.consultation)
    room.consultation.refresh_from_db()
    return room


def consent_both(room):
    recording.recording_consent_give(by=room.doctor_user, consultation=room.consultation)
    recording.recording_consent_give(by=room.proxy, consultation=room.consultation)


def started(room) -> ConsultRecording:
    consent_both(room)
    return recording.recording_start(by=room.doctor_user, consultation=room.consultation, mime_type=WEBM)


def add(room, rec, seq, data, **extra):
    return recording.recording_chunk_add(by=extra.pop("by", room.doctor_user), recording=rec, seq=seq,
                                         data=upload(data, extra.pop("content_type", "video/webm")),
                                         content_type=extra.pop("declared", "video/webm"),
                                         sha256=extra.pop("sha256", sha(data)))


def recorded(room, parts=3) -> tuple[ConsultRecording, bytes]:
    rec = started(room)
    chunks = [piece(first=True)] + [piece() for _ in range(parts - 1)]
    for seq, data in enumerate(chunks):
        add(room, rec, seq, data)
    return recording.recording_complete(by=room.doctor_user, recording=rec, chunks=parts, duration_ms=6000), b"".join(chunks)


# --- Consent ---------------------------------------------------------------------------------


def test_recording_refuses_to_start_until_both_sides_consent(room):
    with pytest.raises(DomainError) as refused:
        recording.recording_start(by=room.doctor_user, consultation=room.consultation, mime_type=WEBM)
    assert refused.value.code == "doctor_consent_missing"
    recording.recording_consent_give(by=room.doctor_user, consultation=room.consultation)
    with pytest.raises(DomainError) as refused:
        recording.recording_start(by=room.doctor_user, consultation=room.consultation, mime_type=WEBM)
    assert refused.value.code == "family_consent_missing"
    assert "互联网诊疗监管细则" in refused.value.message
    recording.recording_consent_give(by=room.proxy, consultation=room.consultation)
    rec = recording.recording_start(by=room.doctor_user, consultation=room.consultation, mime_type=WEBM)
    assert rec.status == RecordingStatus.RECORDING and rec.mime_type == "video/webm"


def test_each_consent_says_who_and_when_and_both_sides_see_it(room, client_for):
    with time_machine.travel(timezone.now(), tick=False):
        recording.recording_consent_give(by=room.proxy, consultation=room.consultation)
        state = client_for(room.doctor_user).get(f"/api/consultations/{room.consultation.pk}/recording-consent/").json()
    assert state["consent"]["doctor"] is None and state["both_consented"] is False
    assert state["consent"]["family"]["by"] == room.proxy.full_name
    assert state["consent"]["family"]["role"] == "proxy"
    consent = RecordingConsent.objects.get()
    assert (consent.side, consent.given_by, consent.revoked_at) == ("family", room.proxy, None)
    response = client_for(room.doctor_user).post(f"/api/consultations/{room.consultation.pk}/recording-consent/")
    assert response.json()["both_consented"] is True
    assert client_for(room.proxy).get(
        f"/api/consultations/{room.consultation.pk}/recording-consent/").json()["consent"]["doctor"]["role"] == "doctor"


def test_a_withdrawn_consent_stops_the_recording_from_starting_and_keeps_its_trail(room):
    consent_both(room)
    recording.recording_consent_revoke(by=room.proxy, consultation=room.consultation)
    with pytest.raises(DomainError) as refused:
        recording.recording_start(by=room.doctor_user, consultation=room.consultation, mime_type=WEBM)
    assert refused.value.code == "family_consent_missing"
    withdrawn = RecordingConsent.objects.get(side="family")
    assert withdrawn.revoked_by == room.proxy and withdrawn.revoked_at is not None
    with pytest.raises(DomainError) as refused:
        recording.recording_consent_revoke(by=room.proxy, consultation=room.consultation)
    assert refused.value.code == "no_consent"


def test_consent_cannot_be_withdrawn_once_recording_has_started(room, client_for):
    started(room)
    response = client_for(room.proxy).delete(f"/api/consultations/{room.consultation.pk}/recording-consent/")
    assert response.status_code == 409 and error_code(response) == "recording_started"
    assert RecordingConsent.objects.filter(revoked_at__isnull=True).count() == 2


def test_only_participants_consent_and_not_after_the_end(room, client_for):
    other_doctor = DoctorFactory().user
    with pytest.raises(DomainError) as refused:
        recording.recording_consent_give(by=other_doctor, consultation=room.consultation)
    assert refused.value.kind == Kind.FORBIDDEN
    assert client_for(PatientFactory().account).post(
        f"/api/consultations/{room.consultation.pk}/recording-consent/").status_code == 404
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    response = client_for(room.proxy).post(f"/api/consultations/{room.consultation.pk}/recording-consent/")
    assert response.status_code == 409 and error_code(response) == "consultation_ended"


def test_recording_starts_only_in_a_consultation_in_progress(client_for):
    waiting = make_room()
    consent_both(waiting)
    response = client_for(waiting.doctor_user).post(f"/api/consultations/{waiting.consultation.pk}/recordings/",
                                                    {"mime_type": WEBM}, format="json")
    assert response.status_code == 409 and error_code(response) == "not_in_progress"


def test_start_refuses_the_family_and_a_type_that_is_not_webm(room, client_for):
    consent_both(room)
    url = f"/api/consultations/{room.consultation.pk}/recordings/"
    response = client_for(room.proxy).post(url, {"mime_type": WEBM}, format="json")
    assert response.status_code == 403 and error_code(response) == "not_the_doctor"
    response = client_for(room.doctor_user).post(url, {"mime_type": "video/mp4"}, format="json")
    assert response.status_code == 400 and error_code(response) == "unsupported_media_type"
    response = client_for(room.doctor_user).post(url, {"mime_type": WEBM}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "recording"


# --- Upload -----------------------------------------------------------------------------------


def chunk_url(rec, seq):
    return f"/api/recordings/{rec.pk}/chunks/{seq}/"


def put_chunk(client, rec, seq, data, content_type="video/webm", digest=None):
    return client.put(chunk_url(rec, seq), {"data": upload(data, content_type), "sha256": digest or sha(data)},
                      format="multipart")


def test_the_doctor_uploads_chunks_in_order_and_a_retried_chunk_is_stored_once(room, client_for):
    rec = started(room)
    doctor = client_for(room.doctor_user)
    first, second = piece(first=True), piece()
    assert put_chunk(doctor, rec, 0, first).status_code == 201
    retried = put_chunk(doctor, rec, 0, first)
    assert retried.status_code == 200 and retried.json()["sha256"] == sha(first)
    rec.refresh_from_db()
    assert (rec.chunk_count, rec.size_bytes) == (1, len(first))
    response = put_chunk(doctor, rec, 2, second)
    assert response.status_code == 409 and error_code(response) == "chunk_out_of_order"
    response = put_chunk(doctor, rec, 0, second)
    assert response.status_code == 409 and error_code(response) == "chunk_conflict"
    assert put_chunk(doctor, rec, 1, second).status_code == 201
    assert [c.seq for c in rec.chunks.all()] == [0, 1]


@pytest.mark.parametrize("who", ["proxy", "patient", "other_doctor"])
def test_only_the_consultations_doctor_may_upload(room, client_for, who):
    rec = started(room)
    user = {"proxy": room.proxy, "other_doctor": DoctorFactory().user}.get(who)
    if who == "patient":  # the patient with a login of their own, not the doctor
        room.patient.account = user = UserFactory(role="patient")
        room.patient.save()
    response = put_chunk(client_for(user), rec, 0, piece(first=True))
    assert response.status_code == 404
    with pytest.raises(DomainError) as refused:
        add(room, rec, 0, piece(first=True), by=user)
    assert refused.value.kind == Kind.FORBIDDEN and refused.value.code == "not_the_doctor"
    assert not rec.chunks.exists()


def test_a_doctor_cannot_upload_to_another_consultations_recording(room, client_for):
    rec = started(room)
    other = make_room()
    consult_rules.consultation_admit(by=other.doctor_user, consultation=other.consultation)
    assert put_chunk(client_for(other.doctor_user), rec, 0, piece(first=True)).status_code == 404
    assert client_for(other.doctor_user).post(f"/api/recordings/{rec.pk}/complete/", {"chunks": 0, "duration_ms": 1},
                                              format="json").status_code == 404


def test_size_type_and_checksum_are_checked(room, client_for, settings):
    settings.RECORDING_CHUNK_MAX_BYTES = 4096
    rec = started(room)
    doctor = client_for(room.doctor_user)
    response = put_chunk(doctor, rec, 0, piece(first=True, size=5000))
    assert response.status_code == 400 and error_code(response) == "chunk_too_large"
    response = put_chunk(doctor, rec, 0, piece(first=True), content_type="image/png")
    assert response.status_code == 400 and error_code(response) == "unsupported_media_type"
    response = put_chunk(doctor, rec, 0, piece(first=False))  # not a WebM file's start
    assert response.status_code == 400 and error_code(response) == "unsupported_media_type"
    response = put_chunk(doctor, rec, 0, piece(first=True), digest="0" * 64)
    assert response.status_code == 400 and error_code(response) == "checksum_mismatch"
    assert not rec.chunks.exists()


def test_the_whole_recording_is_size_limited(room, settings):
    settings.RECORDING_MAX_BYTES = 3000
    rec = started(room)
    add(room, rec, 0, piece(first=True, size=2000))
    with pytest.raises(DomainError) as refused:
        add(room, rec, 1, piece(size=2000))
    assert refused.value.code == "recording_too_large"


def test_uploads_close_a_while_after_the_end(room, settings):
    rec = started(room)
    add(room, rec, 0, piece(first=True))
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    add(room, rec, 1, piece())  # just ended: the last pieces still arrive
    later = timezone.now() + timedelta(minutes=settings.RECORDING_UPLOAD_GRACE_MINUTES + 1)
    with time_machine.travel(later, tick=False):
        with pytest.raises(DomainError) as refused:
            add(room, rec, 2, piece())
    assert refused.value.code == "upload_closed"


def test_complete_joins_the_chunks_with_size_and_checksum(room, client_for):
    rec = started(room)
    chunks = [piece(first=True), piece(), piece()]
    for seq, data in enumerate(chunks):
        add(room, rec, seq, data)
    url = f"/api/recordings/{rec.pk}/complete/"
    response = client_for(room.doctor_user).post(url, {"chunks": 4, "duration_ms": 6000}, format="json")
    assert response.status_code == 409 and error_code(response) == "chunks_missing"
    response = client_for(room.doctor_user).post(url, {"chunks": 3, "duration_ms": 6000}, format="json")
    assert response.status_code == 200, response.content
    body, whole = response.json(), b"".join(chunks)
    assert (body["status"], body["size_bytes"], body["sha256"], body["duration_ms"]) == (
        "complete", len(whole), sha(whole), 6000)
    rec.refresh_from_db()
    with default_storage.open(rec.file.name) as stored:
        assert stored.read() == whole
    assert not rec.chunks.exists()
    again = client_for(room.doctor_user).post(url, {"chunks": 3, "duration_ms": 6000}, format="json")
    assert again.status_code == 200 and again.json()["sha256"] == sha(whole)
    response = put_chunk(client_for(room.doctor_user), rec, 3, piece())
    assert response.status_code == 409 and error_code(response) == "recording_complete"


def test_an_empty_recording_cannot_be_completed(room):
    rec = started(room)
    with pytest.raises(DomainError) as refused:
        recording.recording_complete(by=room.doctor_user, recording=rec, chunks=0, duration_ms=0)
    assert refused.value.code == "recording_empty"


def test_the_room_is_told_of_every_consent_change(room, monkeypatch):
    sent = []
    monkeypatch.setattr(recording, "room_broadcast", lambda cid, event: sent.append((cid, event)))
    recording.recording_consent_give(by=room.proxy, consultation=room.consultation)
    recording.recording_consent_give(by=room.proxy, consultation=room.consultation)  # standing: nothing new
    recording.recording_consent_give(by=room.doctor_user, consultation=room.consultation)
    assert [(cid, e["type"], e["both_consented"]) for cid, e in sent] == [
        (room.consultation.pk, "recording", False), (room.consultation.pk, "recording", True)]


# --- Playback ---------------------------------------------------------------------------------


def test_the_treating_doctor_and_the_family_play_it_and_each_playback_is_logged(room, client):
    rec, whole = recorded(room)
    for viewer in (room.doctor_user, room.proxy, room.doctor_user):
        client.force_login(viewer)
        page = client.get(reverse("consult-recording-play", args=[rec.pk]))
        assert page.status_code == 200
        media = page.context["media_url"]
        response = client.get(media)
        assert response.status_code == 200 and response["Content-Type"] == "video/webm"
        assert b"".join(response.streaming_content) == whole
    rows = list(AccessLog.objects.order_by("id").values_list("user", "patient", "action", "reason"))
    reason = f"recording {rec.pk} of consultation {room.consultation.pk}"
    assert rows == [(u.pk, room.patient.pk, "recording_playback", reason)
                    for u in (room.doctor_user, room.proxy, room.doctor_user)]


def test_the_file_is_served_in_ranges_for_seeking(room, client):
    rec, whole = recorded(room)
    client.force_login(room.proxy)
    media = client.get(reverse("consult-recording-play", args=[rec.pk])).context["media_url"]
    response = client.get(media, HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206 and response["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert b"".join(response.streaming_content) == whole[100:200]
    assert client.get(media, HTTP_RANGE=f"bytes={len(whole) + 5}-").status_code == 416


def test_everyone_else_is_refused_playback_and_leaves_no_log(room, client, client_for):
    rec, _ = recorded(room)
    client.force_login(room.proxy)
    media = client.get(reverse("consult-recording-play", args=[rec.pk])).context["media_url"]
    seen = AccessLog.objects.count()  # the log is append-only (a trigger refuses DELETE on PostgreSQL)
    for outsider in (PatientFactory().account, DoctorFactory().user):
        client.force_login(outsider)
        assert client.get(reverse("consult-recording-play", args=[rec.pk])).status_code == 404
        assert client.get(media).status_code == 404  # another person's ticket is no key
        assert client_for(outsider).post(f"/api/recordings/{rec.pk}/playback/").status_code == 404
        assert client_for(outsider).get(f"/api/consultations/{room.consultation.pk}/recordings/").status_code == 404
    client.logout()
    assert client.get(media).status_code in (401, 403)  # not logged in: the ticket alone is no key
    assert AccessLog.objects.count() == seen


def test_the_file_needs_a_playback_ticket(room, client):
    rec, _ = recorded(room)
    client.force_login(room.doctor_user)
    url = reverse("recording-file", args=[rec.pk])
    assert client.get(url).status_code == 404
    assert client.get(f"{url}?ticket=forged").status_code == 404
    assert not AccessLog.objects.exists()


def test_an_unfinished_recording_is_not_played(room, client):
    rec = started(room)
    add(room, rec, 0, piece(first=True))
    client.force_login(room.doctor_user)
    assert client.get(reverse("consult-recording-play", args=[rec.pk])).status_code == 404


def test_the_api_playback_logs_and_answers_a_working_url(room, client_for, client):
    rec, whole = recorded(room)
    response = client_for(room.proxy).post(f"/api/recordings/{rec.pk}/playback/")
    assert response.status_code == 201
    assert list(AccessLog.objects.values_list("user", "action")) == [(room.proxy.pk, "recording_playback")]
    client.force_login(room.proxy)
    assert b"".join(client.get(response.json()["url"]).streaming_content) == whole
    listed = client_for(room.proxy).get(f"/api/consultations/{room.consultation.pk}/recordings/").json()
    assert [r["id"] for r in listed["results"]] == [rec.pk]


# --- Pages ------------------------------------------------------------------------------------


def test_the_room_panel_shows_both_sides_and_takes_consent(room, client):
    client.force_login(room.proxy)
    url = reverse("consult-recording-panel", args=[room.consultation.pk])
    page = client.get(url).content.decode()
    assert 'id="recording-consent-doctor" data-consented="false"' in page and 'value="consent"' in page
    page = client.post(url, {"action": "consent"}).content.decode()
    assert 'id="recording-consent-family" data-consented="true"' in page and 'value="withdraw"' in page
    client.force_login(room.doctor_user)
    page = client.get(url).content.decode()
    assert 'id="recording-consent-family" data-consented="true"' in page
    assert room.proxy.full_name in page


def test_the_panel_shows_a_refusal_and_is_not_found_for_outsiders(room, client):
    started(room)
    client.force_login(room.proxy)
    url = reverse("consult-recording-panel", args=[room.consultation.pk])
    response = client.post(url, {"action": "withdraw"})
    assert response.status_code == 409 and "can no longer be withdrawn" in response.content.decode()
    client.force_login(PatientFactory().account)
    assert client.get(url).status_code == 404


def test_the_panel_links_the_recordings_to_play(room, client):
    rec, _ = recorded(room)
    consult_rules.consultation_end(by=room.doctor_user, consultation=room.consultation)
    client.force_login(room.proxy)
    page = client.get(reverse("consult-recording-panel", args=[room.consultation.pk])).content.decode()
    assert reverse("consult-recording-play", args=[rec.pk]) in page
    assert 'value="consent"' not in page  # ended: nothing more to consent to


# --- Retention --------------------------------------------------------------------------------


def test_recordings_past_three_years_are_purged_with_their_file(room, settings, django_capture_on_commit_callbacks):
    rec, _ = recorded(room)
    name = rec.file.name
    assert settings.RECORDING_RETENTION_YEARS == 3
    assert not recording.recordings_expired().exists()
    with time_machine.travel(timezone.now() + timedelta(days=3 * 365 - 2), tick=False):
        assert not recording.recordings_expired().exists()
    with time_machine.travel(timezone.now() + timedelta(days=3 * 366 + 1), tick=False):
        expired = list(recording.recordings_expired())
        assert expired == [rec]
        with django_capture_on_commit_callbacks(execute=True):
            recording.recording_purge(expired[0])
    assert not ConsultRecording.objects.exists()
    assert not default_storage.exists(name)


def test_purge_expired_deletes_recordings_with_their_file_but_not_under_a_legal_hold(settings,
                                                                                     django_capture_on_commit_callbacks):
    from cloudhospital.retention import legal_hold_place, retention_purge

    held_room, free_room = make_room(), make_room()
    for r in (held_room, free_room):
        consult_rules.consultation_admit(by=r.doctor_user, consultation=r.consultation)
        r.consultation.refresh_from_db()
    held, _ = recorded(held_room)
    free, _ = recorded(free_room)
    legal_hold_place(by=UserFactory(role="hospital_admin", is_staff=True), reason="complaint under review",
                     target=held_room.consultation)
    with time_machine.travel(timezone.now() + timedelta(days=3 * 366 + 1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            run = retention_purge(kinds=["recordings"])
    counts = next(k for k in run.report if k["kind"] == "recordings")
    assert (counts["past_retention"], counts["purged"], counts["held"]) == (2, 1, 1)
    assert list(ConsultRecording.objects.all()) == [held]
    assert default_storage.exists(held.file.name) and not default_storage.exists(free.file.name)


WRITES = {
    "recording_consent_give": lambda room, rec, by: recording.recording_consent_give(by=by, consultation=room.consultation),
    "recording_consent_revoke": lambda room, rec, by: recording.recording_consent_revoke(by=by, consultation=room.consultation),
    "recording_start": lambda room, rec, by: recording.recording_start(by=by, consultation=room.consultation, mime_type=WEBM),
    "recording_chunk_add": lambda room, rec, by: add(room, rec, 0, piece(first=True), by=by),
    "recording_complete": lambda room, rec, by: recording.recording_complete(by=by, recording=rec, chunks=1, duration_ms=1),
}


@pytest.mark.parametrize("actor", ["nobody", "stranger", "other_doctor"])
@pytest.mark.parametrize("name", sorted(WRITES))
def test_every_recording_write_refuses_a_wrong_actor(room, name, actor):
    rec = started(room)
    by = {"nobody": None, "stranger": PatientFactory().account, "other_doctor": DoctorFactory().user}[actor]
    with pytest.raises(DomainError) as refused:
        WRITES[name](room, rec, by)
    assert refused.value.kind == Kind.FORBIDDEN


def test_every_recording_write_function_has_a_wrong_actor_case():
    import inspect

    writes = {name for name, f in inspect.getmembers(recording, inspect.isfunction)
              if f.__module__ == recording.__name__ and not name.startswith("_") and "by" in inspect.signature(f).parameters}
    assert writes == set(WRITES)
