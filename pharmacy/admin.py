"""Admin for pharmacies, their staff, opening hours, API tokens and stock.

API tokens are issued with the "Issue an API token" action on pharmacies: the plaintext
appears once in the confirmation message and is not stored. Tokens are revoked with the
"Revoke" action on the token list; they are never edited.
"""

from django.contrib import admin, messages
from django.db.models import F
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from cloudhospital.errors import DomainError
from pharmacy.access import staff_add, token_create, token_revoke
from pharmacy.models import (
    DispenseRecord,
    OpeningHours,
    Order,
    OrderAssignment,
    OrderLine,
    Pharmacy,
    PharmacyApiToken,
    PharmacyStaff,
    Stock,
)
from pharmacy.stock import stock_upsert_bulk


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class PharmacyStaffInline(admin.TabularInline):
    model = PharmacyStaff
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["added_at"]


@admin.register(Pharmacy)
class PharmacyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "licence_number", "district", "delivers", "delivery_radius_km", "delivery_cutoff", "active"]
    list_filter = ["active", "delivers", "district"]
    search_fields = ["name", "licence_number", "address"]
    inlines = [OpeningHoursInline, PharmacyStaffInline]
    actions = ["issue_api_token"]
    fieldsets = [
        (None, {"fields": ["name", "licence_number", "active", "phone"]}),
        ("Location", {"fields": ["address", "district", "latitude", "longitude"]}),
        ("Delivery", {"fields": ["delivers", "delivery_radius_km", "delivery_cutoff"]}),
        ("Webhook", {"fields": ["webhook_url", "webhook_secret"], "classes": ["collapse"]}),
    ]

    @admin.action(description="Issue an API token (shown once)")
    def issue_api_token(self, request, queryset):
        for pharmacy in queryset:
            try:
                token, plaintext = token_create(pharmacy=pharmacy, name=f"Issued in admin by {request.user}", by=request.user)
            except DomainError as error:
                self.message_user(request, f"{pharmacy}: {error.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                format_html(
                    "API token for {}: <code>{}</code> — copy it now, it will not be shown again. "
                    "Send it as <code>Authorization: Pharmacy &lt;token&gt;</code>.",
                    pharmacy, plaintext,
                ),
                messages.WARNING,
            )


@admin.register(PharmacyStaff)
class PharmacyStaffAdmin(SimpleHistoryAdmin):
    list_display = ["user", "pharmacy", "added_at"]
    search_fields = ["user__full_name", "user__phone", "pharmacy__name"]
    autocomplete_fields = ["user", "pharmacy"]
    list_select_related = ["user", "pharmacy"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        membership = staff_add(pharmacy=obj.pharmacy, user=obj.user, by=request.user)
        obj.pk = membership.pk


@admin.register(PharmacyApiToken)
class PharmacyApiTokenAdmin(SimpleHistoryAdmin):
    list_display = ["prefix", "name", "pharmacy", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "pharmacy__name"]
    list_select_related = ["pharmacy"]
    readonly_fields = ["pharmacy", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Issued from the pharmacy list so the plaintext can be shown once.
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token=token, by=request.user)
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)


@admin.register(Stock)
class StockAdmin(SimpleHistoryAdmin):
    list_display = ["pharmacy", "drug", "on_hand", "reserved", "available", "updated_at"]
    list_filter = ["pharmacy__district"]
    search_fields = ["pharmacy__name", "drug__code", "drug__generic_name", "drug__generic_name_zh"]
    list_select_related = ["pharmacy", "drug"]
    autocomplete_fields = ["pharmacy"]
    # Reservations move only through pharmacy.stock; an edit here could break an order.
    readonly_fields = ["reserved", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "pharmacy", "drug"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        (result,) = stock_upsert_bulk(pharmacy=obj.pharmacy, lines=[(obj.drug.code, obj.on_hand)], by=request.user)
        if not result.ok:
            self.message_user(request, f"{obj.drug.code}: {result.message}", messages.ERROR)
        obj.pk = Stock.objects.get(pharmacy=obj.pharmacy, drug=obj.drug).pk

    @admin.display(description="available", ordering=F("on_hand") - F("reserved"))
    def available(self, obj):
        return obj.available


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ["drug", "quantity"]

    def has_add_permission(self, request, obj=None):
        return False


class OrderAssignmentInline(admin.TabularInline):
    model = OrderAssignment
    extra = 0
    can_delete = False
    readonly_fields = ["attempt", "pharmacy", "assigned_at", "ended_at", "outcome", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(SimpleHistoryAdmin):
    """Read-only: orders move only through pharmacy.orders. Hospital staff filter on
    "flagged for staff" to follow up failed orders and locked pickups."""

    list_display = ["id", "kind", "status", "pharmacy", "patient", "flagged_for_staff", "reassignments", "created_at"]
    list_filter = ["status", "kind", "flagged_for_staff"]
    search_fields = ["=id", "=prescription__id", "pharmacy__name", "patient__full_name"]
    list_select_related = ["pharmacy", "patient"]
    inlines = [OrderLineInline, OrderAssignmentInline]
    exclude = ["pickup_code"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Order._meta.fields if field.name != "pickup_code"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DispenseRecord)
class DispenseRecordAdmin(SimpleHistoryAdmin):
    list_display = ["order", "pharmacy", "dispensed_by", "handover", "dispensed_at"]
    list_select_related = ["order", "pharmacy"]
    readonly_fields = ["order", "prescription", "pharmacy", "pharmacist", "dispensed_by", "lines", "dispensed_at",
                       "handover"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
