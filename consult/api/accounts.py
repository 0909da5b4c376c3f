"""Registering a patient account, and "who am I, and whom do I act for"."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from cloudhospital.accounts import token_issue, user_language_set
from cloudhospital.api import examples
from cloudhospital.api.refusals import refuses
from cloudhospital.api.serializers import issued_token_body
from cloudhospital.api.throttling import FailOpenScopedRateThrottle
from cloudhospital.api.serializers import MeSerializer, MeUpdateSerializer, RegisterSerializer
from cloudhospital.languages import activate_saved_language
from consult.api.serializers import PatientSerializer
from consult.permissions import patients_managed_by
from consult.records import patient_register
from consult.selectors import patients_with_links, relationship_to


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
        "language": user.language,
    }


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [FailOpenScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        request=RegisterSerializer,
        responses={201: inline_serializer("Registered", {
            "token": serializers.CharField(), "expires_at": serializers.DateTimeField(allow_null=True),
            "patient": PatientSerializer(),
        })},
        summary="Register a patient account with real-name data",
        examples=examples.REGISTER,
    )
    @refuses("required", "invalid_phone", "invalid_id_number", "weak_password", "duplicate_phone",
             "duplicate_id_number", "duplicate")
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = patient_register(**data.validated_data)
        issued = token_issue(user=patient.account)
        body = {**issued_token_body(issued), "patient": PatientSerializer(patient, context={"viewer": patient.account}).data}
        return Response(body, status=status.HTTP_201_CREATED)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeSerializer}, summary="Who am I, and whom do I act for")
    def get(self, request):
        return Response(MeSerializer(me_payload(request.user)).data)

    @extend_schema(request=MeUpdateSerializer, responses={200: MeSerializer},
                   summary="Save my language (blank: follow the browser)")
    @refuses("invalid_language")
    def patch(self, request):
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user_language_set(user=request.user, language=data.validated_data["language"])
        # The answer (and every later one) speaks the language just saved.
        activate_saved_language(request, request.user)
        return Response(MeSerializer(me_payload(request.user)).data)
