from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from cloudhospital.models import AccessLog, Notification, OutboxMessage, SocketTicket, User
from cloudhospital.outbox import outbox_requeue


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
