"""Consultation endpoints: the record of the video consult, its chat, tickets and ICE servers.

Thin: every write is one call into consult.consultation; every object comes from
consult.selectors.consultations_visible_to, so another person's consultation is a 404.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cloudhospital import step_up
from cloudhospital.api.actions import allowed_actions_field
from cloudhospital.api.refusals import refuses
from cloudhospital.api.serializers import StrictSerializer
from consult import consultation as consult_rules
from consult import follow_up
from consult import doctor_identity
from consult import signalling
from consult.models import ChatMessage, Consultation, ConsultationOutcome
from consult.permissions import bookings_openable_by, consultation_role, consultations_visible_to
from consult.api.serializers import DiagnosisOutSerializer
from consult.selectors import consultation_for


class AdmitSerializer(StrictSerializer):
    otp = serializers.CharField(
        max_length=12, required=False, allow_blank=True,
        help_text="The doctor's authenticator code, when this token has not proved its second factor within "
        "DOCTOR_REAUTH_WINDOW_MINUTES (互联网诊疗监管细则（试行）: the doctor's identity is verified before each consult).")
    guardian_present = serializers.BooleanField(
        required=False, default=False,
        help_text="For a child under ONLINE_CARE_GUARDIAN_AGE: the doctor confirms a parent or legal guardian is "
        "present (互联网诊疗管理办法（试行） art. 19); refused with guardian_not_confirmed without it.")


class DiagnosisSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=10)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)


class ConsultationSerializer(serializers.ModelSerializer):
    patient = serializers.SerializerMethodField()
    doctor = serializers.SerializerMethodField()
    slot_starts_at = serializers.DateTimeField(source="booking.slot.starts_at", read_only=True)
    booking_status = serializers.CharField(source="booking.status", read_only=True)
    your_role = serializers.SerializerMethodField()
    diagnosis = DiagnosisOutSerializer(many=True, read_only=True)
    outcome = serializers.ChoiceField(
        choices=ConsultationOutcome.choices, allow_blank=True, read_only=True,
        help_text="How the visit ended: blank while it runs (and for the family until it has ended).")
    allowed_actions = allowed_actions_field(consult_rules.CONSULTATION_ACTIONS, consult_rules.consultation_allowed_actions)

    class Meta:
        model = Consultation
        fields = [
            "id", "booking", "booking_status", "patient", "doctor", "slot_starts_at", "status", "your_role",
            "admitted_at", "started_at", "ended_at", "chief_complaint", "notes", "diagnosis", "follow_up_advice",
            "follow_up_interval_days", "outcome", "referral_reason", "referral_department", "follow_up_condition",
            "follow_up_confirmed_at", "guardian_confirmed_at", "allowed_actions",
        ]
        read_only_fields = fields

    def get_patient(self, obj) -> dict:
        patient = obj.booking.patient
        return {"id": patient.pk, "full_name": patient.full_name, "age": patient.age, "sex": patient.sex}

    def get_doctor(self, obj) -> dict:
        doctor = obj.booking.slot.doctor
        return {"id": doctor.pk, "name": doctor.user.full_name, "title": doctor.title}

    def get_your_role(self, obj) -> str | None:
        return consultation_role(self.context["request"].user, obj)

    def to_representation(self, obj):
        data = super().to_representation(obj)
        if not consult_rules.clinical_fields_visible(role=data["your_role"], consultation=obj):
            for field in consult_rules.CLINICAL_FIELDS:
                data[field] = {"diagnosis": [], "follow_up_interval_days": None}.get(field, "")
        return data


class ConsultationOpenSerializer(StrictSerializer):
    booking = serializers.IntegerField(min_value=1)


class ConsultationRecordSerializer(StrictSerializer):
    chief_complaint = serializers.CharField(max_length=500, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    diagnosis = DiagnosisSerializer(many=True, required=False)
    follow_up_advice = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    follow_up_interval_days = serializers.IntegerField(
        min_value=consult_rules.FOLLOW_UP_DAYS[0], max_value=consult_rules.FOLLOW_UP_DAYS[1], required=False,
        allow_null=True, help_text="Come back in this many days; null: as needed.")


class ConsultationReferSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=consult_rules.REFERRAL_REASON_MAX, allow_blank=True,
                                   help_text="Why the patient should be seen in person; the family reads it.")
    department = serializers.CharField(max_length=follow_up.DEPARTMENT_MAX, allow_blank=True, required=False,
                                       help_text="The department the patient should visit in person (required).")


class FollowUpConfirmSerializer(StrictSerializer):
    condition = serializers.IntegerField(
        min_value=1, help_text="The patient's active condition, diagnosed offline, that this visit follows up.")


class ChatMessageSerializer(serializers.ModelSerializer):
    sender = serializers.CharField(source="sender.full_name", read_only=True)

    class Meta:
        model = ChatMessage
        fields = ["id", "sender", "role", "text", "sent_at"]
        read_only_fields = fields


class ChatPostSerializer(StrictSerializer):
    text = serializers.CharField(max_length=signalling.MAX_CHAT_CHARS)


class ConsultationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The video consultation held for a booking (one per booking)."""

    serializer_class = ConsultationSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    filterset_fields = ["status"]

    def get_queryset(self):
        return consultations_visible_to(self.request.user).select_related(
            "booking__slot__doctor__user", "booking__patient"
        ).order_by("-booking__slot__starts_at", "-id")

    def retrieve(self, request, pk=None):
        consultation = consultation_for(request.user, pk, purpose="consultation_read", queryset=self.get_queryset())
        return Response(self.get_serializer(consultation).data)

    def render(self, consultation, code=status.HTTP_200_OK):
        consultation = self.get_queryset().get(pk=consultation.pk)
        return Response(self.get_serializer(consultation).data, status=code)

    @extend_schema(request=ConsultationOpenSerializer, responses={201: ConsultationSerializer}, summary="Open the consultation for a booking")
    @refuses("forbidden", "booking_inactive", "invalid_transition")
    def create(self, request):
        data = ConsultationOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        booking = get_object_or_404(bookings_openable_by(request.user), pk=data.validated_data["booking"])
        return self.render(consult_rules.consultation_open(by=request.user, booking=booking), status.HTTP_201_CREATED)

    @extend_schema(request=ConsultationRecordSerializer, responses={200: ConsultationSerializer}, summary="Doctor writes the record")
    @refuses("not_the_doctor", "invalid", "invalid_transition", "record_closed", "diagnosis_required",
             "diagnosis_invalid", "invalid_icd10")
    def partial_update(self, request, pk=None):
        consultation = self.get_object()
        data = ConsultationRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self.render(consult_rules.consultation_record(by=request.user, consultation=consultation, **data.validated_data))

    @extend_schema(request=AdmitSerializer, responses={200: ConsultationSerializer}, summary="Doctor admits the waiting patient")
    @action(detail=True, methods=["post"])
    @refuses("not_the_doctor", "invalid_transition", "second_factor_required", "second_factor_not_enrolled",
             "otp_invalid", "otp_throttled", "guardian_required", "guardian_not_confirmed")
    def admit(self, request, pk=None):
        """Admit the waiting patient. 互联网诊疗监管细则（试行）: this token must have proved the doctor's
        second factor (POST /api/auth/second-factor/verify/) within DOCTOR_REAUTH_WINDOW_MINUTES,
        or send `otp` here."""
        consultation = self.get_object()
        code = AdmitSerializer(data=request.data)
        code.is_valid(raise_exception=True)
        return self.render(doctor_identity.consultation_admit_verified(
            by=request.user, consultation=consultation, credential=step_up.credential_of(request),
            code=code.validated_data.get("otp"), guardian_present=code.validated_data["guardian_present"]))

    @extend_schema(request=None, responses={200: ConsultationSerializer}, summary="Doctor ends the consultation")
    @action(detail=True, methods=["post"])
    @refuses("not_the_doctor", "invalid_transition", "diagnosis_required", "diagnosis_invalid", "invalid_icd10")
    def end(self, request, pk=None):
        return self.render(consult_rules.consultation_end(by=request.user, consultation=self.get_object()))

    @extend_schema(request=ConsultationReferSerializer, responses={200: ConsultationSerializer},
                   summary="Doctor ends the consultation, referring the patient to an in-person visit")
    @action(detail=True, methods=["post"], url_path="refer-offline")
    @refuses("not_the_doctor", "invalid_transition", "required", "invalid")
    def refer_offline(self, request, pk=None):
        data = ConsultationReferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self.render(consult_rules.consultation_refer_offline(
            by=request.user, consultation=self.get_object(), reason=data.validated_data["reason"],
            department=data.validated_data.get("department", "")))

    @extend_schema(request=FollowUpConfirmSerializer, responses={200: ConsultationSerializer},
                   summary="Doctor confirms the visit follows up a condition diagnosed offline")
    @action(detail=True, methods=["post"], url_path="confirm-follow-up")
    @refuses("not_the_doctor", "invalid_transition", "unknown_condition", "offline_diagnosis_missing")
    def confirm_follow_up(self, request, pk=None):
        """互联网诊疗管理办法（试行）: online care is for follow-up visits only; without this
        confirmation no prescription is written in the consultation (consult.follow_up)."""
        data = FollowUpConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self.render(follow_up.follow_up_confirm(
            by=request.user, consultation=self.get_object(), condition=data.validated_data["condition"]))

    @extend_schema(
        request=None,
        responses={201: inline_serializer("SignallingTicket", {"ticket": serializers.CharField(), "expires_in": serializers.IntegerField(), "url": serializers.CharField()})},
        summary="Short-lived ticket for the signalling socket (mobile clients)",
    )
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "consultation_ended")
    def ticket(self, request, pk=None):
        from django.conf import settings

        consultation = self.get_object()
        ticket = signalling.ticket_issue(user_id=request.user.pk, consultation_id=consultation.pk)
        # The socket may admit only if this token's second factor is fresh (consult.doctor_identity).
        step_up.carry_over(user=request.user, source=step_up.credential_of(request),
                           target=step_up.credential_of_ticket(ticket))
        return Response(
            {
                "ticket": ticket,
                "expires_in": settings.SIGNALLING_TICKET_TTL_SECONDS,
                "url": f"/ws/consultations/{consultation.pk}/?ticket={ticket}",
            },
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        responses={200: inline_serializer("IceServers", {"ice_servers": serializers.ListField(child=serializers.DictField()), "ttl_seconds": serializers.IntegerField()})},
        summary="STUN/TURN servers with TURN REST API credentials",
    )
    @action(detail=True, methods=["get"], url_path="ice-servers")
    def ice_servers(self, request, pk=None):
        self.get_object()
        return Response(signalling.ice_servers(user_id=request.user.pk))

    @extend_schema(methods=["GET"], responses={200: ChatMessageSerializer(many=True)}, summary="Chat messages")
    @extend_schema(methods=["POST"], request=ChatPostSerializer, responses={201: ChatMessageSerializer}, summary="Send a chat message")
    @action(detail=True, methods=["get", "post"])
    @refuses("forbidden", "consultation_ended", "required")
    def messages(self, request, pk=None):
        if request.method == "GET":
            consultation = consultation_for(request.user, pk, purpose="chat_read", queryset=self.get_queryset())
            page = self.paginate_queryset(consultation.messages.select_related("sender"))
            return self.get_paginated_response(ChatMessageSerializer(page, many=True).data)
        consultation = self.get_object()
        data = ChatPostSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = consultation_role(request.user, consultation)
        message = consult_rules.chat_post(by=request.user, consultation=consultation, role=role, text=data.validated_data["text"])
        return Response(ChatMessageSerializer(message).data, status=status.HTTP_201_CREATED)
