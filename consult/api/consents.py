"""Consent endpoints: the current online-care informed consent, a patient's acceptances, the
proxy consents under which family members act (FHIR Consent too), and the patient's
activity ("by 张薇 on behalf of 张林"). Thin: parse, call consult.consent, render.

Every patient-scoped view starts from the patients the user manages (the patient and their
proxies with a consent in force), so anyone else's id is a 404.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status, views
from rest_framework.response import Response

from cloudhospital.api.refusals import refuses
from cloudhospital.api.serializers import StrictSerializer
from cloudhospital.errors import DomainError, Kind
from consult import consent as consent_rules
from consult import fhir as consult_fhir
from consult.activity import patient_activity
from consult.models import ConsentAcceptance, ConsentText, Patient, ProxyConsent, ProxyScope
from consult.permissions import patients_managed_by


def _managed_patient(user, patient_pk) -> Patient:
    return get_object_or_404(patients_managed_by(user), pk=patient_pk)


def _chinese() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


class ConsentTextSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(help_text='"online_care": the online-care informed consent.')
    title = serializers.SerializerMethodField(help_text="In the request's language.")
    text = serializers.SerializerMethodField(help_text="In the request's language.")

    class Meta:
        model = ConsentText
        fields = ["kind", "version", "title", "text", "title_zh", "title_en", "text_zh", "text_en", "effective_from"]
        read_only_fields = fields

    def get_title(self, text) -> str:
        return text.title_zh if _chinese() else text.title_en

    def get_text(self, text) -> str:
        return text.text_zh if _chinese() else text.text_en


class ConsentAcceptanceSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="text.kind")
    version = serializers.IntegerField(source="text.version")
    accepted_by = serializers.CharField(source="accepted_by.full_name")
    on_behalf = serializers.BooleanField(help_text="True when a proxy accepted on the patient's behalf.")
    current = serializers.SerializerMethodField(help_text="Whether this is an acceptance of the current version.")

    class Meta:
        model = ConsentAcceptance
        fields = ["id", "kind", "version", "patient", "accepted_by", "on_behalf", "proxy_relationship", "language",
                  "accepted_at", "current"]
        read_only_fields = fields

    def get_current(self, acceptance) -> bool:
        current = self.context.get("current")
        return bool(current and acceptance.text_id == current.pk)


class ConsentAcceptSerializer(StrictSerializer):
    version = serializers.IntegerField(help_text="The version of the text the person read (GET /api/consents/current/).")


class ProxyConsentSerializer(serializers.ModelSerializer):
    proxy_link = serializers.IntegerField(source="link_id")
    proxy = serializers.CharField(source="link.proxy.full_name")
    relationship = serializers.CharField(source="link.relationship")
    granted_by = serializers.CharField(source="granted_by.full_name")
    scope = serializers.ListField(child=serializers.ChoiceField(choices=ProxyScope.choices))
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = ProxyConsent
        fields = ["id", "proxy_link", "proxy", "relationship", "granted_by", "grantor_role", "scope", "starts_at",
                  "ends_at", "status", "in_force", "granted_at", "revoked_at", "revoke_reason"]
        read_only_fields = fields

    def get_in_force(self, consent) -> bool:
        return consent.in_force()


class ProxyConsentGrantSerializer(StrictSerializer):
    proxy_link = serializers.IntegerField(help_text="The proxy link (GET /api/patients/{id}/proxies/).")
    scope = serializers.ListField(child=serializers.ChoiceField(choices=ProxyScope.choices), required=False,
                                  help_text="What the proxy may do; all of it when left out.")
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)


class ProxyConsentRevokeSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ActivitySerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="event.at")
    kind = serializers.CharField(source="event.kind", help_text='"write", or "read" (the access log).')
    what = serializers.CharField(source="event.what")
    subject = serializers.CharField(source="event.subject")
    by = serializers.CharField(source="event.actor_name")
    on_behalf_of = serializers.CharField(help_text="The patient's name when a proxy acted, else empty.")
    relationship = serializers.CharField()
    line = serializers.CharField(help_text='E.g. "by 张薇 on behalf of 张林 (Parent)".')


class CurrentConsentView(views.APIView):
    @extend_schema(responses={200: ConsentTextSerializer}, summary="The current online-care informed consent")
    def get(self, request):
        current = consent_rules.consent_current()
        if current is None:
            raise DomainError(_("No consent text is published."), code="not_found", kind=Kind.NOT_FOUND)
        return Response(ConsentTextSerializer(current).data)


class PatientConsentsView(generics.ListAPIView):
    """GET: the patient's acceptances, newest first; POST: accept the current version."""

    serializer_class = ConsentAcceptanceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConsentAcceptance.objects.none()
        return consent_rules.consent_acceptances(_managed_patient(self.request.user, self.kwargs["patient_pk"]))

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "current": consent_rules.consent_current()}

    @extend_schema(summary="The patient's consent acceptances")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ConsentAcceptSerializer, responses={201: ConsentAcceptanceSerializer, 200: ConsentAcceptanceSerializer},
                   summary="Accept the current online-care informed consent for the patient")
    @refuses("consent_outdated")
    def post(self, request, patient_pk: int):
        patient = _managed_patient(request.user, patient_pk)
        data = ConsentAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        acceptance, created = consent_rules.consent_accept(by=request.user, patient=patient, version=data.validated_data["version"])
        body = ConsentAcceptanceSerializer(acceptance, context={"current": acceptance.text}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ProxyConsentsView(generics.ListAPIView):
    """GET: the consents under which the patient's proxies act, newest first; POST: grant one."""

    serializer_class = ProxyConsentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProxyConsent.objects.none()
        return consent_rules.proxy_consents_of(_managed_patient(self.request.user, self.kwargs["patient_pk"]))

    @extend_schema(summary="The consents under which proxies act")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=ProxyConsentGrantSerializer, responses={201: ProxyConsentSerializer},
                   summary="Grant a proxy consent (the patient, or the guardian of a patient without a login)")
    @refuses("forbidden", "invalid_scope", "invalid_period")
    def post(self, request, patient_pk: int):
        patient = _managed_patient(request.user, patient_pk)
        data = ProxyConsentGrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        link = get_object_or_404(patient.proxy_links, pk=fields.pop("proxy_link"))
        consent = consent_rules.proxy_consent_grant(by=request.user, link=link, **fields)
        return Response(ProxyConsentSerializer(consent).data, status=status.HTTP_201_CREATED)


class ProxyConsentRevokeView(views.APIView):
    @extend_schema(request=ProxyConsentRevokeSerializer, responses={200: ProxyConsentSerializer},
                   summary="Revoke a proxy's consent (the patient, with their own login)")
    @refuses("forbidden", "already_revoked")
    def post(self, request, patient_pk: int, pk: int):
        patient = _managed_patient(request.user, patient_pk)
        consent = get_object_or_404(ProxyConsent.objects.filter(link__patient=patient), pk=pk)
        data = ProxyConsentRevokeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = consent_rules.proxy_consent_revoke(by=request.user, consent=consent, **data.validated_data)
        return Response(ProxyConsentSerializer(consent).data)


class ProxyConsentFhirView(views.APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="A proxy consent as a FHIR R4 Consent")
    def get(self, request, patient_pk: int, pk: int):
        patient = _managed_patient(request.user, patient_pk)
        consent = get_object_or_404(consent_rules.proxy_consents_of(patient), pk=pk)
        return Response(consult_fhir.proxy_consent_resource(consent))


class PatientActivityView(generics.ListAPIView):
    """What was done for the patient and by whom, newest first."""

    serializer_class = ActivitySerializer
    # A list merged from several tables, always newest first: no query-string ordering or filters.
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConsentAcceptance.objects.none()
        return patient_activity(_managed_patient(self.request.user, self.kwargs["patient_pk"]))

    @extend_schema(summary='What was done for the patient and by whom ("by 张薇 on behalf of 张林")')
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
