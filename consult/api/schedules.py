"""Schedule templates and leave, for doctors (their own) and hospital admins (their
hospital's doctors). Thin: parse, call consult.schedules, render."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

import django_filters
from django.utils.translation import gettext as _

from cloudhospital.api.filters import IdFilter
from cloudhospital.api.refusals import refuses
from cloudhospital.api.serializers import CalendarDateField, StrictModelSerializer, StrictSerializer
from consult import schedules
from consult.models import Clinic, Doctor, LeaveBlock, ScheduleTemplate
from consult.permissions import doctors_managed_by


@extend_schema_field(OpenApiTypes.INT)
class ManagedDoctorField(serializers.PrimaryKeyRelatedField):
    """A doctor whose schedule the requesting user may change; anyone else's id reads as unknown."""

    def get_queryset(self):
        return doctors_managed_by(self.context["request"].user)


class ScheduleTemplateSerializer(StrictModelSerializer):
    doctor = ManagedDoctorField(required=False, help_text="Defaults to yourself when you are a doctor.")
    clinic = serializers.PrimaryKeyRelatedField(queryset=Clinic.objects.filter(is_active=True))
    fee = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, min_value=0,
                                   help_text="Defaults to the doctor's fee.")

    class Meta:
        model = ScheduleTemplate
        fields = ["id", "doctor", "clinic", "weekday", "start_time", "end_time", "slot_minutes", "capacity", "fee", "active"]
        read_only_fields = ["id"]
        extra_kwargs = {"active": {"required": False}}


class ScheduleTemplateFilter(django_filters.FilterSet):
    doctor = IdFilter(field_name="doctor_id")
    clinic = IdFilter(field_name="clinic_id")

    class Meta:
        model = ScheduleTemplate
        fields = ["doctor", "clinic", "weekday", "active"]


class ScheduleTemplateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    mixins.DestroyModelMixin, viewsets.GenericViewSet,
):
    """Weekly sessions of the doctors whose schedule you manage. Creating or changing one
    (re)generates its slots for the rolling window; booked slots are never removed."""

    serializer_class = ScheduleTemplateSerializer
    filterset_class = ScheduleTemplateFilter
    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        managed = doctors_managed_by(self.request.user)
        return ScheduleTemplate.objects.filter(doctor__in=managed.values("pk")).select_related("doctor", "clinic").order_by(
            "doctor_id", "weekday", "start_time"
        )

    def _own_doctor(self) -> Doctor:
        doctor = getattr(self.request.user, "doctor_profile", None)
        if doctor is None:
            raise serializers.ValidationError({"doctor": [_("Name the doctor whose session this is.")]})
        return doctor

    @refuses("forbidden", "invalid", "required", "not_in_clinic", "overlapping_session")
    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields.pop("active", None)
        doctor = fields.pop("doctor", None) or self._own_doctor()
        template = schedules.schedule_template_create(by=request.user, doctor=doctor, **fields)
        return Response(self.get_serializer(template).data, status=status.HTTP_201_CREATED)

    @refuses("forbidden", "invalid", "required", "not_in_clinic", "overlapping_session")
    def partial_update(self, request, *args, **kwargs):
        template = self.get_object()
        data = self.get_serializer(template, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "doctor" in changes and changes["doctor"].pk != template.doctor_id:
            raise serializers.ValidationError({"doctor": [_("A session cannot move to another doctor; add a new one.")]})
        changes.pop("doctor", None)
        template = schedules.schedule_template_update(by=request.user, template=template, **changes)
        return Response(self.get_serializer(template).data)

    @refuses("forbidden")
    def destroy(self, request, *args, **kwargs):
        schedules.schedule_template_delete(by=request.user, template=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeaveSerializer(serializers.ModelSerializer):
    doctor = serializers.IntegerField(source="doctor_id")

    class Meta:
        model = LeaveBlock
        fields = ["id", "doctor", "starts_on", "ends_on", "reason", "created_at"]
        read_only_fields = fields


class LeaveCreateSerializer(StrictSerializer):
    doctor = ManagedDoctorField(required=False, help_text="Defaults to yourself when you are a doctor.")
    starts_on = CalendarDateField()
    ends_on = CalendarDateField()
    reason = serializers.CharField(max_length=200)


class LeaveResultSerializer(LeaveSerializer):
    slots_closed = serializers.IntegerField()
    bookings_cancelled = serializers.IntegerField()

    class Meta(LeaveSerializer.Meta):
        fields = [*LeaveSerializer.Meta.fields, "slots_closed", "bookings_cancelled"]
        read_only_fields = fields


class LeaveLiftedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slots_reopened = serializers.IntegerField(help_text="Closed slots open for booking again; generation adds the rest.")


class LeaveFilter(django_filters.FilterSet):
    doctor = IdFilter(field_name="doctor_id")

    class Meta:
        model = LeaveBlock
        fields = ["doctor"]


class LeaveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leave of the doctors whose schedule you manage. POST blocks a date range: its slots
    close and every waiting booking is cancelled with the reason, the family notified.
    DELETE lifts a leave that has not ended: its slots reopen (cancelled bookings stay so)."""

    serializer_class = LeaveSerializer
    filterset_class = LeaveFilter
    lookup_value_regex = r"\d{1,18}"

    def get_queryset(self):
        managed = doctors_managed_by(self.request.user)
        return LeaveBlock.objects.filter(doctor__in=managed.values("pk")).order_by("-starts_on", "-id")

    @extend_schema(request=LeaveCreateSerializer, responses={201: LeaveResultSerializer}, summary="Block dates (leave)")
    @refuses("forbidden", "invalid", "required")
    def create(self, request):
        data = LeaveCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        doctor = fields.pop("doctor", None) or getattr(request.user, "doctor_profile", None)
        if doctor is None:
            raise serializers.ValidationError({"doctor": [_("Name the doctor who is on leave.")]})
        result = schedules.leave_block_create(by=request.user, doctor=doctor, **fields)
        leave = result.leave
        leave.slots_closed, leave.bookings_cancelled = result.slots_closed, result.bookings_cancelled
        return Response(LeaveResultSerializer(leave).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: LeaveLiftedSerializer}, summary="Lift a leave (the doctor works after all)")
    @refuses("forbidden", "leave_over", "leave_lifted")
    def destroy(self, request, pk=None):
        leave = self.get_object()
        reopened = schedules.leave_block_lift(by=request.user, leave=leave)
        return Response({"id": int(pk), "slots_reopened": reopened})
