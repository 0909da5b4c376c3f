"""Shapes of patients and health-record entries on the wire."""

from django.urls import reverse
from rest_framework import serializers

from cloudhospital.api.serializers import MaskedIdNumberField, StrictModelSerializer, StrictSerializer
from consult.models import (
    Allergy,
    Condition,
    ConditionEvidence,
    Medication,
    Observation,
    ObservationKind,
    Patient,
    ProxyLink,
    Relationship,
)
from cloudhospital.identity import mask_mobile
from consult.icd10 import icd10_display_name, icd10_name_en

class PatientSerializer(serializers.ModelSerializer):
    id_number = MaskedIdNumberField()
    age = serializers.IntegerField(read_only=True)
    relationship = serializers.SerializerMethodField(help_text='"self", or what the patient is to you (parent, ...).')
    has_login = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["id", "full_name", "id_number", "birth_date", "age", "sex", "phone", "address", "relationship", "has_login", "created_at"]
        read_only_fields = fields

    def get_relationship(self, patient) -> str:
        from consult.selectors import relationship_to

        viewer = self.context.get("viewer") or getattr(self.context.get("request"), "user", None)
        return relationship_to(viewer, patient) if viewer and viewer.is_authenticated else ""

    def get_has_login(self, patient) -> bool:
        return patient.account_id is not None

class DependantCreateSerializer(StrictSerializer):
    full_name = serializers.CharField(max_length=64)
    id_number = serializers.CharField(max_length=18, min_length=18)
    relationship = serializers.ChoiceField(choices=Relationship.choices)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

class PatientUpdateSerializer(StrictSerializer):
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)

class ProxySerializer(serializers.ModelSerializer):
    full_name = serializers.CharField(source="proxy.full_name", read_only=True)
    phone = serializers.SerializerMethodField()

    class Meta:
        model = ProxyLink
        fields = ["id", "full_name", "phone", "relationship", "created_at"]
        read_only_fields = fields

    def get_phone(self, link) -> str:
        return mask_mobile(link.proxy.phone)

class ProxyAddSerializer(StrictSerializer):
    phone = serializers.CharField(max_length=20, help_text="Phone of a registered account to act for this patient.")
    relationship = serializers.ChoiceField(choices=Relationship.choices)

class RecordedBySerializer(StrictModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.full_name", read_only=True, default=None, allow_null=True)

class DiagnosisOutSerializer(serializers.Serializer):
    """An ICD-10 diagnosis as written, with its names from the catalogue (consult.icd10)."""

    code = serializers.CharField()
    name = serializers.CharField(help_text="As the doctor wrote it.")
    name_en = serializers.SerializerMethodField(help_text="English name of a catalogued code, else empty.")
    display_name = serializers.SerializerMethodField(help_text="The name in the request's language.")

    def get_name_en(self, entry) -> str:
        return icd10_name_en(entry["code"])

    def get_display_name(self, entry) -> str:
        return icd10_display_name(entry["code"], entry.get("name", ""))


class ConditionEvidenceSerializer(serializers.ModelSerializer):
    """An evidence file of the offline diagnosis; `file_url` opens it (access-logged)."""

    file_url = serializers.SerializerMethodField()

    def get_file_url(self, evidence) -> str:
        return reverse("condition-evidence-file", kwargs={"patient_pk": evidence.condition.patient_id, "pk": evidence.pk})

    class Meta:
        model = ConditionEvidence
        fields = ["id", "condition", "kind", "content_type", "size", "original_name", "uploaded_at", "file_url"]
        read_only_fields = fields


class ConditionSerializer(RecordedBySerializer):
    name_en = serializers.SerializerMethodField(help_text="English name of a catalogued code, else empty.")
    display_name = serializers.SerializerMethodField(help_text="The name in the request's language.")

    def get_name_en(self, condition) -> str:
        return icd10_name_en(condition.icd10_code)

    def get_display_name(self, condition) -> str:
        return icd10_display_name(condition.icd10_code, condition.name)

    class Meta:
        model = Condition
        fields = ["id", "icd10_code", "name", "name_en", "display_name", "onset_date", "status",
                  "diagnosed_institution", "diagnosed_on", "recorded_by", "recorded_at"]
        read_only_fields = ["id", "recorded_by", "recorded_at"]
        extra_kwargs = {"name": {"required": False}}

class AllergySerializer(RecordedBySerializer):
    class Meta:
        model = Allergy
        fields = ["id", "substance", "category", "reaction", "severity", "recorded_by", "recorded_at"]
        read_only_fields = ["id", "recorded_by", "recorded_at"]

class MedicationSerializer(RecordedBySerializer):
    class Meta:
        model = Medication
        fields = ["id", "name", "drug_code", "dose", "frequency", "started_on", "active", "recorded_by", "recorded_at"]
        read_only_fields = ["id", "recorded_by", "recorded_at"]
        # With a formulary `drug_code` the name may be left out: the formulary's name is kept.
        extra_kwargs = {"name": {"required": False}}

class ObservationSerializer(RecordedBySerializer):
    systolic = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000)
    diastolic = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000)
    pulse = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=1000)
    value = serializers.DecimalField(max_digits=7, decimal_places=2, required=False, allow_null=True)

    class Meta:
        model = Observation
        fields = ["id", "kind", "systolic", "diastolic", "pulse", "value", "unit", "measured_at", "source", "recorded_by",
                  "recorded_at", "entered_in_error_at", "entered_in_error_reason"]
        read_only_fields = ["id", "unit", "source", "recorded_by", "recorded_at", "entered_in_error_at",
                            "entered_in_error_reason"]


class EnteredInErrorSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=200, help_text="What was wrong, e.g. 袖带绑错了 / typed 190 for 130.")

class RecordSerializer(serializers.Serializer):
    """The one-screen summary of a patient's record."""

    patient = PatientSerializer()
    conditions = ConditionSerializer(many=True, help_text="Active conditions only.")
    allergies = AllergySerializer(many=True)
    medications = MedicationSerializer(many=True, help_text="Current medications.")
    blood_pressure = ObservationSerializer(many=True, help_text="The last 10 readings, newest first.")
    latest_egfr = ObservationSerializer(allow_null=True)
    latest_creatinine = ObservationSerializer(allow_null=True)

OBSERVATION_KINDS = ObservationKind


class AccessLogEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    who = serializers.CharField(source="user.full_name")
    role = serializers.CharField(source="user.role")
    action = serializers.CharField()
    reason = serializers.CharField()
    ip = serializers.CharField()
