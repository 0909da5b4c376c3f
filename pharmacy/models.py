"""Pharmacies, who acts for them (staff and API tokens), their opening hours and their stock.

Fulfilment orders come later and will hang off a prescription; they reserve and consume
`Stock` through pharmacy.stock and choose a pharmacy through pharmacy.dispatch.
"""

from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cloudhospital.models import Role
from consult.models.clinics import Weekday  # one calendar for clinic sessions and opening hours

PHARMACY_ROLES = (Role.PHARMACY_STAFF, Role.PHARMACIST)
# A delivery radius is bounded so the delivery search can use a fixed bounding box.
MAX_DELIVERY_RADIUS_KM = 50


class Pharmacy(models.Model):
    """An independent pharmacy that receives orders through the API (医药分离)."""

    name = models.CharField(max_length=120)
    licence_number = models.CharField(
        max_length=40, unique=True, help_text="药品经营许可证 number, e.g. 浙CB5740001."
    )
    address = models.CharField(max_length=200)
    district = models.CharField(max_length=40, blank=True, help_text="e.g. 海曙区 Haishu")
    phone = models.CharField(max_length=20, blank=True)
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    delivers = models.BooleanField(default=False, help_text="Offers home delivery.")
    delivery_radius_km = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_DELIVERY_RADIUS_KM)],
    )
    delivery_cutoff = models.TimeField(
        default=time(18, 0), help_text="Orders placed before this local time are delivered the next day."
    )
    webhook_url = models.URLField(blank=True, help_text="Receives new-order events (optional).")
    webhook_secret = models.CharField(max_length=128, blank=True, help_text="Key of the HMAC-SHA256 signature.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["webhook_secret"])

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "药房"
        verbose_name_plural = "药房"
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="pharmacy_latitude_range"),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180), name="pharmacy_longitude_range"
            ),
            models.CheckConstraint(
                condition=Q(delivery_radius_km__gte=0, delivery_radius_km__lte=MAX_DELIVERY_RADIUS_KM),
                name="pharmacy_delivery_radius_range",
            ),
        ]
        indexes = [
            # The dispatch search prefilters active pharmacies by a lat/lng bounding box.
            models.Index(fields=["latitude", "longitude"], name="pharmacy_lat_lng", condition=Q(active=True)),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.delivers and not self.delivery_radius_km:
            raise ValidationError({"delivery_radius_km": "A delivering pharmacy needs a delivery radius."})


class OpeningHours(models.Model):
    """One opening interval on one weekday, in local time (Asia/Shanghai).

    A day may have several intervals (a lunch break). `closes` 00:00 means midnight, the end
    of the day, so a 24-hour pharmacy is 00:00-00:00 every day and a night shift past
    midnight is two rows (20:00-00:00 and 00:00-08:00 the next day).
    """

    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["pharmacy", "weekday", "opens"]
        verbose_name = "营业时间"
        verbose_name_plural = "营业时间"
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="opening_hours_weekday_range"),
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")) | Q(closes=time(0, 0)), name="opening_hours_closes_after_opens"
            ),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self):
        if self.opens is not None and self.closes is not None and self.closes != time(0, 0) and self.closes <= self.opens:
            raise ValidationError({"closes": "Closing time must be after opening time (00:00 means midnight)."})


class PharmacyStaff(models.Model):
    """A login that acts for one pharmacy (a pharmacist or other pharmacy staff)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pharmacy_membership")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="staff")
    added_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pharmacy", "user"]
        verbose_name = "药房人员"
        verbose_name_plural = "药房人员"

    def __str__(self):
        return f"{self.user} @ {self.pharmacy}"

    def clean(self):
        if self.user_id and self.user.role not in PHARMACY_ROLES:
            raise ValidationError({"user": "Only users with the pharmacist or pharmacy staff role can join a pharmacy."})


class PharmacyApiToken(models.Model):
    """A machine credential for one pharmacy's system. Only a SHA-256 of the token is kept;
    the plaintext is shown once when it is issued. `prefix` identifies it in lists and logs."""

    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What uses it, e.g. 'POS system'.")
    prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "药房接口令牌"
        verbose_name_plural = "药房接口令牌"

    def __str__(self):
        return f"{self.prefix}… ({self.name}, {self.pharmacy})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Stock(models.Model):
    """How much of one drug a pharmacy holds, and how much of it is promised to orders.

    Available = on_hand - reserved. The database refuses a row where reserved exceeds
    on_hand, so a bug elsewhere cannot oversell silently.
    """

    # No separate index on pharmacy: the (pharmacy, drug) unique index leads with it.
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.CASCADE, related_name="stock_lines", db_index=False)
    drug = models.ForeignKey("prescriptions.Drug", on_delete=models.PROTECT, related_name="stock_lines")
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pharmacy", "drug"]
        verbose_name = "库存"
        verbose_name_plural = "库存"
        constraints = [
            # On PostgreSQL, migration 0002 makes this constraint's index carry on_hand and
            # reserved (INCLUDE), so the dispatch search answers "has every item" from the
            # index alone. Declared plain here because SQLite would drop an INCLUDE constraint.
            models.UniqueConstraint(fields=["pharmacy", "drug"], name="stock_one_row_per_pharmacy_drug"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self):
        return f"{self.drug_id} @ {self.pharmacy_id}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def clean(self):
        if self.on_hand is not None and self.reserved is not None and self.on_hand < self.reserved:
            raise ValidationError({"on_hand": f"{self.reserved} are reserved for orders; on hand cannot be lower."})


# --- Fulfilment orders -------------------------------------------------------------------


class OrderKind(models.TextChoices):
    PICKUP = "pickup", "Pickup at the pharmacy"
    DELIVERY = "delivery", "Home delivery"


class OrderStatus(models.TextChoices):
    PLACED = "placed", "Placed, awaiting the pharmacy's acceptance"
    REJECTED = "rejected", "Rejected by the pharmacy, awaiting reassignment"
    ACCEPTED = "accepted", "Accepted by the pharmacy"
    PREPARING = "preparing", "Being prepared"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    PICKED_UP = "picked_up", "Picked up"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "No pharmacy could fulfil it; flagged for hospital staff"
    CANCELLED = "cancelled", "Cancelled by the patient"
    WITHDRAWN = "withdrawn", "Withdrawn: the prescription was voided or expired"


# An order in one of these holds stock and blocks a second order for its prescription.
LIVE_ORDER_STATUSES = (
    OrderStatus.PLACED,
    OrderStatus.REJECTED,
    OrderStatus.ACCEPTED,
    OrderStatus.PREPARING,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.OUT_FOR_DELIVERY,
)


class Order(models.Model):
    """A prescription's fulfilment: pickup at a pharmacy or delivery to an address.

    Status changes only through pharmacy.orders (its ORDER_STATES table). While live, the
    order holds a reservation of its lines at `pharmacy`; reassignment moves it to another
    pharmacy (see OrderAssignment). `pickup_code` is kept in plain text on purpose: the
    patient's app shows it again whenever they open the order, and its protection is the
    attempt limit (PICKUP_CODE_MAX_ATTEMPTS), not secrecy at rest. It never appears in the
    pharmacy's view.
    """

    prescription = models.ForeignKey("prescriptions.Prescription", on_delete=models.PROTECT, related_name="orders")
    patient = models.ForeignKey("consult.Patient", on_delete=models.PROTECT, related_name="pharmacy_orders")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=OrderKind.choices)
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    # Where the search started: the delivery address, or the patient's position for a
    # pickup (the chosen pharmacy's own when not given). Reassignment searches from here.
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    delivery_address = models.CharField(max_length=200, blank=True)
    contact_name = models.CharField(max_length=60, blank=True)
    contact_phone = models.CharField(max_length=20, blank=True)
    promised_date = models.DateField(null=True, blank=True)
    pickup_code = models.CharField(max_length=6, blank=True)
    pickup_code_attempts = models.PositiveSmallIntegerField(default=0)
    pickup_locked_at = models.DateTimeField(null=True, blank=True)
    courier_name = models.CharField(max_length=60, blank=True)
    courier_phone = models.CharField(max_length=20, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    recipient_name = models.CharField(max_length=60, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="Which assignment is current (1 = the first pharmacy).")
    reassignments = models.PositiveSmallIntegerField(default=0)
    reject_reason = models.CharField(max_length=300, blank=True)
    flagged_for_staff = models.BooleanField(default=False)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(default=timezone.now, help_text="When the current pharmacy received it.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(excluded_fields=["pickup_code"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "药品订单"
        verbose_name_plural = "药品订单"
        indexes = [
            models.Index(fields=["pharmacy", "status"], name="order_pharmacy_status"),
            models.Index(fields=["patient", "created_at"], name="order_patient_created"),
            # The timeout sweep looks only at orders waiting for a pharmacy.
            models.Index(
                fields=["assigned_at"], name="order_waiting_assigned",
                condition=Q(status__in=["placed", "rejected"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription"], condition=Q(status__in=[s.value for s in LIVE_ORDER_STATUSES]),
                name="order_one_live_per_prescription",
            ),
            models.CheckConstraint(condition=Q(kind__in=["pickup", "delivery"]), name="order_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="pickup") | (~Q(delivery_address="") & Q(promised_date__isnull=False)),
                name="order_delivery_has_address_and_date",
            ),
        ]

    def __str__(self):
        return f"Order {self.pk} ({self.kind}, {self.status}) for Rx {self.prescription_id}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_ORDER_STATUSES

    @property
    def items(self) -> dict[int, int]:
        """The reserved lines as {drug_id: quantity}, the shape pharmacy.stock takes."""
        return {line.drug_id: line.quantity for line in self.lines.all()}


class OrderLine(models.Model):
    """One drug of an order and the quantity reserved for it (a prescription's items summed by drug)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    drug = models.ForeignKey("prescriptions.Drug", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["order", "drug"]
        verbose_name = "订单明细"
        verbose_name_plural = "订单明细"
        constraints = [
            models.UniqueConstraint(fields=["order", "drug"], name="order_line_one_per_drug"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.drug_id}"


class AssignmentOutcome(models.TextChoices):
    ACTIVE = "active", "Current"
    REJECTED = "rejected", "Rejected by the pharmacy"
    TIMED_OUT = "timed_out", "Not accepted in time"
    COMPLETED = "completed", "Dispensed"
    CANCELLED = "cancelled", "Order cancelled"
    WITHDRAWN = "withdrawn", "Prescription voided or expired"
    FAILED = "failed", "Order failed"


class OrderAssignment(models.Model):
    """One pharmacy's turn with an order: the first routing and each reassignment.

    (order, attempt) is unique, so a reassignment that ran twice could not record two turns
    with the same number; the order's `attempt` names the current one.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="assignments")
    attempt = models.PositiveSmallIntegerField()
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=AssignmentOutcome.choices, default=AssignmentOutcome.ACTIVE)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["order", "attempt"]
        verbose_name = "订单派单记录"
        verbose_name_plural = "订单派单记录"
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt"], name="order_assignment_unique_attempt"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(outcome="active"), name="order_assignment_one_active"
            ),
        ]

    def __str__(self):
        return f"Order {self.order_id} #{self.attempt} → {self.pharmacy_id} ({self.outcome})"


class DispenseRecord(models.Model):
    """What a pharmacy handed over for an order: items and quantities, by whom, when.

    `lines` is [{"drug_id", "drug_code", "drug_name", "quantity"}]. `pharmacist` is the staff
    login that confirmed it (None for a pharmacy API token, whose name is in `dispensed_by`).
    """

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="dispense_record")
    prescription = models.ForeignKey("prescriptions.Prescription", on_delete=models.PROTECT, related_name="dispense_records")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="dispense_records")
    pharmacist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dispensed_by = models.CharField(max_length=120, help_text="Pharmacist's name, or the API token that confirmed.")
    lines = models.JSONField()
    dispensed_at = models.DateTimeField(default=timezone.now)
    handover = models.CharField(max_length=10, choices=[("pickup", "Picked up"), ("delivery", "Delivered")])

    history = HistoricalRecords()

    class Meta:
        ordering = ["-dispensed_at", "-id"]
        verbose_name = "发药记录"
        verbose_name_plural = "发药记录"

    def __str__(self):
        return f"Dispense of order {self.order_id} at {self.pharmacy_id}"
