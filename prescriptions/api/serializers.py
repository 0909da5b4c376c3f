"""Shapes of formulary entries, published signing keys and prescriptions on the wire."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cloudhospital.api.actions import allowed_actions_field
from cloudhospital.api.serializers import CodeRelatedField, StrictSerializer
from consult.api.serializers import DiagnosisOutSerializer
from prescriptions.checks import BLOCK, FREQUENCIES, WARN
from prescriptions.lifecycle import PRESCRIPTION_ACTIONS, ItemDraft, prescription_allowed_actions
from prescriptions.models import Drug, Prescription, PrescriptionItem, SigningKey
from prescriptions.signing import public_key_pem


class DrugSerializer(serializers.ModelSerializer):
    therapeutic_class_display = serializers.CharField(source="get_therapeutic_class_display", read_only=True)
    display_name = serializers.CharField(read_only=True, help_text="The generic name in the response's language.")

    class Meta:
        model = Drug
        fields = [
            "id", "code", "generic_name", "generic_name_zh", "display_name", "ingredient", "ingredient_zh", "atc_code", "form",
            "strength", "strength_unit", "route", "therapeutic_class", "therapeutic_class_display",
            "usual_daily_dose", "max_daily_dose", "renal_contraindicated_below", "renal_cap_below",
            "renal_max_daily_dose", "renal_reduce_below", "renal_reduced_max_daily_dose", "prescription_only",
            "source_note",
        ]
        read_only_fields = fields


class SigningKeySerializer(serializers.ModelSerializer):
    """A published public key. The private key is not a field here, so no response can carry it."""

    doctor_name = serializers.CharField(source="doctor.full_name", read_only=True)
    status = serializers.SerializerMethodField()
    public_key_pem = serializers.SerializerMethodField()

    class Meta:
        model = SigningKey
        fields = [
            "key_id", "algorithm", "public_key", "public_key_pem", "doctor", "doctor_name", "status",
            "created_at", "retired_at", "revoked_at", "revoked_reason",
        ]
        read_only_fields = fields
        extra_kwargs = {"public_key": {"help_text": "Raw 32-byte Ed25519 public key, standard base64."}}

    # A plain string in the schema: an enum here would collide with the other "status" enums.
    @extend_schema_field(serializers.CharField(help_text='"current", "retired" (rotated; still verifies) or "revoked".'))
    def get_status(self, key) -> str:
        if key.revoked_at:
            return "revoked"
        return "retired" if key.retired_at else "current"

    def get_public_key_pem(self, key) -> str:
        return public_key_pem(key)


# --- Prescriptions ----------------------------------------------------------------------
class PrescriptionDiagnosisSerializer(StrictSerializer):
    code = serializers.CharField(max_length=12, help_text="ICD-10 code, e.g. I10 or N18.3.")
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class ItemInSerializer(StrictSerializer):
    drug = CodeRelatedField(
        slug_field="code", max_length=Drug._meta.get_field("code").max_length, queryset=Drug.objects.filter(active=True),
        help_text="Formulary drug code (see /api/drugs/), e.g. AMLO-T5.",
    )
    dose = serializers.DecimalField(max_digits=8, decimal_places=3, help_text="Per administration, > 0.")
    dose_unit = serializers.CharField(max_length=10, help_text='"mg", "g", "ug", or a count: "tablet", "片", "粒".')
    frequency = serializers.CharField(max_length=10, help_text=f"One of: {', '.join(FREQUENCIES)}.")
    route = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                  help_text="Defaults to the drug's route.")
    days_supply = serializers.IntegerField(min_value=1, max_value=366)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000,
                                        help_text="Dosage units: ceil(dose / strength × times a day × days).")
    instructions = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def to_draft(self, data) -> ItemDraft:
        return ItemDraft(**data)


class PrescriptionWriteSerializer(StrictSerializer):
    diagnosis = PrescriptionDiagnosisSerializer(many=True, help_text="1 to 20 ICD-10 diagnoses.")
    long_term = serializers.BooleanField(required=False, default=False, help_text="长期处方: up to 84 days.")
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    validity_days = serializers.IntegerField(
        required=False, min_value=1, max_value=366,
        help_text="处方管理办法: valid on the day written (1, the default); up to 3 with `validity_reason`.")
    validity_reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                            help_text="Why the prescription is valid for more than one day.")
    items = ItemInSerializer(many=True, max_length=20, help_text="Replaces all items. At most 5 are accepted.")

    def domain_kwargs(self) -> dict:
        data = dict(self.validated_data)
        if "items" in data:
            data["items"] = [ItemDraft(**item) for item in data["items"]]
        if "diagnosis" in data:
            data["diagnosis"] = [dict(d) for d in data["diagnosis"]]
        return data


class PrescriptionCreateSerializer(PrescriptionWriteSerializer):
    consultation = serializers.IntegerField(min_value=1, max_value=2**31 - 1,
                                            help_text="A consultation of yours (you are its doctor).")


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=[BLOCK, WARN])
    message = serializers.CharField()
    item = serializers.IntegerField(allow_null=True, help_text="Position of the item concerned.")
    drug_code = serializers.CharField(allow_null=True)
    source = serializers.CharField(allow_blank=True, help_text="The label or guideline the finding rests on.")
    key = serializers.CharField(help_text="Key for `overrides` when signing over a warning.")


class CheckInSerializer(StrictSerializer):
    long_term = serializers.BooleanField(required=False)
    items = ItemInSerializer(many=True, max_length=20, required=False,
                             help_text="Items to check instead of the saved ones (nothing is saved).")


class CheckOutSerializer(serializers.Serializer):
    findings = FindingSerializer(many=True)
    can_sign = serializers.BooleanField(help_text="False when any finding blocks.")
    overrides_required = serializers.ListField(child=serializers.CharField(),
                                               help_text="Keys of the warnings that need a reason to sign.")


class SignInSerializer(StrictSerializer):
    overrides = serializers.DictField(child=serializers.CharField(max_length=500, allow_blank=True),
                                      required=False, default=dict, help_text="{finding key: written reason}.")
    otp = serializers.CharField(
        max_length=12, required=False, allow_blank=True,
        help_text="The doctor's authenticator code, in this very request (互联网诊疗监管细则（试行）: a prescription "
        "is issued by the doctor in person, never generated automatically). A code is accepted once.")


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class OptionalReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DrugBriefSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True, help_text="The generic name in the response's language.")

    class Meta:
        model = Drug
        fields = ["id", "code", "generic_name", "generic_name_zh", "display_name", "form", "strength", "strength_unit"]
        read_only_fields = fields


class ItemOutSerializer(serializers.ModelSerializer):
    drug = DrugBriefSerializer(read_only=True)
    frequency_display = serializers.SerializerMethodField()

    class Meta:
        model = PrescriptionItem
        fields = ["position", "drug", "dose", "dose_unit", "frequency", "frequency_display", "route",
                  "days_supply", "quantity", "instructions"]
        read_only_fields = fields

    def get_frequency_display(self, item) -> str:
        frequency = FREQUENCIES.get(item.frequency)
        return frequency.label_zh if frequency else item.frequency


class PersonBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()


class PrescriptionSerializer(serializers.ModelSerializer):
    patient = PersonBriefSerializer(read_only=True)
    doctor = PersonBriefSerializer(read_only=True)
    hospital = serializers.SerializerMethodField()
    reviewed_by = PersonBriefSerializer(read_only=True, allow_null=True)
    patient_confirmed_by = PersonBriefSerializer(
        read_only=True, allow_null=True,
        help_text="Who confirmed a long-term prescription beyond 4 weeks (the patient or a proxy; 长期处方管理规范).")
    revision = serializers.SerializerMethodField()
    items = ItemOutSerializer(many=True, read_only=True)
    diagnosis = DiagnosisOutSerializer(many=True, read_only=True)
    allowed_actions = allowed_actions_field(PRESCRIPTION_ACTIONS, prescription_allowed_actions)

    class Meta:
        model = Prescription
        fields = [
            "id", "status", "version", "previous", "revision", "consultation", "patient", "doctor", "hospital",
            "diagnosis", "long_term", "notes", "items", "created_at", "updated_at", "issued_at", "signed_at",
            "expires_at", "signature", "key_id", "content_hash", "signed_content", "override_reasons",
            "reviewed_by", "reviewed_at", "review_reason", "voided_at", "voided_reason", "dispensed_at",
            "validity_days", "validity_reason", "patient_confirmed_by", "patient_confirmed_at", "review_key_id",
            "review_signature", "review_signed_content", "allowed_actions",
        ]
        read_only_fields = fields

    def get_hospital(self, prescription) -> str:
        profile = getattr(prescription.doctor, "doctor_profile", None)
        return profile.hospital.name if profile else ""

    def get_revision(self, prescription) -> int | None:
        revision = getattr(prescription, "revision", None)
        return revision.pk if revision else None


class PrescriptionSavedSerializer(PrescriptionSerializer):
    findings = serializers.SerializerMethodField()

    class Meta(PrescriptionSerializer.Meta):
        fields = [*PrescriptionSerializer.Meta.fields, "findings"]
        read_only_fields = fields

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, prescription) -> list:
        return [finding.as_dict() for finding in self.context.get("findings", [])]


class VerifySerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    reason = serializers.CharField()
    algorithm = serializers.CharField()
    key_id = serializers.CharField()
    signature = serializers.CharField()
    content_hash = serializers.CharField()
    signed_content = serializers.JSONField(allow_null=True,
                                           help_text="Sign-able content; canonical JSON of it is what was signed.")
