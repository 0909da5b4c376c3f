"""The caller's second factor (TOTP): enrol, confirm, and verify this login.

Thin: parse, call cloudhospital.step_up, render. A verification counts for the token (or
browser session) that sent it, and for DOCTOR_REAUTH_WINDOW_MINUTES; admitting a patient needs
one (`second_factor_required`), and signing a prescription takes a code of its own (`otp`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital import step_up
from cloudhospital.api.refusals import refuses
from cloudhospital.api.serializers import StrictSerializer


class OtpSerializer(StrictSerializer):
    otp = serializers.CharField(max_length=12, allow_blank=True,
                                help_text="The 6-digit code the authenticator shows now.")


class SecondFactorStateSerializer(serializers.Serializer):
    enrolled = serializers.BooleanField(help_text="The caller has a confirmed authenticator.")
    verified_at = serializers.DateTimeField(allow_null=True, help_text="When this login last proved its second factor.")
    fresh_until = serializers.DateTimeField(
        allow_null=True, help_text="Until when this login may admit patients without another code.")


class EnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The base32 secret, shown this once: type it into the authenticator.")
    otpauth_uri = serializers.CharField(help_text="The otpauth:// URI (what the QR code holds).")
    qr_svg = serializers.CharField(help_text="The URI as an SVG QR code.")


def _state(request) -> dict:
    credential = step_up.credential_of(request)
    at = step_up.verified_at(user=request.user, credential=credential)
    fresh = at is not None and step_up.is_fresh(user=request.user, credential=credential)
    return {"enrolled": step_up.device_for(request.user) is not None, "verified_at": at,
            "fresh_until": at + step_up.window() if fresh else None}


def _otp(request) -> str:
    data = OtpSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data["otp"]


class SecondFactorView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: SecondFactorStateSerializer}, summary="Whether the caller has an authenticator, "
                   "and whether this login's second factor is fresh")
    def get(self, request):
        return Response(SecondFactorStateSerializer(_state(request)).data)

    @extend_schema(request=None, responses={201: EnrolmentSerializer},
                   summary="Start enrolling an authenticator: a new secret, shown once, confirmed by its first code")
    def post(self, request):
        device = step_up.device_enrol(user=request.user)
        uri = step_up.provisioning_uri(device)
        body = {"secret": step_up.secret_base32(device), "otpauth_uri": uri, "qr_svg": step_up.qr_svg(uri)}
        return Response(EnrolmentSerializer(body).data, status=status.HTTP_201_CREATED)


class SecondFactorConfirmView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=OtpSerializer, responses={200: SecondFactorStateSerializer},
                   summary="Confirm the authenticator being enrolled with its first code")
    @refuses("second_factor_not_started", "otp_required", "otp_invalid", "otp_throttled")
    def post(self, request):
        step_up.device_confirm(user=request.user, code=_otp(request))
        return Response(SecondFactorStateSerializer(_state(request)).data)


class SecondFactorVerifyView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=OtpSerializer, responses={200: SecondFactorStateSerializer},
                   summary="Prove this login's second factor (for admitting patients, DOCTOR_REAUTH_WINDOW_MINUTES)")
    @refuses("second_factor_not_enrolled", "otp_required", "otp_invalid", "otp_throttled")
    def post(self, request):
        step_up.verify(user=request.user, credential=step_up.credential_of(request), code=_otp(request))
        return Response(SecondFactorStateSerializer(_state(request)).data)
