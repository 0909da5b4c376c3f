from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from cloudhospital.models import AccessLog, Notification, User


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, DjangoUserAdmin):
    ordering = ["id"]
    list_display = ["phone", "full_name", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["phone", "full_name"]
    fieldsets = [
        (None, {"fields": ["phone", "password"]}),
        ("Person", {"fields": ["full_name", "role"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["phone", "full_name", "role", "password1", "password2"]})]


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "patient", "action", "reason"]
    list_filter = ["action"]
    search_fields = ["user__full_name", "patient__full_name"]
    date_hierarchy = "at"
    list_select_related = ["user", "patient"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
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
