"""The blood-pressure trend with the prescriptions marked on it.

It lives with prescriptions because it overlays them on consult's readings (prescriptions
builds on consult, never the other way). The patient comes from consult.selectors.record_for,
so only the patient, proxies and the doctors treating them get an answer (everyone else
404), and the read is access-logged in the same call.
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.api.serializers import CalendarDateField, StrictSerializer
from consult.selectors import bp_trend, record_for
from prescriptions.models import PrescriptionStatus
from prescriptions.permissions import prescriptions_visible_to

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
            raise serializers.ValidationError({"date_from": [_("Must not be after date_to.")]})
        if (data["date_to"] - data["date_from"]).days >= MAX_TREND_DAYS:
            raise serializers.ValidationError({"date_from": [_("At most %(days)s days at a time.") % {"days": MAX_TREND_DAYS}]})
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
        query = TrendQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        patient = record_for(request.user, patient_pk, purpose="bp_trend_read")
        trend = bp_trend(patient, **query.validated_data)
        trend["patient"] = patient.pk
        trend["prescriptions"] = prescription_marks(request.user, patient, **query.validated_data)
        return Response(BpTrendSerializer(trend).data)
