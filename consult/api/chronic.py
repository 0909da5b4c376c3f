"""Chronic-care reads: the blood-pressure trend and the whole episode as FHIR.

Patients come from "patients this user may see", so only the patient, proxies and the
doctors treating them (through a booking) get an answer; everyone else gets 404. A doctor's
read is written to the access log like any other read of the record.
"""

from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.api.serializers import CalendarDateField, StrictSerializer
from cloudhospital.fhir import patient_episode_bundle
from consult.selectors import bp_trend, patients_visible_to, record_read_log
from prescriptions.models import PrescriptionStatus
from prescriptions.selectors import prescriptions_visible_to

MAX_TREND_DAYS = 366
# Prescriptions worth marking on the chart: issued and not withdrawn.
MARKED_STATUSES = [PrescriptionStatus.SIGNED, PrescriptionStatus.APPROVED, PrescriptionStatus.DISPENSED, PrescriptionStatus.EXPIRED]


class TrendQuerySerializer(StrictSerializer):
    date_from = CalendarDateField(required=False)
    date_to = CalendarDateField(required=False)

    def validate(self, data):
        today = timezone.localdate()
        data.setdefault("date_to", today)
        data.setdefault("date_from", data["date_to"] - timedelta(days=29))
        if data["date_from"] > data["date_to"]:
            raise serializers.ValidationError({"date_from": ["Must not be after date_to."]})
        if (data["date_to"] - data["date_from"]).days >= MAX_TREND_DAYS:
            raise serializers.ValidationError({"date_from": [f"At most {MAX_TREND_DAYS} days at a time."]})
        return data


class DayAverageSerializer(serializers.Serializer):
    date = serializers.DateField()
    systolic = serializers.FloatField()
    diastolic = serializers.FloatField()
    pulse = serializers.FloatField(allow_null=True)
    readings = serializers.IntegerField()
    high = serializers.IntegerField(help_text="Readings at or above 140/90 that day.")


class ReadingSerializer(serializers.Serializer):
    measured_at = serializers.DateTimeField()
    systolic = serializers.IntegerField()
    diastolic = serializers.IntegerField()
    pulse = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()


class PrescriptionMarkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    signed_at = serializers.DateTimeField()
    status = serializers.CharField()
    drugs = serializers.ListField(child=serializers.CharField())


class BpTrendSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    readings_count = serializers.IntegerField()
    high_count = serializers.IntegerField()
    share_high = serializers.FloatField(allow_null=True, help_text="Share of readings at or above 140/90 (0-1).")
    threshold = serializers.DictField(child=serializers.IntegerField())
    days = DayAverageSerializer(many=True)
    readings = ReadingSerializer(many=True)
    prescriptions = PrescriptionMarkSerializer(many=True)


def prescription_marks(viewer, patient, date_from, date_to) -> list[dict]:
    """The prescriptions `viewer` may read that were signed in the period, to mark on the chart."""
    prescriptions = (
        prescriptions_visible_to(viewer)
        .filter(patient=patient, status__in=MARKED_STATUSES, signed_at__date__gte=date_from, signed_at__date__lte=date_to)
        .prefetch_related("items__drug")
        .order_by("signed_at")
    )
    return [
        {"id": p.pk, "signed_at": p.signed_at, "status": p.status, "drugs": [item.drug.generic_name for item in p.items.all()]}
        for p in prescriptions
    ]


class BpTrendView(APIView):
    @extend_schema(
        parameters=[TrendQuerySerializer],
        responses={200: BpTrendSerializer},
        summary="Blood-pressure trend: daily averages, share at or above 140/90, prescriptions marked",
    )
    def get(self, request, patient_pk: int):
        patient = get_object_or_404(patients_visible_to(request.user), pk=patient_pk)
        query = TrendQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        record_read_log(user=request.user, patient=patient, action="bp_trend_read")
        trend = bp_trend(patient, **query.validated_data)
        trend["patient"] = patient.pk
        trend["prescriptions"] = prescription_marks(request.user, patient, **query.validated_data)
        return Response(BpTrendSerializer(trend).data)


class PatientFhirView(APIView):
    @extend_schema(
        responses={200: inline_serializer("FhirBundle", {"resourceType": serializers.CharField(), "entry": serializers.ListField(child=serializers.DictField())})},
        parameters=[OpenApiParameter("patient_pk", int, OpenApiParameter.PATH)],
        summary="The patient's episode as a FHIR R4 Bundle",
    )
    def get(self, request, patient_pk: int):
        patient = get_object_or_404(patients_visible_to(request.user), pk=patient_pk)
        record_read_log(user=request.user, patient=patient, action="fhir_export")
        bundle = patient_episode_bundle(patient=patient, viewer=request.user, base_url=request.build_absolute_uri("/fhir"))
        return Response(bundle)
