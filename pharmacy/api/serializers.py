"""Shapes of the pharmacy endpoints. `CandidateSerializer` renders a dispatch Candidate
and is meant for reuse by the prescription and order endpoints."""

from rest_framework import serializers

from cloudhospital.api.serializers import StrictSerializer
from pharmacy.models import OpeningHours, Pharmacy, Stock
from pharmacy.stock import MAX_UPSERT_LINES


class OpeningHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]


class CandidateSerializer(serializers.Serializer):
    """A pharmacy near the patient: where, how far, open now or when it opens. No stock."""

    id = serializers.IntegerField(source="pharmacy.id")
    name = serializers.CharField(source="pharmacy.name")
    address = serializers.CharField(source="pharmacy.address")
    district = serializers.CharField(source="pharmacy.district")
    phone = serializers.CharField(source="pharmacy.phone")
    latitude = serializers.FloatField(source="pharmacy.latitude")
    longitude = serializers.FloatField(source="pharmacy.longitude")
    distance_km = serializers.FloatField()
    open_now = serializers.BooleanField(source="opening.open_now")
    closes_at = serializers.DateTimeField(source="opening.closes_at", allow_null=True)
    next_opening = serializers.DateTimeField(source="opening.next_opening", allow_null=True)
    delivers = serializers.BooleanField(source="pharmacy.delivers")
    delivery_radius_km = serializers.DecimalField(source="pharmacy.delivery_radius_km", max_digits=4, decimal_places=1)
    opening_hours = OpeningHoursSerializer(source="pharmacy.opening_hours.all", many=True)


class NearQuerySerializer(StrictSerializer):
    """Query parameters of the directory. Range checks happen in the domain (400 naming lat/lng)."""

    lat = serializers.CharField()
    lng = serializers.CharField()
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)


class PharmacyProfileSerializer(serializers.ModelSerializer):
    opening_hours = OpeningHoursSerializer(many=True, read_only=True)

    class Meta:
        model = Pharmacy
        fields = [
            "id", "name", "licence_number", "address", "district", "phone", "latitude", "longitude",
            "delivers", "delivery_radius_km", "delivery_cutoff", "webhook_url", "active", "opening_hours",
        ]
        read_only_fields = fields


class StockSerializer(serializers.ModelSerializer):
    drug_code = serializers.CharField(source="drug.code")
    drug_name = serializers.StringRelatedField(source="drug")
    available = serializers.IntegerField()

    class Meta:
        model = Stock
        fields = ["drug_code", "drug_name", "on_hand", "reserved", "available", "updated_at"]
        read_only_fields = fields


class StockLineSerializer(StrictSerializer):
    drug_code = serializers.CharField(max_length=20, trim_whitespace=True)
    quantity = serializers.IntegerField(min_value=0, max_value=10_000_000)


class StockUploadSerializer(serializers.ListSerializer):
    """The upload body: a list of {"drug_code", "quantity"} lines, or a mapping
    {"<drug code>": quantity, ...}. Both become the same list of lines."""

    child = StockLineSerializer()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("child", StockLineSerializer())
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", MAX_UPSERT_LINES)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = [{"drug_code": code, "quantity": quantity} for code, quantity in data.items()]
        return super().to_internal_value(data)


class StockLineResultSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Position of the line in the upload (from 0).")
    drug_code = serializers.CharField()
    status = serializers.ChoiceField(choices=["applied", "unknown_drug_code", "below_reserved", "duplicate"])
    message = serializers.CharField()
    on_hand = serializers.IntegerField(allow_null=True)
    reserved = serializers.IntegerField(allow_null=True)


class StockUploadResultSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    refused = serializers.IntegerField()
    lines = StockLineResultSerializer(many=True)
