"""Serializer building blocks shared by every app, and the auth endpoints' shapes."""

from collections.abc import Mapping

from rest_framework import serializers

from cloudhospital.identity import mask_id_number


class StrictInput:
    """Refuse unknown or read-only fields on write instead of silently dropping them,
    so a client typo ("systolc") is a 400 naming the field, not a half-saved reading."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise serializers.ValidationError({key[:64]: ["Unknown or read-only field."] for key in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictInput, serializers.Serializer):
    pass


class StrictModelSerializer(StrictInput, serializers.ModelSerializer):
    pass


class MaskedIdNumberField(serializers.ReadOnlyField):
    """The ID number as every API response shows it: first six and last four."""

    def to_representation(self, value):
        return mask_id_number(value)


class RegisterSerializer(StrictSerializer):
    full_name = serializers.CharField(max_length=64)
    id_number = serializers.CharField(max_length=18, min_length=18)
    phone = serializers.CharField(max_length=20)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class LoginSerializer(StrictSerializer):
    phone = serializers.CharField(max_length=20)
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class ManagedPatientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    relationship = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField()
    full_name = serializers.CharField()
    role = serializers.CharField()
    patient_id = serializers.IntegerField(allow_null=True)
    manages = ManagedPatientSerializer(many=True)
