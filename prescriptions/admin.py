from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from cloudhospital.errors import DomainError
from prescriptions.models import Drug, Prescription, PrescriptionItem, PrescriptionStatus, SigningKey
from prescriptions.signing import signing_key_revoke


@admin.register(Drug)
class DrugAdmin(SimpleHistoryAdmin):
    list_display = ["code", "generic_name_zh", "generic_name", "strength", "strength_unit", "form",
                    "therapeutic_class", "max_daily_dose", "renal_contraindicated_below", "active"]
    list_filter = ["therapeutic_class", "active", "prescription_only"]
    search_fields = ["code", "generic_name", "generic_name_zh", "ingredient", "ingredient_zh", "atc_code"]
    fieldsets = [
        (None, {"fields": ["code", "generic_name", "generic_name_zh", "ingredient", "ingredient_zh", "atc_code",
                           "form", "strength", "strength_unit", "route", "therapeutic_class", "allergy_groups",
                           "prescription_only", "active"]}),
        ("Dosing (per day, in the strength unit)", {"fields": ["usual_daily_dose", "max_daily_dose"]}),
        ("Renal rule (eGFR mL/min/1.73m2)", {"fields": [
            "renal_contraindicated_below", "renal_cap_below", "renal_max_daily_dose",
            "renal_reduce_below", "renal_reduced_max_daily_dose"]}),
        ("Source", {"fields": ["source_note"]}),
    ]


@admin.register(SigningKey)
class SigningKeyAdmin(SimpleHistoryAdmin):
    """Keys are made by prescriptions.signing on first use; the admin can only look and revoke.
    The encrypted private key is not among the fields, so no admin page renders it."""

    list_display = ["key_id", "doctor", "algorithm", "created_at", "retired_at", "revoked_at"]
    list_filter = ["algorithm"]
    search_fields = ["key_id", "doctor__full_name", "doctor__phone"]
    fields = ["key_id", "doctor", "algorithm", "public_key", "created_at", "retired_at", "revoked_at", "revoked_reason"]
    readonly_fields = fields
    list_select_related = ["doctor"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected keys (compromised: their signatures become invalid)")
    def revoke(self, request, queryset):
        for key in queryset:
            try:
                signing_key_revoke(key=key, by=request.user, reason="revoked in admin")
            except DomainError as error:
                self.message_user(request, error.message, level=messages.WARNING)


class PrescriptionItemInline(admin.TabularInline):
    model = PrescriptionItem
    extra = 0
    fields = ["position", "drug", "dose", "dose_unit", "frequency", "route", "days_supply", "quantity", "instructions"]
    autocomplete_fields = ["drug"]

    def _locked(self, obj) -> bool:
        return obj is not None and obj.status != PrescriptionStatus.DRAFT

    def get_readonly_fields(self, request, obj=None):
        return self.fields if self._locked(obj) else []

    def has_add_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)


@admin.register(Prescription)
class PrescriptionAdmin(SimpleHistoryAdmin):
    """Look-up and audit. Prescriptions are written through the API (prescriptions.lifecycle);
    once signed nothing is editable here either, and status never is: it changes only through
    the lifecycle's transitions."""

    list_display = ["id", "version", "patient", "doctor", "status", "long_term", "signed_at", "expires_at", "reviewed_by"]
    list_filter = ["status", "long_term"]
    search_fields = ["=id", "patient__full_name", "doctor__full_name", "key_id"]
    list_select_related = ["patient", "doctor", "reviewed_by"]
    date_hierarchy = "created_at"
    inlines = [PrescriptionItemInline]
    raw_id_fields = ["consultation", "patient", "doctor", "previous", "reviewed_by"]
    always_read_only = [
        "status", "version", "previous", "created_at", "updated_at", "issued_at", "signed_at", "signature", "key_id",
        "content_hash", "override_reasons", "reviewed_by", "reviewed_at", "review_reason", "voided_at",
        "voided_reason", "expires_at", "dispensed_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != PrescriptionStatus.DRAFT:
            return [field.name for field in Prescription._meta.fields if field.editable]
        return self.always_read_only

    def has_add_permission(self, request):
        # A prescription belongs to a consultation and is written by its doctor through the API.
        return False

    def has_delete_permission(self, request, obj=None):
        return False
