"""The booking desk's public directory: hospitals, cloud clinics, doctors and their slots.

Any logged-in user may browse it. Lists run a fixed number of queries whatever the page
size: related rows are joined or prefetched, and a doctor's next free slot is a subquery.
"""

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from cloudhospital.api.filters import MAX_ID, IdFilter
from cloudhospital.api.serializers import CalendarDateField, StrictSerializer
from consult.models import Clinic, Doctor, DoctorTitle, Hospital, Slot, Specialty
from consult.selectors import doctors_directory, slots_available


# Names are data in both languages: `name` (Chinese, the name of record), `name_en`, and
# `display_name` in the request's language (Accept-Language or the user's saved one).
NAME_EN_HELP = "English name; empty when none is on record."
DISPLAY_NAME_HELP = "The name in the response's language (Content-Language)."


class HospitalRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    name_en = serializers.CharField(help_text=NAME_EN_HELP)
    display_name = serializers.CharField(help_text=DISPLAY_NAME_HELP)


class ClinicRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    name_en = serializers.CharField(help_text=NAME_EN_HELP)
    display_name = serializers.CharField(help_text=DISPLAY_NAME_HELP)


class HospitalSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(help_text=DISPLAY_NAME_HELP)

    class Meta:
        model = Hospital
        fields = ["id", "name", "name_en", "display_name", "city", "address"]
        read_only_fields = fields


class ClinicSerializer(serializers.ModelSerializer):
    hospital = HospitalRefSerializer()
    specialty_name = serializers.CharField(source="get_specialty_display")
    display_name = serializers.CharField(help_text=DISPLAY_NAME_HELP)

    class Meta:
        model = Clinic
        fields = ["id", "name", "name_en", "display_name", "hospital", "specialty", "specialty_name", "icd10_ranges",
                  "follow_up_only", "description"]
        read_only_fields = fields


class NextSlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    starts_at = serializers.DateTimeField()


class DoctorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="user.full_name")
    title_name = serializers.CharField(source="get_title_display", help_text="e.g. 主任医师")
    hospital = HospitalRefSerializer()
    clinics = ClinicRefSerializer(many=True)
    next_available_slot = serializers.SerializerMethodField()

    class Meta:
        model = Doctor
        fields = ["id", "name", "title", "title_name", "hospital", "clinics", "bio", "fee", "licence_number",
                  "verified", "next_available_slot"]
        read_only_fields = fields

    @extend_schema(responses=NextSlotSerializer(allow_null=True))
    def get_next_available_slot(self, doctor) -> dict | None:
        slot_id = getattr(doctor, "next_slot_id", None)
        if slot_id is None:
            return None
        return {"id": slot_id, "starts_at": serializers.DateTimeField().to_representation(doctor.next_slot_starts_at)}


class DoctorRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="user.full_name")
    title_name = serializers.CharField(source="get_title_display")


class SlotClinicSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    name_en = serializers.CharField(help_text=NAME_EN_HELP)
    display_name = serializers.CharField(help_text=DISPLAY_NAME_HELP)
    hospital = serializers.CharField(source="hospital.name")
    hospital_display_name = serializers.CharField(source="hospital.display_name", help_text=DISPLAY_NAME_HELP)
    follow_up_only = serializers.BooleanField()


class SlotSerializer(serializers.ModelSerializer):
    doctor = DoctorRefSerializer()
    clinic = SlotClinicSerializer()
    remaining = serializers.IntegerField()

    class Meta:
        model = Slot
        fields = ["id", "starts_at", "ends_at", "doctor", "clinic", "capacity", "booked", "remaining", "fee",
                  "is_open", "closed_reason"]
        read_only_fields = fields


class HospitalViewSet(viewsets.ReadOnlyModelViewSet):
    """The network's online hospitals. Search with ?search=宁波."""

    lookup_value_regex = r"\d{1,18}"
    serializer_class = HospitalSerializer
    queryset = Hospital.objects.order_by("id")
    search_fields = ["name", "city"]
    filterset_fields = ["city"]


class ClinicFilter(django_filters.FilterSet):
    hospital = IdFilter(field_name="hospital_id")
    specialty = django_filters.ChoiceFilter(choices=Specialty.choices)

    class Meta:
        model = Clinic
        fields = ["hospital", "specialty", "follow_up_only"]


class ClinicViewSet(viewsets.ReadOnlyModelViewSet):
    """Cloud clinics (云诊室). Filter by ?hospital= and ?specialty=; ?search=高血压 matches
    clinic and hospital names (Chinese included)."""

    lookup_value_regex = r"\d{1,18}"
    serializer_class = ClinicSerializer
    queryset = Clinic.objects.filter(is_active=True).select_related("hospital").order_by("id")
    filterset_class = ClinicFilter
    search_fields = ["name", "hospital__name", "description"]


class DoctorFilter(django_filters.FilterSet):
    clinic = IdFilter(field_name="clinics", label="Clinic id")
    hospital = IdFilter(field_name="hospital_id")
    title = django_filters.ChoiceFilter(choices=DoctorTitle.choices)

    class Meta:
        model = Doctor
        fields = ["clinic", "hospital", "title"]


class DoctorViewSet(viewsets.ReadOnlyModelViewSet):
    """Verified doctors with title, hospital, clinics, fee and next available slot.
    Filter by ?clinic=, ?hospital=, ?title=; ?search= matches the name."""

    lookup_value_regex = r"\d{1,18}"
    serializer_class = DoctorSerializer
    filterset_class = DoctorFilter
    search_fields = ["user__full_name", "bio"]

    def get_queryset(self):
        return doctors_directory()


class SlotQuerySerializer(StrictSerializer):
    clinic = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    doctor = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    hospital = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    date_from = CalendarDateField(required=False)
    date_to = CalendarDateField(required=False)
    available = serializers.BooleanField(required=False, default=False, help_text="Only slots bookable now.")
    page = serializers.CharField(required=False, help_text="Checked by the paginator.")
    page_size = serializers.CharField(required=False, help_text="Checked by the paginator.")

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": [_("date_to is before date_from.")]})
        return attrs


@extend_schema(parameters=[SlotQuerySerializer])
class SlotViewSet(viewsets.ReadOnlyModelViewSet):
    """Future slots of verified doctors, earliest first:
    ?clinic=&doctor=&hospital=&date_from=&date_to=&available=true."""

    lookup_value_regex = r"\d{1,18}"
    serializer_class = SlotSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or self.action != "list":
            return slots_available()
        query = SlotQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = {k: v for k, v in query.validated_data.items() if k not in ("page", "page_size")}
        params["available_only"] = params.pop("available", False)
        return slots_available(**params)

