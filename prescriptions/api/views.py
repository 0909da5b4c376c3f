"""Formulary and published signing keys (read-only for every signed-in user), and the
e-prescription endpoints.

Pharmacies and pharmacists need the formulary and the doctors' public keys to check a
prescription, so neither is restricted by role; nothing there is patient data.
"""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from cloudhospital import step_up
from cloudhospital.api.fhir_format import FHIR_VIEW, FORMAT_PARAMETER
from cloudhospital.api import examples
from cloudhospital.api.refusals import refuses
from cloudhospital.errors import DomainError, Kind
from cloudhospital.permissions import require
from consult.models import Consultation
from prescriptions import lifecycle, sign_in_person
from prescriptions.api.serializers import (
    CheckInSerializer,
    CheckOutSerializer,
    DrugSerializer,
    OptionalReasonSerializer,
    PrescriptionCreateSerializer,
    PrescriptionSavedSerializer,
    PrescriptionSerializer,
    PrescriptionWriteSerializer,
    ReasonSerializer,
    SignInSerializer,
    SigningKeySerializer,
    VerifySerializer,
)
from prescriptions.checks import WARN, override_allowed
from prescriptions.fhir import prescription_bundle
from prescriptions.lifecycle import ItemDraft
from prescriptions.models import Drug, SigningKey
from prescriptions.permissions import prescriptions_visible_to
from prescriptions.selectors import prescription_for, prescriptions_for_display, review_queue


class DrugViewSet(viewsets.ReadOnlyModelViewSet):
    """The formulary. `?search=` matches code, English or Chinese names and pinyin initials ("delz" finds
    盐酸地尔硫䓬片); filter by `therapeutic_class`."""

    serializer_class = DrugSerializer
    queryset = Drug.objects.filter(active=True)
    filterset_fields = ["therapeutic_class", "prescription_only"]
    search_fields = ["code", "generic_name", "generic_name_zh", "ingredient", "ingredient_zh", "atc_code", "pinyin_initials"]
    ordering_fields = ["generic_name", "code", "therapeutic_class"]
    ordering = ["generic_name", "strength", "id"]


class SigningKeyViewSet(viewsets.ReadOnlyModelViewSet):
    """Doctors' Ed25519 public keys, current, retired and revoked, for offline verification."""

    serializer_class = SigningKeySerializer
    queryset = SigningKey.objects.select_related("doctor")
    lookup_field = "key_id"
    lookup_value_regex = "[A-Za-z0-9_.-]+"
    filterset_fields = ["doctor"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]


def _flatten(errors, prefix: str = "") -> dict:
    """DRF's nested errors as {"items[0].dose": [...]}, the field names the domain uses."""
    if isinstance(errors, dict):
        out = {}
        for key, value in errors.items():
            name = key if key == "non_field_errors" and not prefix else (f"{prefix}.{key}" if prefix else str(key))
            out.update(_flatten(value, name))
        return out
    if isinstance(errors, list) and errors and all(isinstance(e, (dict, list)) for e in errors):
        out = {}
        for index, value in enumerate(errors):
            if value:
                out.update(_flatten(value, f"{prefix}[{index}]"))
        return out
    return {prefix or "non_field_errors": errors}


def _parse(serializer_class, request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    if not serializer.is_valid():
        raise ValidationError(_flatten(serializer.errors))
    return serializer


class PrescriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """E-prescriptions. Who sees what comes from prescriptions_visible_to(user): the patient
    and proxies from signing onwards, the prescribing doctor all of theirs, review
    pharmacists the queue and what they reviewed. Anything else is a 404. Every write is one
    function in prescriptions.lifecycle."""

    serializer_class = PrescriptionSerializer
    filterset_fields = ["status", "patient", "consultation"]
    ordering_fields = ["created_at", "signed_at"]
    ordering = ["-created_at", "-id"]
    search_fields = []

    def get_queryset(self):
        return prescriptions_for_display(prescriptions_visible_to(self.request.user))

    def retrieve(self, request, pk=None):
        prescription = prescription_for(request.user, pk, purpose="prescription_read", queryset=self.get_queryset())
        return Response(self.get_serializer(prescription).data)

    def _saved(self, saved: lifecycle.Saved, status_code=status.HTTP_200_OK) -> Response:
        prescription = self.get_queryset().get(pk=saved.prescription.pk)
        context = {**self.get_serializer_context(), "findings": saved.findings}
        return Response(PrescriptionSavedSerializer(prescription, context=context).data, status=status_code)

    def _render(self, prescription) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=prescription.pk)).data)

    @extend_schema(request=PrescriptionCreateSerializer, responses={201: PrescriptionSavedSerializer},
                   examples=examples.PRESCRIPTION_CREATE)
    @refuses("follow_up_not_confirmed", "referred_offline")  # consult.follow_up: only in a confirmed follow-up
    @refuses("consultation_invalid", "not_the_doctor", "prescribing_closed", "diagnosis_required",
             "diagnosis_invalid", "invalid_icd10", "items_required", "items_invalid", "too_many_items",
             "drug_invalid", "dose_invalid", "dose_unit_invalid", "frequency_invalid", "days_supply_invalid",
             "quantity_invalid", "quantity_mismatch", "route_invalid", "instructions_invalid",
             "validity_days_invalid", "validity_too_long", "validity_reason_required", "validity_reason_too_long")
    def create(self, request):
        """The consultation's doctor writes a draft. The safety findings come back with it."""
        serializer = _parse(PrescriptionCreateSerializer, request)
        kwargs = serializer.domain_kwargs()
        consultation = Consultation.objects.filter(
            pk=kwargs.pop("consultation"), booking__slot__doctor__user=request.user
        ).first()
        if consultation is None:
            raise DomainError(_("No consultation of yours with this id."), code="consultation_invalid",
                              field="consultation", kind=Kind.INVALID)
        saved = lifecycle.prescription_create(by=request.user, consultation=consultation, **kwargs)
        return self._saved(saved, status.HTTP_201_CREATED)

    @extend_schema(request=PrescriptionWriteSerializer, responses=PrescriptionSavedSerializer)
    @refuses("not_the_prescriber", "not_editable", "prescribing_closed", "diagnosis_required",
             "diagnosis_invalid", "invalid_icd10", "items_required", "items_invalid", "too_many_items",
             "drug_invalid", "dose_invalid", "dose_unit_invalid", "frequency_invalid", "days_supply_invalid",
             "quantity_invalid", "quantity_mismatch", "route_invalid", "instructions_invalid",
             "validity_days_invalid", "validity_too_long", "validity_reason_required", "validity_reason_too_long")
    def partial_update(self, request, pk=None):
        """Edit a draft (only the prescribing doctor). `items`, when given, replace all items."""
        prescription = self.get_object()
        serializer = _parse(PrescriptionWriteSerializer, request, partial=True)
        saved = lifecycle.prescription_update(by=request.user, prescription=prescription, **serializer.domain_kwargs())
        return self._saved(saved)

    @extend_schema(request=CheckInSerializer, responses=CheckOutSerializer)
    @action(detail=True, methods=["post"])
    @refuses("forbidden", "items_required", "items_invalid", "too_many_items", "drug_invalid", "dose_invalid",
             "dose_unit_invalid", "frequency_invalid", "days_supply_invalid", "quantity_invalid",
             "quantity_mismatch", "route_invalid", "instructions_invalid")
    def check(self, request, pk=None):
        """Dry-run the safety checks on the saved items, or on `items` given here (nothing is saved).
        For the prescribing doctor and review pharmacists."""
        prescription = self.get_object()
        require("prescriptions.run_checks", request.user, prescription,
                message=_("Only the prescribing doctor or a review pharmacist may run the checks."))
        data = _parse(CheckInSerializer, request).validated_data
        long_term = data.get("long_term", prescription.long_term)
        if "items" in data:
            findings = lifecycle.prescription_findings_for(
                patient=prescription.patient, items=[ItemDraft(**item) for item in data["items"]], long_term=long_term,
                diagnosis=prescription.diagnosis)
        else:
            findings = lifecycle.prescription_findings(prescription, long_term=long_term)
        body = {
            "findings": [finding.as_dict() for finding in findings],
            "can_sign": override_allowed(findings),
            "overrides_required": [finding.key for finding in findings if finding.severity == WARN],
        }
        return Response(CheckOutSerializer(body).data)

    @extend_schema(request=SignInSerializer, responses=PrescriptionSavedSerializer, examples=examples.PRESCRIPTION_SIGN)
    @action(detail=True, methods=["post"])
    @refuses("follow_up_not_confirmed", "referred_offline")  # consult.follow_up: only in a confirmed follow-up
    @refuses("not_the_prescriber", "invalid_transition", "prescribing_closed", "overrides_invalid",
             "override_reason_required", "override_reason_too_long", "safety_block", "not_a_doctor",
             "otp_required", "otp_invalid", "otp_throttled", "second_factor_not_enrolled")
    def sign(self, request, pk=None):
        """Sign a draft (prescribing doctor), with the doctor's authenticator code in `otp`. Blocks refuse;
        every warning needs a reason in `overrides`."""
        prescription = self.get_object()
        data = _parse(SignInSerializer, request).validated_data
        return self._saved(sign_in_person.prescription_sign_in_person(
            by=request.user, prescription=prescription, overrides=data["overrides"],
            credential=step_up.credential_of(request), code=data.get("otp")))

    @extend_schema(request=None, responses=PrescriptionSerializer)
    @action(detail=True, methods=["post"])
    @refuses("not_the_patient", "invalid_transition", "prescription_expired")
    def confirm(self, request, pk=None):
        """The patient or a proxy confirms a long-term prescription beyond 4 weeks (status
        `confirming`; 长期处方管理规范（试行）): it then goes to the review pharmacist."""
        prescription = self.get_object()
        return self._render(lifecycle.prescription_confirm(by=request.user, prescription=prescription))

    @extend_schema(responses=VerifySerializer)
    @action(detail=True, methods=["get"])
    def verify(self, request, pk=None):
        """Recompute the content from the rows and check the stored Ed25519 signature over it."""
        prescription = self.get_object()
        valid, reason = lifecycle.prescription_verify(prescription)
        return Response(VerifySerializer({
            "valid": valid, "reason": reason, "algorithm": SigningKey.ALGORITHM, "key_id": prescription.key_id,
            "signature": prescription.signature, "content_hash": prescription.content_hash,
            "signed_content": prescription.signed_content,
        }).data)

    @extend_schema(responses=PrescriptionSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="review-queue")
    @refuses("forbidden")
    def review_queue(self, request):
        """Signed prescriptions awaiting review, oldest first (review pharmacists only)."""
        require("prescriptions.review", request.user, message=_("The review queue is for the hospital's review pharmacists."))
        page = self.paginate_queryset(prescriptions_for_display(review_queue()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=OptionalReasonSerializer, responses=PrescriptionSerializer)
    @action(detail=True, methods=["post"])
    @refuses("not_a_review_pharmacist", "invalid_transition", "prescription_expired", "reason_too_long")
    def approve(self, request, pk=None):
        """A review pharmacist approves a signed prescription."""
        prescription = self.get_object()
        reason = _parse(OptionalReasonSerializer, request).validated_data["reason"]
        return self._render(lifecycle.prescription_approve(by=request.user, prescription=prescription, reason=reason))

    @extend_schema(request=ReasonSerializer, responses=PrescriptionSerializer)
    @action(detail=True, methods=["post"])
    @refuses("not_a_review_pharmacist", "invalid_transition", "prescription_expired", "reason_required",
             "reason_too_long")
    def reject(self, request, pk=None):
        """A review pharmacist rejects a signed prescription, with a reason; it goes back to the doctor."""
        prescription = self.get_object()
        reason = _parse(ReasonSerializer, request).validated_data["reason"]
        return self._render(lifecycle.prescription_reject(by=request.user, prescription=prescription, reason=reason))

    @extend_schema(request=None, responses={201: PrescriptionSavedSerializer})
    @action(detail=True, methods=["post"])
    @refuses("not_the_prescriber", "invalid_transition", "already_revised", "prescribing_closed")
    def revise(self, request, pk=None):
        """The prescribing doctor starts a new draft version from a rejected prescription."""
        prescription = self.get_object()
        return self._saved(lifecycle.prescription_revise(by=request.user, prescription=prescription),
                           status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses=PrescriptionSerializer)
    @action(detail=True, methods=["post"])
    @refuses("not_the_prescriber", "invalid_transition", "reason_required", "reason_too_long")
    def void(self, request, pk=None):
        """The prescribing doctor voids a draft or an approved prescription, with a reason."""
        prescription = self.get_object()
        reason = _parse(ReasonSerializer, request).validated_data["reason"]
        return self._render(lifecycle.prescription_void(by=request.user, prescription=prescription, reason=reason))

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, parameters=[FORMAT_PARAMETER])
    @action(detail=True, methods=["get"], **FHIR_VIEW)
    def fhir(self, request, pk=None):
        """The prescription as a FHIR R4 Bundle of MedicationRequest resources."""
        prescription = prescription_for(request.user, pk, purpose="prescription_fhir_read", queryset=self.get_queryset())
        return Response(prescription_bundle(prescription))
