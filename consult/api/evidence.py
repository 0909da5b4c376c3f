"""The offline diagnosis's evidence (门诊病历, 出院小结) on a condition: the family uploads a
file; the family and the treating doctor open it. Thin: the upload is one call into
consult.follow_up.evidence_add, the open one call into consult.follow_up.evidence_open (which
writes the access log); another patient's ids are a 404, as everywhere in the record."""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.api.refusals import refuses
from cloudhospital.api.serializers import StrictSerializer
from cloudhospital.errors import DomainError
from consult import follow_up
from consult.api.serializers import ConditionEvidenceSerializer
from consult.models import Condition, ConditionEvidence, EvidenceKind
from consult.permissions import patients_visible_to
from consult.selectors import record_for


class EvidenceUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="A JPEG, PNG or PDF (checked by content), at most FOLLOW_UP_EVIDENCE_MAX_BYTES.")
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, required=False, default=EvidenceKind.OUTPATIENT_RECORD)


class ConditionEvidenceView(generics.GenericAPIView):
    """The evidence of where the condition was diagnosed in person: read by the family and the
    treating doctor (access-logged), added by the family only."""

    parser_classes = [MultiPartParser]
    queryset = ConditionEvidence.objects.none()  # for the schema and the paginator: get() picks the rows

    @extend_schema(responses={200: ConditionEvidenceSerializer(many=True)}, summary="A condition's evidence files")
    def get(self, request, patient_pk: int, condition_pk: int):
        try:
            patient = record_for(request.user, patient_pk, purpose="condition_evidence_read")
        except DomainError:
            raise Http404("No such patient.") from None
        condition = get_object_or_404(Condition, pk=condition_pk, patient=patient)
        page = self.paginate_queryset(condition.evidence.select_related("condition").order_by("uploaded_at", "id"))
        return self.get_paginated_response(ConditionEvidenceSerializer(page, many=True).data)

    @extend_schema(request=EvidenceUploadSerializer, responses={201: ConditionEvidenceSerializer},
                   summary="Attach the outpatient record or discharge summary to a condition")
    @refuses("forbidden", "required", "invalid", "file_too_large", "file_type_not_allowed")
    def post(self, request, patient_pk: int, condition_pk: int):
        patient = get_object_or_404(patients_visible_to(request.user), pk=patient_pk)
        condition = get_object_or_404(Condition, pk=condition_pk, patient=patient)
        data = EvidenceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = follow_up.evidence_add(by=request.user, condition=condition, **data.validated_data)
        return Response(ConditionEvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class ConditionEvidenceFileView(APIView):
    """The evidence file itself, for the patient's family and the treating doctor; logged."""

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
                   summary="Open an evidence file (access-logged)")
    def get(self, request, patient_pk: int, pk: int):
        try:
            evidence = follow_up.evidence_open(by=request.user, patient_id=patient_pk, evidence_id=pk)
        except DomainError:
            raise Http404("No such evidence file.") from None
        return evidence_response(evidence)


def evidence_response(evidence) -> FileResponse:
    """The stored file with its checked type, shown inline, never cached by a shared cache."""
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}.{follow_up.EVIDENCE_TYPES[evidence.content_type]}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
