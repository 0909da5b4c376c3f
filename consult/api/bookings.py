"""Bookings and the doctor's worklist. Thin: parse, call consult.booking, render.

A booking is found only among "bookings this user may see" (consult.selectors), so another
family's booking id is a 404; what each person may do with a visible booking (cancel,
check in, admit...) is decided by the domain function, which answers 403/409/422.
"""

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from cloudhospital.api.actions import allowed_actions_field
from cloudhospital.api import examples
from cloudhospital.api.refusals import refuses
from cloudhospital.api.filters import IdFilter
from cloudhospital.api.serializers import CalendarDateField, StrictSerializer
from consult import booking as booking_domain
from consult.api.directory import SlotSerializer
from consult.models import Booking, Patient, Slot
from consult.permissions import bookings_visible_to, patients_managed_by
from consult.selectors import booking_for, bookings_for_display, doctor_worklist

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="Repeat a request safely: the same key and body return the original booking; "
    "the same key with another body is a 422. Scoped to your account; up to 80 characters.",
)


@extend_schema_field(OpenApiTypes.INT)
class ManagedPatientField(serializers.PrimaryKeyRelatedField):
    """A patient the requesting user manages, or was a proxy of (whose revoked or expired
    consent the domain then names: 403). Anyone else's id reads as unknown (400), worded
    exactly like an id that does not exist, so ids cannot be probed."""

    def get_queryset(self):
        user = self.context["request"].user
        return Patient.objects.filter(Q(pk__in=patients_managed_by(user).values("pk")) | Q(proxy_links__proxy=user)).distinct()


class BookingCreateSerializer(StrictSerializer):
    patient = ManagedPatientField(help_text="Yourself or a family member you act for.")
    slot = serializers.PrimaryKeyRelatedField(queryset=Slot.objects.all())
    reason = serializers.CharField(max_length=500, help_text="Why the visit is needed, e.g. 复诊开药.")


class BookingCancelSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BookingRescheduleSerializer(StrictSerializer):
    slot = serializers.PrimaryKeyRelatedField(queryset=Slot.objects.all(), help_text="Another slot of the same clinic.")


class BookingPatientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class BookingSerializer(serializers.ModelSerializer):
    patient = BookingPatientSerializer()
    slot = SlotSerializer()
    allowed_actions = allowed_actions_field(booking_domain.BOOKING_ACTIONS, booking_domain.booking_allowed_actions)

    class Meta:
        model = Booking
        fields = ["id", "status", "queue_number", "reason", "patient", "slot", "created_at", "checked_in_at",
                  "started_at", "completed_at", "cancelled_at", "cancel_reason", "allowed_actions"]
        read_only_fields = fields


class BookingFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id")
    date = django_filters.DateFilter(field_name="slot__starts_at", lookup_expr="date")

    class Meta:
        model = Booking
        fields = ["status", "patient", "date"]


class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your family's bookings (a doctor: bookings of their slots). POST books a slot."""

    serializer_class = BookingSerializer
    filterset_class = BookingFilter
    lookup_value_regex = r"\d{1,18}"
    search_fields: list = []
    ordering_fields = ["created_at", "slot__starts_at"]

    def get_queryset(self):
        return bookings_for_display(bookings_visible_to(self.request.user)).order_by("-slot__starts_at", "-id")

    def retrieve(self, request, pk=None):
        booking = booking_for(request.user, pk, purpose="booking_read", queryset=self.get_queryset())
        return Response(self.get_serializer(booking).data)

    def _render(self, booking: Booking, code=status.HTTP_200_OK, **headers) -> Response:
        booking = bookings_for_display(Booking.objects.filter(pk=booking.pk)).get()
        return Response(self.get_serializer(booking).data, status=code, headers=headers or None)

    @extend_schema(request=BookingCreateSerializer, responses={201: BookingSerializer}, parameters=[IDEMPOTENCY_HEADER],
                   summary="Book a slot for yourself or a family member", examples=examples.BOOKING_CREATE)
    @refuses("guardian_required")  # consult.young_children: a child under 6 is booked by a parent or guardian
    @refuses("unknown_patient", "required", "slot_full", "slot_closed", "slot_withdrawn", "slot_in_past",
             "doctor_unlicensed", "doctor_practice_too_short", "doctor_not_registered",
             "beyond_booking_window", "doctor_unverified", "follow_up_only", "duplicate_booking",
             "idempotency_key_reused", "conflict", "consent_required", "proxy_consent_inactive")
    def create(self, request):
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > 80:
            raise serializers.ValidationError({"Idempotency-Key": [_("At most 80 characters.")]})
        data = BookingCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        booking, created = booking_domain.booking_create(by=request.user, idempotency_key=key, **data.validated_data)
        headers = {} if created else {"Idempotent-Replayed": "true"}
        return self._render(booking, status.HTTP_201_CREATED, **headers)

    @extend_schema(request=BookingCancelSerializer, responses={200: BookingSerializer}, summary="Cancel a booking")
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition", "too_late_to_cancel", "required", "conflict")
    def cancel(self, request, pk=None):
        data = BookingCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = booking_domain.booking_cancel(by=request.user, booking=self.get_object(), **data.validated_data)
        return self._render(booking)

    @extend_schema(request=BookingRescheduleSerializer, responses={200: BookingSerializer}, summary="Move to another slot")
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition", "too_late_to_reschedule", "same_slot", "other_clinic",
             "slot_full", "slot_closed", "slot_withdrawn", "slot_in_past", "beyond_booking_window",
             "doctor_unverified", "follow_up_only", "duplicate_booking", "conflict",
             "doctor_unlicensed", "doctor_practice_too_short", "doctor_not_registered")
    def reschedule(self, request, pk=None):
        data = BookingRescheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = booking_domain.booking_reschedule(by=request.user, booking=self.get_object(), new_slot=data.validated_data["slot"])
        return self._render(booking)

    @extend_schema(request=None, responses={200: BookingSerializer}, summary="Check in to the waiting room",
                   examples=examples.BOOKING_CHECK_IN)
    @action(detail=True, methods=["post"], url_path="check-in")
    @refuses("forbidden", "invalid_transition", "check_in_not_open", "check_in_closed")
    def check_in(self, request, pk=None):
        return self._render(booking_domain.booking_check_in(by=request.user, booking=self.get_object()))

    @extend_schema(request=None, responses={200: BookingSerializer}, summary="Doctor: start the consultation")
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition")
    def start(self, request, pk=None):
        return self._render(booking_domain.booking_start(by=request.user, booking=self.get_object()))

    @extend_schema(request=None, responses={200: BookingSerializer}, summary="Doctor: complete the consultation")
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "invalid_transition")
    def complete(self, request, pk=None):
        return self._render(booking_domain.booking_complete(by=request.user, booking=self.get_object()))

    @extend_schema(request=None, responses={200: BookingSerializer}, summary="Doctor: mark a no-show")
    @action(detail=True, methods=["post"], url_path="no-show")
    @refuses("forbidden", "invalid_transition", "too_early")
    def no_show(self, request, pk=None):
        return self._render(booking_domain.booking_mark_no_show(by=request.user, booking=self.get_object()))


class WorklistPatientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    age = serializers.IntegerField()
    sex = serializers.CharField()


class WorklistEntrySerializer(serializers.ModelSerializer):
    patient = WorklistPatientSerializer()
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    clinic = serializers.CharField(source="slot.clinic.name")

    class Meta:
        model = Booking
        fields = ["id", "starts_at", "ends_at", "queue_number", "clinic", "patient", "reason", "status", "checked_in_at"]
        read_only_fields = fields


class WorklistQuerySerializer(serializers.Serializer):
    date = CalendarDateField(required=False, help_text="Local date; today by default.")


@refuses("permission_denied")
@extend_schema(parameters=[WorklistQuerySerializer], summary="Doctor: my bookings for a day")
class WorklistView(generics.ListAPIView):
    """The logged-in doctor's bookings for ?date= (default today), in consulting order, with
    patient name, age, reason and status. Cancelled bookings are left out."""

    serializer_class = WorklistEntrySerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Booking.objects.none()
        doctor = getattr(self.request.user, "doctor_profile", None)
        if doctor is None:
            raise PermissionDenied(_("The worklist is for doctors."))
        query = WorklistQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return doctor_worklist(doctor, query.validated_data.get("date") or timezone.localdate())

