"""The booking desk's directory and timetable: hospitals, cloud clinics (云诊室), doctors,
their weekly schedule templates and leave, and the concrete slots (号源) patients book."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cloudhospital.languages import in_language
from consult.windows import places_left

ICD10_RANGE = re.compile(r"^([A-Z]\d{2})(?:-([A-Z]\d{2}))?$")


def parse_icd10_ranges(value: str) -> list[tuple[str, str]]:
    """"I10-I15, E11" -> [("I10", "I15"), ("E11", "E11")]. Raises ValueError on a bad part."""
    ranges = []
    for part in (value or "").replace("–", "-").upper().split(","):
        part = part.strip().replace(" ", "")
        if not part:
            continue
        match = ICD10_RANGE.match(part)
        if not match:
            raise ValueError(f"{part!r} is not an ICD-10 category or range such as I10-I15.")
        low, high = match.group(1), match.group(2) or match.group(1)
        if high < low:
            raise ValueError(f"{part!r} ends before it starts.")
        ranges.append((low, high))
    return ranges


def validate_icd10_ranges(value: str) -> None:
    try:
        parse_icd10_ranges(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class Hospital(models.Model):
    """One of the network's online hospitals. `admins` manage its doctors' schedules."""

    name = models.CharField(max_length=80, unique=True)
    name_en = models.CharField("English name", max_length=120, blank=True)
    city = models.CharField(max_length=40, default="宁波市")
    address = models.CharField(max_length=200, blank=True)
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="administered_hospitals",
        limit_choices_to={"role": "hospital_admin"},
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        verbose_name = "医院"
        verbose_name_plural = "医院"

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the active language (the Chinese name when no English one is on record)."""
        return in_language(self.name, self.name_en)


class Specialty(models.TextChoices):
    CARDIOLOGY = "cardiology", "心血管内科 Cardiology"
    ENDOCRINOLOGY = "endocrinology", "内分泌科 Endocrinology"
    NEPHROLOGY = "nephrology", "肾内科 Nephrology"
    RESPIRATORY = "respiratory", "呼吸内科 Respiratory medicine"
    GASTROENTEROLOGY = "gastroenterology", "消化内科 Gastroenterology"
    NEUROLOGY = "neurology", "神经内科 Neurology"
    GERIATRICS = "geriatrics", "老年病科 Geriatrics"
    GENERAL_PRACTICE = "general_practice", "全科 General practice"
    RHEUMATOLOGY = "rheumatology", "风湿免疫科 Rheumatology"
    DERMATOLOGY = "dermatology", "皮肤科 Dermatology"
    PEDIATRICS = "pediatrics", "儿科 Paediatrics"
    GYNECOLOGY = "gynecology", "妇科 Gynaecology"
    PSYCHIATRY = "psychiatry", "精神心理科 Psychiatry"
    ONCOLOGY = "oncology", "肿瘤科 Oncology"
    TCM = "tcm", "中医科 Traditional Chinese medicine"


class Clinic(models.Model):
    """A cloud clinic (云诊室) of a hospital, e.g. 高血压云诊室.

    A `follow_up_only` clinic serves patients already diagnosed with a condition in its
    `icd10_ranges` (internet consults in China are for follow-up of a diagnosed chronic or
    common disease); the booking rules refuse anyone else.
    """

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="clinics")
    name = models.CharField(max_length=80)
    name_en = models.CharField("English name", max_length=120, blank=True)
    specialty = models.CharField(max_length=20, choices=Specialty.choices, db_index=True)
    icd10_ranges = models.CharField(
        "ICD-10 ranges", max_length=120, blank=True, validators=[validate_icd10_ranges],
        help_text='Comma-separated categories or ranges the clinic treats, e.g. "I10-I15".',
    )
    follow_up_only = models.BooleanField(default=False)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        verbose_name = "云诊室"
        verbose_name_plural = "云诊室"
        constraints = [models.UniqueConstraint(fields=["hospital", "name"], name="unique_clinic_name_per_hospital")]

    def __str__(self):
        return f"{self.name} ({self.hospital})"

    @property
    def display_name(self) -> str:
        """The name in the active language (the Chinese name when no English one is on record)."""
        return in_language(self.name, self.name_en)

    @property
    def code_ranges(self) -> list[tuple[str, str]]:
        return parse_icd10_ranges(self.icd10_ranges)

    def treats(self, icd10_code: str) -> bool:
        """Whether a diagnosis code (e.g. "I10" or "N18.3") falls in one of the clinic's ranges."""
        category = (icd10_code or "").strip().upper()[:3]
        return any(low <= category <= high for low, high in self.code_ranges)


class DoctorTitle(models.TextChoices):
    CHIEF = "chief", "主任医师"
    ASSOCIATE_CHIEF = "associate_chief", "副主任医师"
    ATTENDING = "attending", "主治医师"
    RESIDENT = "resident", "住院医师"


class Doctor(models.Model):
    """A doctor's professional profile; the login is a User with role doctor.

    Only a `verified` doctor (licence checked by the hospital) can be booked.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="doctor_profile",
        limit_choices_to={"role": "doctor"},
    )
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="doctors")
    clinics = models.ManyToManyField(Clinic, blank=True, related_name="doctors")
    title = models.CharField(max_length=20, choices=DoctorTitle.choices, default=DoctorTitle.ATTENDING)
    licence_number = models.CharField("practising licence number", max_length=30, unique=True)
    verified = models.BooleanField(default=False)
    bio = models.CharField(max_length=500, blank=True)
    fee = models.DecimalField(max_digits=8, decimal_places=2, default=0, help_text="Default consult fee, yuan.")
    # 互联网诊疗管理办法（试行）art. 25: a doctor practising online has at least
    # ONLINE_DOCTOR_MIN_PRACTICE_YEARS of independent clinical practice (consult.doctors).
    independent_practice_since = models.DateField(
        null=True, blank=True, help_text="The day the doctor began independent clinical practice (独立执业).")
    practice_scope = models.CharField(
        "scope of practice", max_length=80, blank=True, help_text="执业范围 as on the licence, e.g. 内科专业.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        verbose_name = "医生"
        verbose_name_plural = "医生"

    def __str__(self):
        return f"{self.user.full_name} {self.get_title_display()}"

    @property
    def name(self) -> str:
        return self.user.full_name


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class ScheduleTemplate(models.Model):
    """A weekly session: on `weekday` from `start_time` to `end_time`, slots of
    `slot_minutes` each taking `capacity` patients (号 per slot) at `fee`."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="schedule_templates")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="schedule_templates")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField(default=15)
    capacity = models.PositiveSmallIntegerField(default=1)
    fee = models.DecimalField(max_digits=8, decimal_places=2)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["doctor", "weekday", "start_time"]
        verbose_name = "排班模板"
        verbose_name_plural = "排班模板"
        constraints = [
            models.CheckConstraint(name="template_ends_after_start", condition=Q(end_time__gt=F("start_time"))),
            models.CheckConstraint(name="template_slot_length_positive", condition=Q(slot_minutes__gte=5)),
            models.CheckConstraint(name="template_capacity_positive", condition=Q(capacity__gte=1)),
        ]

    def __str__(self):
        return f"{self.doctor} {self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class LeaveBlock(models.Model):
    """Dates (inclusive) a doctor does not work: their slots close and bookings are cancelled."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="leave_blocks")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["doctor", "starts_on"]
        verbose_name = "停诊"
        verbose_name_plural = "停诊"
        constraints = [models.CheckConstraint(name="leave_ends_on_or_after_start", condition=Q(ends_on__gte=F("starts_on")))]

    def __str__(self):
        return f"{self.doctor} off {self.starts_on}..{self.ends_on}"


class Slot(models.Model):
    """A bookable time (号源) of one doctor in one clinic, holding up to `capacity` patients.

    `booked` counts active bookings and only moves through the conditional updates in
    consult.booking; the check constraint is the last line of defence against overbooking.
    Slots carry no history: `booked` changes with every booking, whose own history says why.
    """

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="slots")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="slots")
    template = models.ForeignKey(
        ScheduleTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    booked = models.PositiveSmallIntegerField(default=0)
    fee = models.DecimalField(max_digits=8, decimal_places=2)
    is_open = models.BooleanField(default=True)
    closed_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = "号源"
        verbose_name_plural = "号源"
        constraints = [
            # Regeneration relies on this to never create the same slot twice.
            models.UniqueConstraint(fields=["doctor", "starts_at"], name="unique_slot_per_doctor_time"),
            models.CheckConstraint(name="slot_not_overbooked", condition=Q(booked__lte=F("capacity"))),
            models.CheckConstraint(name="slot_ends_after_start", condition=Q(ends_at__gt=F("starts_at"))),
        ]
        indexes = [
            models.Index(fields=["clinic", "starts_at"], name="slot_clinic_time"),
            models.Index(fields=["starts_at"], name="slot_time"),
        ]

    def __str__(self):
        starts_at = self.starts_at
        if starts_at and timezone.is_aware(starts_at):
            starts_at = timezone.localtime(starts_at)
        when = f"{starts_at:%Y-%m-%d %H:%M}" if starts_at else "(no time)"
        return f"{self.doctor} {when} ({self.booked}/{self.capacity})"

    @property
    def remaining(self) -> int:
        """Places left to book (consult.windows.places_left: none once the slot is closed)."""
        return places_left(self)
