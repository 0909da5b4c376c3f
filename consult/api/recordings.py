"""Consult recording endpoints: each side's consent, the doctor's browser's chunked upload, and
playback. Thin: every write is one call into consult.recording; every consultation comes
from consult.permissions.consultations_visible_to and every recording from the doctor's own
consultations (uploads) or recordings_playable_by (playback), so another's id is a 404."""

import re

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.api.refusals import refuses
from cloudhospital.api.serializers import StrictSerializer
from consult import recording as recording_rules
from consult.models import ConsultRecording
from consult.permissions import consultations_visible_to

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
READ_BLOCK = 256 * 1024
MAX_DURATION_MS = 24 * 3600 * 1000  # no consultation lasts a day


class ConsentSideSerializer(serializers.Serializer):
    by = serializers.CharField(help_text="Who consented for the side.")
    role = serializers.CharField(help_text="doctor, patient or proxy.")
    at = serializers.DateTimeField()


class RecordingRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["recording", "complete"])


class ConsentsSerializer(serializers.Serializer):
    doctor = ConsentSideSerializer(allow_null=True)
    family = ConsentSideSerializer(allow_null=True, help_text="The patient's, or a proxy's for the patient.")


class RecordingStateSerializer(serializers.Serializer):
    consent = ConsentsSerializer()
    both_consented = serializers.BooleanField()
    recording = RecordingRefSerializer(allow_null=True, help_text="The latest recording, if any.")


class RecordingSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsultRecording
        fields = ["id", "consultation", "status", "mime_type", "started_at", "completed_at", "chunk_count",
                  "size_bytes", "duration_ms", "sha256"]
        read_only_fields = fields


class RecordingStartSerializer(StrictSerializer):
    mime_type = serializers.CharField(max_length=100, help_text='What MediaRecorder records, e.g. "video/webm;codecs=vp8,opus".')


class ChunkSerializer(StrictSerializer):
    data = serializers.FileField(help_text="The chunk's bytes (MediaRecorder's dataavailable blob), WebM.")
    sha256 = serializers.CharField(max_length=64, help_text="SHA-256 of the chunk, hexadecimal.")


class ChunkOutSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()


class CompleteSerializer(StrictSerializer):
    chunks = serializers.IntegerField(min_value=0, max_value=1_000_000, help_text="How many chunks the browser sent.")
    duration_ms = serializers.IntegerField(min_value=0, max_value=MAX_DURATION_MS, help_text="How long the browser recorded.")


def _consultation(request, consultation_id):
    return get_object_or_404(consultations_visible_to(request.user).select_related("booking__slot__doctor"),
                             pk=consultation_id)


def _own_recording(request, recording_id):
    """A recording of one of the requesting doctor's consultations; anyone else's: 404."""
    return get_object_or_404(ConsultRecording.objects.filter(consultation__booking__slot__doctor__user=request.user),
                             pk=recording_id)


class RecordingConsentView(APIView):
    """Consent to recording a consultation: each side gives (POST) or withdraws (DELETE) its own."""

    @extend_schema(responses={200: RecordingStateSerializer}, summary="Where consent and recording stand")
    def get(self, request, consultation_id: int):
        return Response(recording_rules.recording_state(_consultation(request, consultation_id)))

    @extend_schema(request=None, responses={200: RecordingStateSerializer},
                   summary="Consent, for your side, to recording this consultation")
    @refuses("forbidden", "consultation_ended")
    def post(self, request, consultation_id: int):
        consultation = _consultation(request, consultation_id)
        recording_rules.recording_consent_give(by=request.user, consultation=consultation)
        return Response(recording_rules.recording_state(consultation))

    @extend_schema(request=None, responses={200: RecordingStateSerializer},
                   summary="Withdraw your side's consent (before a recording starts)")
    @refuses("forbidden", "no_consent", "recording_started")
    def delete(self, request, consultation_id: int):
        consultation = _consultation(request, consultation_id)
        recording_rules.recording_consent_revoke(by=request.user, consultation=consultation)
        return Response(recording_rules.recording_state(consultation))


class RecordingListView(generics.GenericAPIView):
    """A consultation's recordings: the complete ones its doctor and family may play; the
    doctor's browser starts a new one (POST) once both sides have consented."""

    queryset = ConsultRecording.objects.none()  # for the schema and the paginator: get() picks the rows

    @extend_schema(responses={200: RecordingSerializer(many=True)}, summary="Recordings you may play")
    def get(self, request, consultation_id: int):
        consultation = _consultation(request, consultation_id)
        page = self.paginate_queryset(recording_rules.recordings_of(request.user, consultation))
        return self.get_paginated_response(RecordingSerializer(page, many=True).data)

    @extend_schema(request=RecordingStartSerializer, responses={201: RecordingSerializer},
                   summary="Doctor's browser starts recording")
    @refuses("not_the_doctor", "not_in_progress", "doctor_consent_missing", "family_consent_missing",
             "unsupported_media_type")
    def post(self, request, consultation_id: int):
        data = RecordingStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recording = recording_rules.recording_start(by=request.user, consultation=_consultation(request, consultation_id),
                                                    mime_type=data.validated_data["mime_type"])
        return Response(RecordingSerializer(recording).data, status=status.HTTP_201_CREATED)


class RecordingChunkView(APIView):
    """One chunk of a recording, numbered from 0 and sent in order; PUT again to retry."""

    parser_classes = [MultiPartParser]

    @extend_schema(request=ChunkSerializer, responses={201: ChunkOutSerializer, 200: ChunkOutSerializer},
                   summary="Upload chunk `seq` (201 stored, 200 already had it)")
    @refuses("not_the_doctor", "recording_complete", "upload_closed", "chunk_too_large", "unsupported_media_type",
             "invalid", "checksum_mismatch", "chunk_conflict", "chunk_out_of_order", "recording_too_large")
    def put(self, request, recording_id: int, seq: int):
        recording = _own_recording(request, recording_id)
        data = ChunkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["data"]
        chunk, created = recording_rules.recording_chunk_add(
            by=request.user, recording=recording, seq=seq, data=upload, content_type=upload.content_type,
            sha256=data.validated_data["sha256"])
        return Response({"seq": chunk.seq, "size_bytes": chunk.size_bytes, "sha256": chunk.sha256},
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RecordingCompleteView(APIView):
    @extend_schema(request=CompleteSerializer, responses={200: RecordingSerializer},
                   summary="Doctor's browser closes the recording (joins the chunks)")
    @refuses("not_the_doctor", "upload_closed", "recording_empty", "chunks_missing")
    def post(self, request, recording_id: int):
        recording = _own_recording(request, recording_id)
        data = CompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recording = recording_rules.recording_complete(by=request.user, recording=recording, **data.validated_data)
        return Response(RecordingSerializer(recording).data)


class RecordingPlaybackView(APIView):
    @extend_schema(request=None, responses={201: inline_serializer("RecordingPlayback", {
        "url": serializers.CharField(help_text="The file, with its ticket; Range requests supported."),
        "expires_in": serializers.IntegerField()})},
        summary="Play a recording: logged, answers the file's URL with a ticket")
    def post(self, request, recording_id: int):
        recording, ticket = recording_rules.recording_playback(request.user, recording_id)
        url = f"{reverse('recording-file', args=[recording.pk])}?ticket={ticket}"
        return Response({"url": url, "expires_in": recording_rules.PLAYBACK_TICKET_SECONDS}, status=status.HTTP_201_CREATED)


def _read(handle, start: int, length: int):
    try:
        handle.seek(start)
        while length > 0:
            block = handle.read(min(READ_BLOCK, length))
            if not block:
                break
            length -= len(block)
            yield block
    finally:
        handle.close()


class RecordingFileView(APIView):
    """The recording's file, for the holder of a fresh playback ticket (the playback page or
    POST .../playback/ issued it and logged it), with byte ranges so a player can seek."""

    def perform_content_negotiation(self, request, force=False):
        # A <video> element asks for video/*, which no JSON renderer offers: the file is the answer.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        parameters=[OpenApiParameter("ticket", str, required=True, description="From the playback."),
                    OpenApiParameter("Range", str, location=OpenApiParameter.HEADER, required=False,
                                     description='One byte range, e.g. "bytes=0-1023".')],
        responses={(200, "video/webm"): OpenApiTypes.BINARY, (206, "video/webm"): OpenApiTypes.BINARY,
                   416: OpenApiResponse(description="The range is past the end of the file.")},
        summary="The recording's file (WebM), with the playback's ticket")
    def get(self, request, recording_id: int):
        recording = recording_rules.recording_for_ticket(request.user, recording_id, request.query_params.get("ticket", ""))
        size = recording.file.size
        start, end, code = 0, size - 1, status.HTTP_200_OK
        match = RANGE.match(request.headers.get("Range", "").strip())
        if match and (match[1] or match[2]):
            if match[1]:
                start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
            else:
                start = max(0, size - int(match[2]))
            if start > end:
                return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}"})
            code = status.HTTP_206_PARTIAL_CONTENT
        response = StreamingHttpResponse(_read(recording.file.open("rb"), start, end - start + 1), status=code,
                                         content_type=recording.mime_type)
        response["Content-Length"] = str(end - start + 1)
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, no-store"
        if code == status.HTTP_206_PARTIAL_CONTENT:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
        return response
