"""Admin for consent (consult.consent): the versioned informed-consent texts, who accepted
which version, the proxy consents, and each patient's activity ("by 张薇 on behalf of 张林").
Imported by consult.admin. Acceptances and proxy consents are written by the domain only
(the family's pages and API): here they are read, and opening one is access-logged."""

from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from consult.activity import patient_activity
from consult.admin import AccessLoggedAdmin
from consult.models import ConsentAcceptance, ConsentText, Patient, ProxyConsent
from consult.selectors import log_patient_data_read


@admin.register(ConsentText)
class ConsentTextAdmin(SimpleHistoryAdmin):
    """A new version (a higher number, effective from a date) makes every patient accept again
    before their next booking."""

    list_display = ["kind", "version", "title_zh", "title_en", "effective_from"]
    list_filter = ["kind"]
    ordering = ["kind", "-version"]

    def get_readonly_fields(self, request, obj=None):
        # A text someone accepted is what they accepted: it is never edited, only superseded.
        if obj is not None and obj.acceptances.exists():
            return ["kind", "version", "title_zh", "title_en", "text_zh", "text_en", "effective_from", "created_at"]
        return ["created_at"]


class ReadOnlyConsentAdmin(AccessLoggedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentAcceptance)
class ConsentAcceptanceAdmin(ReadOnlyConsentAdmin):
    list_display = ["patient", "text", "accepted_by", "proxy_relationship", "accepted_at", "activity"]
    list_select_related = ["patient", "text", "accepted_by"]
    raw_id_fields = ["patient", "accepted_by"]
    list_filter = ["text"]

    @admin.display(description="activity")
    def activity(self, obj):
        return format_html('<a href="{}">activity</a>', reverse("admin:consult_patient_activity", args=[obj.patient_id]))


@admin.register(ProxyConsent)
class ProxyConsentAdmin(ReadOnlyConsentAdmin):
    list_display = ["link", "granted_by", "grantor_role", "scope", "starts_at", "ends_at", "status", "activity"]
    list_select_related = ["link__proxy", "link__patient", "granted_by"]
    list_filter = ["status", "grantor_role"]
    raw_id_fields = ["link", "granted_by", "revoked_by"]

    def patient_id_of(self, obj) -> int:
        return obj.link.patient_id

    @admin.display(description="activity")
    def activity(self, obj):
        return format_html('<a href="{}">activity</a>', reverse("admin:consult_patient_activity", args=[obj.link.patient_id]))

    def get_urls(self):
        return [path("activity/<int:patient_id>/", self.admin_site.admin_view(self.activity_view),
                     name="consult_patient_activity"), *super().get_urls()]

    def activity_view(self, request, patient_id: int):
        """What was done for the patient and by whom (a read of the record: access-logged)."""
        patient = get_object_or_404(Patient, pk=patient_id)
        log_patient_data_read(request.user, patient.pk, action="admin_activity_read", grounds=f"admin: activity {patient.pk}")
        return TemplateResponse(request, "admin/consult/patient_activity.html", {
            **self.admin_site.each_context(request), "title": f"Activity: {patient.full_name}", "patient": patient,
            "activity": patient_activity(patient), "opts": Patient._meta,
        })
