"""Serializer building blocks shared by every app, and the auth endpoints' shapes."""

from collections.abc import Mapping
from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
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
                raise serializers.ValidationError({key[:64]: [_("Unknown or read-only field.")] for key in unknown})
        return super().to_internal_value(data)


# Dates the service accepts from clients. Python's own limits (years 1 and 9999) leave no
# room for the day arithmetic and time-zone conversion every date goes through, and no
# record, slot or reading of this service lies outside these years.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def date_range_message() -> str:
    return _("Must be between %(earliest)s and %(latest)s.") % {"earliest": EARLIEST_DATE.isoformat(),
                                                               "latest": LATEST_DATE.isoformat()}


def _check_date_range(day: date) -> None:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise serializers.ValidationError(date_range_message())


class CalendarDateField(serializers.DateField):
    """A date between EARLIEST_DATE and LATEST_DATE."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        _check_date_range(day)
        return day


class CalendarDateTimeField(serializers.DateTimeField):
    """A date-time whose date lies between EARLIEST_DATE and LATEST_DATE."""

    def to_internal_value(self, value):
        try:
            moment = super().to_internal_value(value)
        except OverflowError:  # DRF checks a naive time near year 1 by converting it to UTC
            raise serializers.ValidationError(date_range_message()) from None
        _check_date_range(moment.date())
        return moment


class StrictSerializer(StrictInput, serializers.Serializer):
    pass


class StrictModelSerializer(StrictInput, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: CalendarDateField,
        models.DateTimeField: CalendarDateTimeField,
    }


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
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`; shown once, never stored.")
    expires_at = serializers.DateTimeField(allow_null=True, help_text="When the token stops working.")


def issued_token_body(issued) -> dict:
    """The body that hands a client a new token (login, register)."""
    return dict(TokenSerializer({"token": issued.key, "expires_at": issued.expires_at}).data)


class DeviceTokenSerializer(serializers.Serializer):
    """One logged-in device: its token's public id, never the token."""

    token_key = serializers.CharField(read_only=True, help_text="The token's id: `DELETE /api/auth/tokens/{token_key}/`.")
    created = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(source="expiry", read_only=True, allow_null=True)
    current = serializers.SerializerMethodField(help_text="The token this request was made with.")

    def get_current(self, token) -> bool:
        return token.digest == self.context.get("current")


class ManagedPatientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()
    relationship = serializers.CharField()


LANGUAGE_HELP = ('The language of your messages and pages ("zh-hans", "en"); "" follows the browser\'s '
                 "Accept-Language.")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField()
    full_name = serializers.CharField()
    role = serializers.CharField()
    patient_id = serializers.IntegerField(allow_null=True)
    manages = ManagedPatientSerializer(many=True)
    language = serializers.CharField(help_text=LANGUAGE_HELP)


class MeUpdateSerializer(StrictSerializer):
    language = serializers.ChoiceField(choices=[("", "follow the browser"), *settings.LANGUAGES], allow_blank=True,
                                       help_text=LANGUAGE_HELP)


class CodeRelatedField(serializers.SlugRelatedField):
    """A related object named by its code. The text is checked as a CharField checks its own
    (no NUL, no lone surrogate, a bounded length) before it reaches the lookup, so a malformed
    code is a 400 naming the field, never a database error."""

    def __init__(self, *, max_length: int = 64, **kwargs):
        self.code_field = serializers.CharField(max_length=max_length)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(self.code_field.run_validation(data))
