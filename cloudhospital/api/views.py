"""Auth endpoints: register, login, logout, me. Thin: parse, call the domain, render."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from cloudhospital.accounts import token_issue, user_login, user_logout
from cloudhospital.api.serializers import LoginSerializer, MeSerializer, RegisterSerializer, TokenSerializer
from consult.api.serializers import PatientSerializer
from consult.records import patient_register
from consult.selectors import patients_managed_by, patients_with_links, relationship_to


def me_payload(user) -> dict:
    patients = patients_with_links(patients_managed_by(user))
    own = next((p for p in patients if p.account_id == user.pk), None)
    return {
        "id": user.pk,
        "phone": user.phone,
        "full_name": user.full_name,
        "role": user.role,
        "patient_id": own.pk if own else None,
        "manages": [{"id": p.pk, "full_name": p.full_name, "relationship": relationship_to(user, p)} for p in patients],
    }


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        request=RegisterSerializer,
        responses={201: inline_serializer("Registered", {"token": serializers.CharField(), "patient": PatientSerializer()})},
        summary="Register a patient account with real-name data",
    )
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patient_register(**data.validated_data)
        token = token_issue(user=patient.account)
        body = {"token": token.key, "patient": PatientSerializer(patient, context={"viewer": patient.account}).data}
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=LoginSerializer, responses={200: TokenSerializer}, summary="Log in with phone and password")
    def post(self, request):
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # axes reads and marks the plain HttpRequest, not DRF's wrapper.
        token = user_login(request=request._request, **data.validated_data)
        return Response({"token": token.key})


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Revoke the API token")
    def post(self, request):
        user_logout(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeSerializer}, summary="Who am I, and whom do I act for")
    def get(self, request):
        return Response(MeSerializer(me_payload(request.user)).data)
