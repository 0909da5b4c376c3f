"""The patient's whole episode as one FHIR R4 Bundle: a composition endpoint, since the
bundle gathers every app's resources (cloudhospital.fhir)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.api.fhir_format import FHIR_VIEW, FORMAT_PARAMETER
from cloudhospital.fhir import patient_episode_bundle
from consult.selectors import record_for


class PatientFhirView(APIView):
    renderer_classes = FHIR_VIEW["renderer_classes"]
    content_negotiation_class = FHIR_VIEW["content_negotiation_class"]

    @extend_schema(
        responses={200: inline_serializer("FhirBundle", {"resourceType": serializers.CharField(), "entry": serializers.ListField(child=serializers.DictField())})},
        parameters=[OpenApiParameter("patient_pk", int, OpenApiParameter.PATH), FORMAT_PARAMETER],
        summary="The patient's episode as a FHIR R4 Bundle",
    )
    def get(self, request, patient_pk: int):
        patient = record_for(request.user, patient_pk, purpose="fhir_export")
        return Response(patient_episode_bundle(patient=patient, viewer=request.user))
