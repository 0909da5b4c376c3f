from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from consult.models import (
    Allergy, ChatMessage, Condition, ConditionEvidence, Consultation, ConsultRecording, Medication, Observation, Patient,
    ProxyLink, RecordingChunk, RecordingConsent, RoomPresence,
)
from consult.selectors import log_patient_data_read


class ProxyLinkInline(admin.TabularInline):
    model = ProxyLink
    extra = 0
    raw_id_fields = ["proxy"]


class ConditionInline(admin.TabularInline):
    model = Condition
    extra = 0
    fields = ["icd10_code", "name", "onset_date", "status"]


class AllergyInline(admin.TabularInline):
    model = Allergy
    extra = 0
    fields = ["substance", "category", "reaction", "severity"]


class ReadOnlyInline(admin.TabularInline):
    """Evidence (an uploaded document, a consent, a recording's pieces): written by the domain
    only, so here it is shown and never added, changed or deleted."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConditionEvidenceInline(ReadOnlyInline):
    model = ConditionEvidence
    fields = ["kind", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"]


class AccessLoggedAdmin(SimpleHistoryAdmin):
    """Opening a patient's data in the admin is a read like any other: the change and history
    pages write an access-log row (consult.selectors.log_patient_data_read)."""

    def patient_id_of(self, obj) -> int:
        return obj.patient_id

    def _log_read(self, request, object_id, page: str):
        obj = self.get_object(request, object_id) if request.method == "GET" else None
        if obj is not None:
            log_patient_data_read(request.user, self.patient_id_of(obj), action=f"admin_{page}",
                                  grounds=f"admin: {self.model._meta.model_name} {obj.pk}")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._log_read(request, object_id, "read")
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._log_read(request, object_id, "history_read")
        return super().history_view(request, object_id, extra_context)


@admin.register(Patient)
class PatientAdmin(AccessLoggedAdmin):
    list_display = ["full_name", "masked_id_number", "birth_date", "sex", "phone", "account"]
    search_fields = ["full_name", "phone"]
    list_filter = ["sex"]
    raw_id_fields = ["account"]
    inlines = [ProxyLinkInline, ConditionInline, AllergyInline]

    @admin.display(description="ID number")
    def masked_id_number(self, obj):
        return obj.masked_id_number

    def patient_id_of(self, obj) -> int:
        return obj.pk


@admin.register(ProxyLink)
class ProxyLinkAdmin(SimpleHistoryAdmin):
    list_display = ["proxy", "patient", "relationship", "created_at"]
    raw_id_fields = ["proxy", "patient"]
    list_select_related = ["proxy", "patient"]


class RecordAdmin(AccessLoggedAdmin):
    raw_id_fields = ["patient", "recorded_by"]
    list_select_related = ["patient"]
    search_fields = ["patient__full_name"]


@admin.register(Condition)
class ConditionAdmin(RecordAdmin):
    list_display = ["patient", "icd10_code", "name", "onset_date", "status"]
    list_filter = ["status"]
    inlines = [ConditionEvidenceInline]


@admin.register(Allergy)
class AllergyAdmin(RecordAdmin):
    list_display = ["patient", "substance", "category", "severity"]
    list_filter = ["category", "severity"]


@admin.register(Medication)
class MedicationAdmin(RecordAdmin):
    list_display = ["patient", "name", "dose", "frequency", "active"]
    list_filter = ["active"]


@admin.register(Observation)
class ObservationAdmin(RecordAdmin):
    list_display = ["patient", "kind", "systolic", "diastolic", "pulse", "value", "unit", "measured_at", "source"]
    list_filter = ["kind", "source"]
    date_hierarchy = "measured_at"


# --- Booking desk ---------------------------------------------------------------------

from consult.models import Booking, Clinic, Doctor, DoctorRegistration, Hospital, LeaveBlock, ScheduleTemplate, Slot  # noqa: E402,E501


class ClinicInline(admin.TabularInline):
    model = Clinic
    extra = 0
    fields = ["name", "specialty", "icd10_ranges", "follow_up_only", "is_active"]


@admin.register(Hospital)
class HospitalAdmin(SimpleHistoryAdmin):
    list_display = ["name", "city"]
    search_fields = ["name"]
    filter_horizontal = ["admins"]
    inlines = [ClinicInline]


@admin.register(Clinic)
class ClinicAdmin(SimpleHistoryAdmin):
    list_display = ["name", "hospital", "specialty", "icd10_ranges", "follow_up_only", "is_active"]
    list_filter = ["specialty", "follow_up_only", "is_active"]
    search_fields = ["name", "hospital__name"]
    list_select_related = ["hospital"]


class ScheduleTemplateInline(admin.TabularInline):
    model = ScheduleTemplate
    extra = 0
    fields = ["clinic", "weekday", "start_time", "end_time", "slot_minutes", "capacity", "fee", "active"]
    raw_id_fields = ["clinic"]


class DoctorRegistrationInline(admin.TabularInline):
    """Where the doctor is registered to practise (多点执业): only an active registration at a
    clinic's hospital lets the doctor be booked there (consult.doctors)."""

    model = DoctorRegistration
    extra = 0
    fields = ["hospital", "registered_on", "active"]
    raw_id_fields = ["hospital"]


@admin.register(Doctor)
class DoctorAdmin(SimpleHistoryAdmin):
    list_display = ["name", "title", "hospital", "licence_number", "practice_scope", "independent_practice_since",
                    "verified", "fee"]
    list_filter = ["verified", "title"]
    search_fields = ["user__full_name", "licence_number"]
    list_select_related = ["user", "hospital"]
    raw_id_fields = ["user", "hospital"]
    filter_horizontal = ["clinics"]
    inlines = [DoctorRegistrationInline, ScheduleTemplateInline]
    actions = ["mark_verified"]

    @admin.action(description="Mark selected doctors verified (licence checked)")
    def mark_verified(self, request, queryset):
        from cloudhospital.audit import stamp

        for doctor in queryset.filter(verified=False):
            doctor.verified = True
            stamp(doctor, by=request.user, reason="licence verified")
            doctor.save(update_fields=["verified"])


@admin.register(ScheduleTemplate)
class ScheduleTemplateAdmin(SimpleHistoryAdmin):
    """Read-only here: sessions change through the API so their slots are regenerated."""

    list_display = ["doctor", "clinic", "weekday", "start_time", "end_time", "slot_minutes", "capacity", "fee", "active"]
    list_filter = ["weekday", "active"]
    list_select_related = ["doctor__user", "clinic"]
    search_fields = ["doctor__user__full_name"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(LeaveBlock)
class LeaveBlockAdmin(SimpleHistoryAdmin):
    list_display = ["doctor", "starts_on", "ends_on", "reason", "created_by"]
    list_select_related = ["doctor__user", "created_by"]
    readonly_fields = ["doctor", "starts_on", "ends_on", "reason", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    """Slots are generated from templates; the booked count only moves with bookings."""

    list_display = ["starts_at", "doctor", "clinic", "booked", "capacity", "is_open"]
    list_filter = ["is_open"]
    list_select_related = ["doctor__user", "clinic"]
    date_hierarchy = "starts_at"
    search_fields = ["doctor__user__full_name", "clinic__name"]
    readonly_fields = ["doctor", "clinic", "template", "starts_at", "ends_at", "capacity", "booked", "fee",
                       "is_open", "closed_reason"]

    def has_add_permission(self, request):
        return False


@admin.register(Booking)
class BookingAdmin(AccessLoggedAdmin):
    """Read-only: every status change goes through consult.booking and its history."""

    list_display = ["id", "patient", "slot", "queue_number", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["patient", "slot__doctor__user"]
    search_fields = ["patient__full_name"]
    raw_id_fields = ["patient", "slot", "booked_by"]
    exclude = ["idempotency_key", "request_fingerprint"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    extra = 0
    fields = ["sent_at", "role", "sender", "text"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RecordingConsentInline(ReadOnlyInline):
    """Each side's consent to recording (consult.recording): given and revoked there only."""

    model = RecordingConsent
    fields = ["side", "given_by", "role", "given_at", "revoked_by", "revoked_at"]


class ConsultRecordingInline(ReadOnlyInline):
    model = ConsultRecording
    fields = ["status", "started_by", "started_at", "completed_at", "chunk_count", "size_bytes", "sha256"]
    show_change_link = True


class RecordingChunkInline(ReadOnlyInline):
    model = RecordingChunk
    fields = ["seq", "size_bytes", "sha256", "received_at"]


@admin.register(Consultation)
class ConsultationAdmin(AccessLoggedAdmin):
    """The record of a video consult. States move through consult.consultation only, so the
    state and its times are read-only here."""

    list_display = ["id", "booking", "status", "admitted_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["booking__patient__full_name", "booking__slot__doctor__user__full_name"]
    raw_id_fields = ["booking"]
    readonly_fields = ["booking", "status", "admitted_at", "started_at", "ended_at", "created_at"]
    list_select_related = ["booking__patient", "booking__slot__doctor__user"]
    inlines = [ChatMessageInline, RecordingConsentInline, ConsultRecordingInline]

    def patient_id_of(self, obj) -> int:
        return obj.booking.patient_id


@admin.register(ConsultRecording)
class ConsultRecordingAdmin(AccessLoggedAdmin):
    """A consult's audio and video (互联网诊疗监管细则（试行）: kept at least 3 years). Written by
    consult.recording only and kept as evidence: read-only, and opening one is access-logged."""

    list_display = ["id", "consultation", "status", "started_at", "completed_at", "size_bytes"]
    list_filter = ["status"]
    list_select_related = ["consultation"]
    readonly_fields = ["consultation", "started_by", "mime_type", "status", "started_at", "completed_at",
                       "chunk_count", "size_bytes", "duration_ms", "sha256", "file"]
    inlines = [RecordingChunkInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def patient_id_of(self, obj) -> int:
        return obj.consultation.booking.patient_id

    def history_view(self, request, object_id, extra_context=None):
        # No simple-history table (a recording never changes once complete): the admin's own log.
        self._log_read(request, object_id, "history_read")
        return admin.ModelAdmin.history_view(self, request, object_id, extra_context)


@admin.register(RoomPresence)
class RoomPresenceAdmin(admin.ModelAdmin):
    """Who has a signalling socket open now (for support staff)."""

    list_display = ["consultation", "user", "role", "joined_at"]
    list_select_related = ["user"]
    readonly_fields = ["consultation", "user", "role", "channel_name", "joined_at"]

    def has_add_permission(self, request):
        return False


from consult import consent_admin  # noqa: E402,F401  (registers the consent admin)
