from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from cloudhospital.audit import access_log_record_many
from cloudhospital.errors import DomainError
from cloudhospital.models import (
    AccessLog,
    LegalHold,
    Notification,
    OutboxMessage,
    OutboxStatus,
    PurgeRun,
    RegulatorEvent,
    SecondFactorCheck,
    SocketTicket,
    User,
)
from cloudhospital.outbox import outbox_requeue
from cloudhospital.retention import legal_hold_clean, legal_hold_place, legal_hold_release


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, DjangoUserAdmin):
    ordering = ["id"]
    list_display = ["phone", "full_name", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["phone", "full_name"]
    fieldsets = [
        (None, {"fields": ["phone", "password"]}),
        ("Person", {"fields": ["full_name", "role", "language"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["phone", "full_name", "role", "password1", "password2"]})]


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only and undeletable: the log is append-only (a trigger refuses UPDATE and
    DELETE on PostgreSQL) and hash-chained per patient (manage.py audit_verify)."""

    list_display = ["at", "user", "patient", "action", "reason", "ip", "seq"]
    list_filter = ["action"]
    search_fields = ["user__full_name", "patient__full_name"]
    date_hierarchy = "at"
    list_select_related = ["user", "patient"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SecondFactorCheck)
class SecondFactorCheckAdmin(admin.ModelAdmin):
    """When each login last proved its second factor (cloudhospital.step_up): the evidence that
    the doctor who admitted or signed was verified, so it is read here and never edited."""

    list_display = ["user", "verified_at"]
    search_fields = ["user__full_name", "user__phone"]
    date_hierarchy = "verified_at"
    list_select_related = ["user"]
    exclude = ["credential"]
    readonly_fields = ["user", "verified_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """What was sent to whom. Read-only: a notification is a record of a message that went out."""

    list_display = ["created_at", "kind", "title", "patient", "sent_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "patient__full_name", "key"]
    date_hierarchy = "created_at"
    list_select_related = ["patient"]
    filter_horizontal = ["recipients"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Side effects waiting for, or given up by, the relay. Read-only but for queueing a
    given-up message again once its cause is fixed (an SMS gateway, a pharmacy's webhook)."""

    list_display = ["id", "task", "args", "status", "attempts", "next_attempt_at", "created_at", "done_at"]
    list_filter = ["status", "task"]
    search_fields = ["task", "last_error"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    actions = ["requeue"]

    @admin.action(description="Queue the selected given-up messages again")
    def requeue(self, request, queryset):
        count = outbox_requeue(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} message(s) queued again.")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SocketTicket)
class SocketTicketAdmin(admin.ModelAdmin):
    """Issued signalling tickets (only their hashes): who, which room, when, spent or not."""

    list_display = ["created_at", "user", "consultation", "used_at"]
    list_filter = [("used_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    readonly_fields = ["token_hash", "user", "consultation", "created_at", "used_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LegalHoldForm(forms.ModelForm):
    """A refusal of cloudhospital.retention.legal_hold_clean shows at its field."""

    class Meta:
        model = LegalHold
        fields = ["patient", "content_type", "object_id", "reason"]

    def clean(self):
        data = super().clean()
        try:
            legal_hold_clean(reason=data.get("reason", ""), patient=data.get("patient"),
                             content_type=data.get("content_type"), object_id=data.get("object_id", ""))
        except DomainError as error:
            raise ValidationError({error.field: error.message}) from error
        return data


@admin.register(LegalHold)
class LegalHoldAdmin(SimpleHistoryAdmin):
    """Legal holds (cloudhospital.retention): placed here on a patient or one object, kept
    until released; `manage.py purge_expired` purges nothing an active hold covers. A hold is
    never edited or deleted, only released, so the history says who held what, and why."""

    list_display = ["placed_at", "__str__", "reason", "placed_by", "released_at", "released_by"]
    list_filter = [("released_at", admin.EmptyFieldListFilter), "content_type"]
    search_fields = ["reason", "object_id", "patient__full_name"]
    raw_id_fields = ["patient"]
    list_select_related = ["patient", "content_type", "placed_by", "released_by"]
    form = LegalHoldForm
    actions = ["release"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["patient", "content_type", "object_id", "reason"]
        return ["patient", "content_type", "object_id", "reason", "placed_by", "placed_at", "released_by", "released_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:  # the form already asked legal_hold_clean; placing records who and when
            obj.pk = legal_hold_place(by=request.user, reason=obj.reason, patient=obj.patient,
                                      content_type=obj.content_type, object_id=obj.object_id).pk

    @admin.action(description="Release the selected holds")
    def release(self, request, queryset):
        try:
            released = [legal_hold_release(by=request.user, hold=hold) for hold in queryset.filter(released_at__isnull=True)]
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return
        self.message_user(request, f"{len(released)} hold(s) released.")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PurgeRun)
class PurgeRunAdmin(admin.ModelAdmin):
    """Every `manage.py purge_expired` run and its report per kind of record. Read-only."""

    list_display = ["started_at", "as_of", "dry_run", "by", "summary"]
    list_filter = ["dry_run"]
    readonly_fields = ["started_at", "as_of", "dry_run", "by", "report"]

    @admin.display(description="Purged / held / skipped")
    def summary(self, run):
        rows = run.report or []
        key = "would_purge" if run.dry_run else "purged"
        return " · ".join(f"{row['kind']}: {row.get(key, 0)}/{row['held']}/{row['skipped']}" for row in rows)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegulatorEvent)
class RegulatorEventAdmin(admin.ModelAdmin):
    """What was reported to the supervision platform (cloudhospital.regulator), and what is
    still waiting: an event that is not delivered shows its outbox attempts and last error,
    and one given up (dead) can be queued again. Read-only; opening one (it names the
    patient) is access-logged."""

    list_display = ["occurred_at", "kind", "event_id", "delivery", "attempts", "last_error", "delivered_at"]
    list_filter = ["kind", ("delivered_at", admin.EmptyFieldListFilter), "outbox__status"]
    search_fields = ["event_id", "kind", "outbox__last_error"]
    date_hierarchy = "occurred_at"
    list_select_related = ["outbox"]
    readonly_fields = ["event_id", "kind", "occurred_at", "payload", "created_at", "outbox", "delivered_at",
                       "delivered_to", "attempts", "last_error"]
    actions = ["requeue"]

    @admin.display(description="Delivery")
    def delivery(self, event):
        if event.delivered_at:
            return "delivered"
        return "given up" if event.outbox and event.outbox.status == OutboxStatus.DEAD else "not delivered yet"

    @admin.display(description="Attempts")
    def attempts(self, event):
        return event.outbox.attempts if event.outbox else 0

    @admin.display(description="Last error")
    def last_error(self, event):
        return event.outbox.last_error if event.outbox else ""

    @admin.action(description="Queue the selected given-up events again")
    def requeue(self, request, queryset):
        ids = [pk for pk in queryset.filter(delivered_at__isnull=True).values_list("outbox_id", flat=True) if pk]
        self.message_user(request, f"{outbox_requeue(message_ids=ids)} event(s) queued again.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, object_id) if request.method == "GET" else None
        patient_id = ((event.payload or {}).get("patient") or {}).get("id") if event else None
        if patient_id:
            access_log_record_many(user=request.user, reasons={patient_id: f"admin: regulator event {event.pk}"},
                                   action="admin_read")
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
