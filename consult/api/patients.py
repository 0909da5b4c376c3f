"""Patient and health-record endpoints.

Every view starts from "patients this user may see" (consult.permissions), so another
person's patient id answers 404 and ids cannot be probed; every read of a record goes
through consult.selectors.record_for, which writes the access log in the same call.
"""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cloudhospital.api.throttling import FailOpenScopedRateThrottle
from cloudhospital.api import examples
from cloudhospital.api.refusals import refuses
from cloudhospital.permissions import require
from consult import records
from consult.api.serializers import (
    AccessLogEntrySerializer,
    AllergySerializer,
    ConditionSerializer,
    DependantCreateSerializer,
    EnteredInErrorSerializer,
    MedicationSerializer,
    ObservationSerializer,
    PatientSerializer,
    PatientUpdateSerializer,
    ProxyAddSerializer,
    ProxySerializer,
    RecordSerializer,
)
from consult.models import Allergy, Condition, Medication, Observation, ObservationKind, ObservationSource, Patient
from consult.permissions import patients_visible_to
from consult.selectors import access_log_of, patients_listed, patients_with_links, record_for, record_summary


def require_manager(user, patient: Patient) -> None:
    """These endpoints are the family's: only the patient and their proxies list proxies or
    change the record through them (a treating doctor writes through the consultation)."""
    require("consult.manage_patient", user, patient, message=_("Only the patient or their proxies may change this record."))


class PatientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your own patient profile and your dependants'. POST adds a dependant you will act for."""

    serializer_class = PatientSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return patients_with_links(patients_visible_to(self.request.user)).order_by("id")

    def get_throttles(self):
        # Adding a dependant answers whether an ID number is taken: a few tries per account a day.
        if self.action == "create":
            self.throttle_scope = "dependant_add"
            return [FailOpenScopedRateThrottle()]
        return super().get_throttles()

    def list(self, request, *args, **kwargs):
        page = patients_listed(request.user, self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        record_for(request.user, self.kwargs["pk"], purpose="patient_read")
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=DependantCreateSerializer, responses={201: PatientSerializer}, summary="Add a dependant",
                   examples=examples.DEPENDANT_ADD)
    @refuses("required", "invalid_id_number", "invalid_phone", "cannot_add_dependant", "duplicate_id_number")
    def create(self, request):
        data = DependantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = records.dependant_add(proxy=request.user, **data.validated_data)
        return Response(self.get_serializer(patient).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PatientUpdateSerializer, responses={200: PatientSerializer}, summary="Change contact details")
    @refuses("forbidden", "invalid_phone", "duplicate_phone")
    def partial_update(self, request, pk=None):
        patient = self.get_object()
        require_manager(request.user, patient)
        data = PatientUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        patient = records.patient_update(by=request.user, patient=patient, **data.validated_data)
        return Response(self.get_serializer(patient).data)

    @extend_schema(responses={200: RecordSerializer}, summary="Health record summary")
    @action(detail=True, methods=["get"])
    def record(self, request, pk=None):
        patient = record_for(request.user, pk, purpose="record_read")
        return Response(RecordSerializer(record_summary(patient), context={"request": request}).data)

    @extend_schema(responses={200: AccessLogEntrySerializer(many=True)}, summary="Who read this patient's record")
    @action(detail=True, methods=["get"], url_path="access-log")
    @refuses("forbidden")
    def access_log(self, request, pk=None):
        """Every read of the record by someone outside the family, newest first: who (name
        and role), what, on what grounds, when and from where. The patient's and proxies' own."""
        patient = self.get_object()
        require_manager(request.user, patient)
        page = self.paginate_queryset(access_log_of(patient))
        return self.get_paginated_response(AccessLogEntrySerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses={200: ProxySerializer(many=True)}, summary="Who acts for this patient")
    @extend_schema(methods=["POST"], request=ProxyAddSerializer, responses={201: ProxySerializer}, summary="Add a proxy")
    @action(detail=True, methods=["get", "post"])
    @refuses("forbidden", "unknown_account", "is_patient", "already_proxy", "invalid_phone")
    def proxies(self, request, pk=None):
        patient = self.get_object()
        require_manager(request.user, patient)
        if request.method == "GET":
            page = self.paginate_queryset(patient.proxy_links.select_related("proxy").order_by("id"))
            return self.get_paginated_response(ProxySerializer(page, many=True).data)
        data = ProxyAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        link = records.proxy_add(by=request.user, patient=patient, **data.validated_data)
        return Response(ProxySerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, summary="Remove a proxy")
    @action(detail=True, methods=["delete"], url_path=r"proxies/(?P<link_id>\d+)")
    @refuses("forbidden", "last_proxy")
    def proxy_remove(self, request, pk=None, link_id=None):
        patient = self.get_object()
        require_manager(request.user, patient)
        link = get_object_or_404(patient.proxy_links, pk=link_id)
        records.proxy_remove(by=request.user, link=link)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PatientRecordViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Base for /api/patients/{patient_pk}/<entries>/: scoped to one visible patient.

    Subclasses name the model and the domain functions that add and change an entry.
    """

    model = None
    add = None
    change = None
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_patient(self) -> Patient:
        if not hasattr(self, "_patient"):
            if self.request.method == "GET":
                purpose = f"{self.model._meta.model_name}_read"
                self._patient = record_for(self.request.user, self.kwargs["patient_pk"], purpose=purpose)
            else:
                self._patient = get_object_or_404(patients_visible_to(self.request.user), pk=self.kwargs["patient_pk"])
        return self._patient

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.model.objects.filter(patient=self.get_patient()).select_related("recorded_by")

    def create_kwargs(self) -> dict:
        return {}

    @refuses("forbidden", "required", "invalid", "invalid_icd10", "implausible")
    def create(self, request, *args, **kwargs):
        patient = self.get_patient()
        require_manager(request.user, patient)
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = type(self).add(by=request.user, patient=patient, **data.validated_data, **self.create_kwargs())
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)

    @refuses("forbidden", "required", "invalid", "invalid_icd10", "implausible")
    def partial_update(self, request, *args, **kwargs):
        entry = self.get_object()
        require_manager(request.user, entry.patient)
        data = self.get_serializer(entry, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        entry = type(self).change(by=request.user, **{self.model._meta.model_name: entry}, **data.validated_data)
        return Response(self.get_serializer(entry).data)


class ConditionViewSet(PatientRecordViewSet):
    """Problem list (ICD-10). Filter with ?status=active."""

    model = Condition
    serializer_class = ConditionSerializer
    filterset_fields = ["status"]
    add = records.condition_add
    change = records.condition_update


class AllergyViewSet(PatientRecordViewSet):
    model = Allergy
    serializer_class = AllergySerializer
    add = records.allergy_add
    change = records.allergy_update


class MedicationViewSet(PatientRecordViewSet):
    """Current and past medications. Filter with ?active=true."""

    model = Medication
    serializer_class = MedicationSerializer
    filterset_fields = ["active"]
    add = records.medication_add
    change = records.medication_update


class ObservationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ObservationKind.choices)
    date_from = django_filters.DateFilter(field_name="measured_at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="measured_at", lookup_expr="date__lte")

    class Meta:
        model = Observation
        fields = ["kind", "date_from", "date_to"]


class ObservationViewSet(PatientRecordViewSet):
    """Blood-pressure readings and lab values. Readings are facts at a time: not edited."""

    model = Observation
    serializer_class = ObservationSerializer
    filterset_class = ObservationFilter
    http_method_names = ["get", "post", "head", "options"]
    add = records.observation_add

    @extend_schema(request=EnteredInErrorSerializer, responses={200: ObservationSerializer},
                   summary="Mark a reading entered in error (kept, left out of trends)")
    @action(detail=True, methods=["post"], url_path="entered-in-error")
    @refuses("forbidden", "required", "already_entered_in_error")
    def entered_in_error(self, request, patient_pk=None, pk=None):
        observation = self.get_object()
        data = EnteredInErrorSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        observation = records.observation_mark_entered_in_error(by=request.user, observation=observation,
                                                                **data.validated_data)
        return Response(self.get_serializer(observation).data)

    def create_kwargs(self) -> dict:
        # Whatever a patient or a proxy enters is a home measurement, never a clinic one.
        return {"source": ObservationSource.HOME}
