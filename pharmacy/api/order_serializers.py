"""Shapes of the order endpoints: the family's view, the pharmacy's view (masked, and no
health record beyond the prescription's items), and the inputs of each step."""

from rest_framework import serializers

from cloudhospital.api.actions import allowed_actions_field
from cloudhospital.api.serializers import CalendarDateTimeField, StrictSerializer
from cloudhospital.identity import mask_mobile
from pharmacy import orders
from pharmacy.models import Order, OrderKind, OrderStatus


def mask_name(name: str) -> str:
    """Keep the surname (the first character), star the rest: 张林 -> 张*."""
    name = (name or "").strip()
    return name[:1] + "*" * min(max(len(name) - 1, 1), 3) if name else ""


class OrderLineSerializer(serializers.Serializer):
    drug_code = serializers.CharField(source="drug.code")
    drug_name = serializers.CharField(source="drug.__str__")
    quantity = serializers.IntegerField()


class OrderPharmacySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    latitude = serializers.FloatField()
    longitude = serializers.FloatField()


def _family_actions(order, *, actor) -> list[str]:
    return orders.order_allowed_actions(order, actor=actor, actions=orders.FAMILY_ORDER_ACTIONS)


def _pharmacy_actions(order, *, actor) -> list[str]:
    return orders.order_allowed_actions(order, actor=actor, actions=orders.PHARMACY_ORDER_ACTIONS)


class OrderSerializer(serializers.ModelSerializer):
    """The family's view. The pickup code appears only while the order waits at the counter."""

    status = serializers.ChoiceField(choices=OrderStatus.choices)
    pharmacy = OrderPharmacySerializer()
    lines = OrderLineSerializer(many=True)
    pickup_code = serializers.SerializerMethodField()
    fhir_url = serializers.SerializerMethodField()
    allowed_actions = allowed_actions_field(orders.FAMILY_ORDER_ACTIONS, _family_actions)

    class Meta:
        model = Order
        fields = [
            "id", "kind", "status", "prescription", "patient", "pharmacy", "lines",
            "delivery_address", "latitude", "longitude", "contact_name", "contact_phone", "promised_date",
            "pickup_code", "courier_name", "courier_phone", "tracking_number", "recipient_name", "received_at",
            "reassignments", "flagged_for_staff", "failure_reason", "created_at", "assigned_at", "accepted_at",
            "ready_at", "dispatched_at", "completed_at", "updated_at", "fhir_url", "allowed_actions",
        ]
        read_only_fields = fields

    def get_pickup_code(self, order) -> str | None:
        return orders.pickup_code_for_family(order)

    def get_fhir_url(self, order) -> str:
        return f"/api/orders/{order.pk}/fhir/"


class PharmacyOrderItemSerializer(serializers.Serializer):
    """A prescription line as the pharmacy dispenses it."""

    position = serializers.IntegerField()
    drug_code = serializers.CharField(source="drug.code")
    drug_name = serializers.CharField(source="drug.__str__")
    dose = serializers.DecimalField(max_digits=8, decimal_places=3)
    dose_unit = serializers.CharField()
    frequency = serializers.CharField()
    route = serializers.CharField()
    days_supply = serializers.IntegerField()
    quantity = serializers.IntegerField()
    instructions = serializers.CharField()


class PharmacyOrderPrescriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    prescriber = serializers.CharField(source="doctor.full_name")
    signed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    key_id = serializers.CharField()
    items = PharmacyOrderItemSerializer(many=True, source="items.all")


class SignatureCheckSerializer(serializers.Serializer):
    valid = serializers.BooleanField(help_text="The signature verifies over the content as stored now.")
    reason = serializers.CharField()
    prescription_status = serializers.CharField(help_text="A valid signature on a voided or expired prescription "
                                                          "is no licence to dispense: see `dispensable`.")
    dispensable = serializers.BooleanField(help_text="Signed, approved, within its validity: may be dispensed now.")
    algorithm = serializers.CharField()
    key_id = serializers.CharField()
    content_hash = serializers.CharField()
    signature = serializers.CharField(help_text="Base64 Ed25519 signature over canonical JSON of `signed_content`.")
    signed_content = serializers.JSONField(allow_null=True, help_text="Check it offline with the key from "
                                                                      "/api/pharmacy/signing-keys/{key_id}/.")


class PharmacyOrderSerializer(serializers.ModelSerializer):
    """The pharmacy's view: items, the patient's name and phone masked unless the medicines
    go to their door, the address only for deliveries, never the pickup code, and nothing
    else of the health record."""

    status = serializers.ChoiceField(choices=OrderStatus.choices)
    prescription = PharmacyOrderPrescriptionSerializer()
    lines = OrderLineSerializer(many=True)
    patient_name = serializers.SerializerMethodField()
    patient_phone = serializers.SerializerMethodField()
    delivery_address = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()
    accept_by = serializers.SerializerMethodField()
    pickup_attempts_left = serializers.SerializerMethodField()
    allowed_actions = allowed_actions_field(orders.PHARMACY_ORDER_ACTIONS, _pharmacy_actions)

    class Meta:
        model = Order
        fields = [
            "id", "kind", "status", "prescription", "lines", "patient_name", "patient_phone", "delivery_address",
            "promised_date", "pickup_attempts_left", "courier_name", "courier_phone", "tracking_number",
            "recipient_name", "received_at", "reject_reason", "attempt", "assigned_at", "accept_by",
            "accepted_at", "ready_at", "dispatched_at", "completed_at", "verify_url", "allowed_actions",
        ]
        read_only_fields = fields

    def _delivery(self, order) -> bool:
        return order.kind == OrderKind.DELIVERY

    def get_patient_name(self, order) -> str:
        return order.contact_name if self._delivery(order) else mask_name(order.patient.full_name)

    def get_patient_phone(self, order) -> str:
        return order.contact_phone if self._delivery(order) else mask_mobile(order.contact_phone or "")

    def get_delivery_address(self, order) -> str | None:
        return order.delivery_address if self._delivery(order) else None

    def get_verify_url(self, order) -> str:
        return f"/api/pharmacy/orders/{order.pk}/verify/"

    def get_accept_by(self, order) -> str | None:
        deadline = orders.accept_by(order)
        return serializers.DateTimeField().to_representation(deadline) if deadline else None

    def get_pickup_attempts_left(self, order) -> int | None:
        return orders.pickup_attempts_left(order)


class PharmacyOrderDetailSerializer(PharmacyOrderSerializer):
    """The detail adds the signature check, run when the order is read."""

    signature_check = serializers.SerializerMethodField()

    class Meta(PharmacyOrderSerializer.Meta):
        fields = PharmacyOrderSerializer.Meta.fields + ["signature_check"]
        read_only_fields = fields

    def get_signature_check(self, order) -> SignatureCheckSerializer:
        return SignatureCheckSerializer(self.context["signature_check"]).data


# --- Inputs ---------------------------------------------------------------------------------
class PharmaciesQuerySerializer(StrictSerializer):
    lat = serializers.CharField()
    lng = serializers.CharField()
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)


class OrderCreateSerializer(StrictSerializer):
    prescription = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    kind = serializers.ChoiceField(choices=OrderKind.choices)
    pharmacy = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False,
                                        help_text="Pickup: the chosen pharmacy.")
    lat = serializers.FloatField(required=False, help_text="Delivery: the address's latitude. Pickup: optional, your position.")
    lng = serializers.FloatField(required=False)
    address = serializers.CharField(required=False, allow_blank=True, max_length=200, help_text="Delivery address.")
    contact_name = serializers.CharField(required=False, allow_blank=True, max_length=60)
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=20)


class RejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=300)


class PickUpSerializer(StrictSerializer):
    pickup_code = serializers.CharField(max_length=12, help_text="The 6-digit code the patient shows.")
    pharmacist_name = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")


class DispatchSerializer(StrictSerializer):
    courier_name = serializers.CharField(max_length=60)
    courier_phone = serializers.CharField(max_length=20)
    tracking_number = serializers.CharField(max_length=60)


class DeliverSerializer(StrictSerializer):
    recipient_name = serializers.CharField(max_length=60)
    received_at = CalendarDateTimeField(required=False, help_text="Default: now.")
    pharmacist_name = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")


class EmptySerializer(StrictSerializer):
    pass
