"""Patients, the family members who act for them, and the electronic health record."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cloudhospital.identity import age_on, mask_id_number


class Sex(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"


class Patient(models.Model):
    """A real-name patient. `account` is their own login; a dependant may have none."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="patient"
    )
    full_name = models.CharField(max_length=64)
    id_number = models.CharField("resident ID number", max_length=18, unique=True)
    birth_date = models.DateField()
    sex = models.CharField(max_length=6, choices=Sex.choices)
    phone = models.CharField(max_length=16, blank=True)
    address = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        verbose_name = "患者"
        verbose_name_plural = "患者"

    def __str__(self):
        return f"{self.full_name} ({self.masked_id_number})"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def age(self) -> int:
        return age_on(self.birth_date, timezone.localdate())


class Relationship(models.TextChoices):
    """What the patient is to the proxy: "Zhang Lin is my parent"."""

    PARENT = "parent", "Parent"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    # A child in the proxy's legal guardianship (监护) who is not their own child: with CHILD,
    # the only relationships under which a proxy may bring a young child online
    # (consult.young_children, 互联网诊疗管理办法（试行） art. 19).
    WARD = "ward", "Ward (legal guardianship)"
    OTHER = "other", "Other"


class ProxyLink(models.Model):
    """A login allowed to act for a patient (a family member managing a dependant)."""

    proxy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proxy_links")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="proxy_links")
    relationship = models.CharField(max_length=10, choices=Relationship.choices)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        verbose_name = "代理人关系"
        verbose_name_plural = "代理人关系"
        constraints = [models.UniqueConstraint(fields=["proxy", "patient"], name="unique_proxy_per_patient")]

    def __str__(self):
        return f"{self.proxy} acts for {self.patient} ({self.relationship})"


class ClinicalRecord(models.Model):
    """Fields every health-record entry carries: whose it is, who wrote it, when."""

    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class ConditionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESOLVED = "resolved", "Resolved"


class Condition(ClinicalRecord):
    """A diagnosis on the problem list (ICD-10), e.g. I10 essential hypertension since 2006."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="conditions")
    icd10_code = models.CharField("ICD-10 code", max_length=10)
    name = models.CharField(max_length=120)
    onset_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ConditionStatus.choices, default=ConditionStatus.ACTIVE)
    # Where and when the condition was diagnosed in person: an online consult may only follow
    # up such a diagnosis (互联网诊疗管理办法（试行）; consult.follow_up).
    diagnosed_institution = models.CharField(max_length=120, blank=True,
                                             help_text="The hospital or clinic where it was diagnosed offline.")
    diagnosed_on = models.DateField(null=True, blank=True, help_text="When it was diagnosed offline.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-status", "icd10_code", "id"]
        verbose_name = "诊断"
        verbose_name_plural = "诊断"

    def __str__(self):
        return f"{self.icd10_code} {self.name}"


class EvidenceKind(models.TextChoices):
    OUTPATIENT_RECORD = "outpatient_record", "Outpatient record (门诊病历)"
    DISCHARGE_SUMMARY = "discharge_summary", "Discharge summary (出院小结)"
    DIAGNOSIS_CERTIFICATE = "diagnosis_certificate", "Diagnosis certificate (诊断证明)"


def evidence_upload_to(evidence, filename: str) -> str:
    """A name that says nothing about the patient: the upload's own name is kept in a field."""
    return f"condition-evidence/{evidence.condition.patient_id}/{uuid.uuid4().hex}"


class ConditionEvidence(models.Model):
    """A scan or PDF of the offline diagnosis (门诊病历, 出院小结) the family supplied for a
    condition; read only through consult.follow_up.evidence_open (access-logged)."""

    condition = models.ForeignKey(Condition, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=24, choices=EvidenceKind.choices, default=EvidenceKind.OUTPATIENT_RECORD)
    file = models.FileField(upload_to=evidence_upload_to, max_length=200)
    original_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = "诊断证据"
        verbose_name_plural = "诊断证据"

    def __str__(self):
        return f"{self.get_kind_display()} for {self.condition}"


class AllergyCategory(models.TextChoices):
    DRUG = "drug", "Drug"
    DRUG_CLASS = "drug_class", "Drug class"
    FOOD = "food", "Food"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Allergy(ClinicalRecord):
    """An allergy or intolerance to a substance or a whole drug class (e.g. "NSAID")."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="allergies")
    substance = models.CharField(max_length=80)
    category = models.CharField(max_length=12, choices=AllergyCategory.choices, default=AllergyCategory.DRUG)
    reaction = models.CharField(max_length=120, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MODERATE)

    history = HistoricalRecords()

    class Meta:
        ordering = ["substance", "id"]
        verbose_name = "过敏史"
        verbose_name_plural = "过敏史"

    def __str__(self):
        return f"{self.substance} ({self.severity})"


class Medication(ClinicalRecord):
    """A medicine the patient currently takes: a formulary drug's code where the formulary has
    it (a string, not a foreign key: consult may not depend on prescriptions; see
    consult.medications), with the name kept as free text for what the formulary lacks."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField(max_length=80)
    drug_code = models.CharField(
        max_length=20, blank=True, help_text="Formulary drug code (prescriptions.Drug.code); blank when not in the formulary."
    )
    dose = models.CharField(max_length=60, blank=True)
    frequency = models.CharField(max_length=40, blank=True)
    started_on = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-active", "name", "id"]
        verbose_name = "用药记录"
        verbose_name_plural = "用药记录"

    def __str__(self):
        return f"{self.name} {self.dose}".strip()


class ObservationKind(models.TextChoices):
    BLOOD_PRESSURE = "blood_pressure", "Blood pressure"
    EGFR = "egfr", "eGFR"
    CREATININE = "creatinine", "Serum creatinine"
    BODY_WEIGHT = "body_weight", "Body weight"


class ObservationSource(models.TextChoices):
    HOME = "home", "Home measurement"
    CLINIC = "clinic", "Clinic"
    LAB = "lab", "Laboratory"


class Observation(ClinicalRecord):
    """A measurement: a blood-pressure reading (mmHg, pulse) or a lab value with its unit."""

    UNITS = {ObservationKind.EGFR: "mL/min/1.73m2", ObservationKind.CREATININE: "umol/L", ObservationKind.BODY_WEIGHT: "kg"}

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="observations")
    kind = models.CharField(max_length=16, choices=ObservationKind.choices)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    pulse = models.PositiveSmallIntegerField(null=True, blank=True)
    value = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    unit = models.CharField(max_length=16, blank=True)
    measured_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=8, choices=ObservationSource.choices, default=ObservationSource.HOME)
    # A wrong reading is never deleted: it is marked, kept (and in its history), and left out
    # of trends, summaries and safety checks (consult.records.observation_mark_entered_in_error).
    entered_in_error_at = models.DateTimeField(null=True, blank=True)
    entered_in_error_reason = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-measured_at", "-id"]
        verbose_name = "体征与检验"
        verbose_name_plural = "体征与检验"
        indexes = [models.Index(fields=["patient", "kind", "-measured_at"], name="obs_patient_kind_time")]
        constraints = [
            # The database holds the same shape the domain validates, so no path writes a
            # blood pressure without both numbers or a lab value without its value.
            models.CheckConstraint(
                name="observation_shape_matches_kind",
                condition=(
                    Q(kind="blood_pressure", systolic__isnull=False, diastolic__isnull=False, value__isnull=True)
                    & Q(diastolic__lt=F("systolic"))
                )
                | (~Q(kind="blood_pressure") & Q(value__isnull=False, systolic__isnull=True, diastolic__isnull=True)),
            ),
        ]

    def __str__(self):
        if self.kind == ObservationKind.BLOOD_PRESSURE:
            measured_at = self.measured_at
            if measured_at and timezone.is_aware(measured_at):
                measured_at = timezone.localtime(measured_at)
            when = f" at {measured_at:%Y-%m-%d %H:%M}" if measured_at else ""
            return f"BP {self.systolic}/{self.diastolic}{when}"
        return f"{self.get_kind_display()} {self.value} {self.unit}"
