"""The formulary, the doctors' signing keys, and e-prescriptions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from cloudhospital.languages import in_language


class TherapeuticClass(models.TextChoices):
    """The classes the checks reason about (duplicates, interactions, Beers, allergies).

    A fixed-dose combination carries its first component's class here and the others in
    `Drug.extra_classes`.
    """

    # Renin-angiotensin system
    ACE_INHIBITOR = "ace_inhibitor", "ACE inhibitor"
    ARB = "arb", "Angiotensin II receptor blocker (ARB)"
    ARNI = "arni", "Angiotensin receptor-neprilysin inhibitor (ARNI)"
    RENIN_INHIBITOR = "renin_inhibitor", "Direct renin inhibitor"
    # Calcium-channel blockers
    DIHYDROPYRIDINE_CCB = "dihydropyridine_ccb", "Dihydropyridine calcium-channel blocker"
    NON_DIHYDROPYRIDINE_CCB = "non_dihydropyridine_ccb", "Non-dihydropyridine calcium-channel blocker"
    # Diuretics
    THIAZIDE_DIURETIC = "thiazide_diuretic", "Thiazide / thiazide-like diuretic"
    LOOP_DIURETIC = "loop_diuretic", "Loop diuretic"
    POTASSIUM_SPARING_DIURETIC = "potassium_sparing_diuretic", "Potassium-sparing diuretic"
    # Other antihypertensives
    BETA_BLOCKER = "beta_blocker", "Beta blocker"
    ALPHA_BLOCKER = "alpha_blocker", "Alpha-1 blocker"
    CENTRAL_ANTIHYPERTENSIVE = "central_antihypertensive", "Centrally acting antihypertensive"
    VASODILATOR = "vasodilator", "Direct vasodilator"
    # Cardiology
    NITRATE = "nitrate", "Nitrate"
    PDE5_INHIBITOR = "pde5_inhibitor", "PDE5 inhibitor"
    CARDIAC_GLYCOSIDE = "cardiac_glycoside", "Cardiac glycoside"
    ANTIARRHYTHMIC = "antiarrhythmic", "Antiarrhythmic"
    ANTIANGINAL_OTHER = "antianginal_other", "Other antianginal"
    ANTIPLATELET = "antiplatelet", "Antiplatelet"
    ANTICOAGULANT = "anticoagulant", "Anticoagulant"
    # Lipids
    STATIN = "statin", "Statin"
    CHOLESTEROL_ABSORPTION_INHIBITOR = "cholesterol_absorption_inhibitor", "Cholesterol absorption inhibitor"
    FIBRATE = "fibrate", "Fibrate"
    # Diabetes
    BIGUANIDE = "biguanide", "Biguanide"
    SULFONYLUREA = "sulfonylurea", "Sulfonylurea"
    GLINIDE = "glinide", "Glinide"
    DPP4_INHIBITOR = "dpp4_inhibitor", "DPP-4 inhibitor"
    SGLT2_INHIBITOR = "sglt2_inhibitor", "SGLT2 inhibitor"
    GLP1_AGONIST = "glp1_agonist", "GLP-1 receptor agonist"
    ALPHA_GLUCOSIDASE_INHIBITOR = "alpha_glucosidase_inhibitor", "Alpha-glucosidase inhibitor"
    THIAZOLIDINEDIONE = "thiazolidinedione", "Thiazolidinedione"
    INSULIN = "insulin", "Insulin"
    # Kidney disease, electrolytes, bone
    POTASSIUM_SUPPLEMENT = "potassium_supplement", "Potassium supplement"
    POTASSIUM_BINDER = "potassium_binder", "Potassium binder"
    PHOSPHATE_BINDER = "phosphate_binder", "Phosphate binder"
    VITAMIN_D = "vitamin_d", "Vitamin D / active vitamin D"
    CALCIUM_SUPPLEMENT = "calcium_supplement", "Calcium supplement"
    IRON = "iron", "Iron"
    ESA = "esa", "Erythropoiesis-stimulating agent"
    ALKALI = "alkali", "Alkalinising agent"
    BISPHOSPHONATE = "bisphosphonate", "Bisphosphonate"
    # Gout
    XANTHINE_OXIDASE_INHIBITOR = "xanthine_oxidase_inhibitor", "Xanthine oxidase inhibitor"
    URICOSURIC = "uricosuric", "Uricosuric"
    COLCHICINE = "colchicine", "Colchicine"
    # Pain
    NSAID = "nsaid", "NSAID"
    ANALGESIC = "analgesic", "Non-opioid analgesic"
    OPIOID = "opioid", "Opioid"
    GABAPENTINOID = "gabapentinoid", "Gabapentinoid"
    # Digestive
    PPI = "ppi", "Proton-pump inhibitor"
    H2_ANTAGONIST = "h2_antagonist", "H2-receptor antagonist"
    PROKINETIC = "prokinetic", "Prokinetic / antiemetic"
    LAXATIVE = "laxative", "Laxative"
    # Nervous system
    BENZODIAZEPINE = "benzodiazepine", "Benzodiazepine"
    Z_HYPNOTIC = "z_hypnotic", "Non-benzodiazepine hypnotic (Z-drug)"
    SSRI = "ssri", "SSRI antidepressant"
    TRICYCLIC = "tricyclic", "Tricyclic antidepressant"
    ANTIDEPRESSANT_OTHER = "antidepressant_other", "Other antidepressant"
    ANTIPSYCHOTIC = "antipsychotic", "Antipsychotic"
    ANTIHISTAMINE_FIRST_GEN = "antihistamine_first_gen", "First-generation antihistamine"
    ANTIHISTAMINE = "antihistamine", "Second-generation antihistamine"
    # Urology
    BPH_ALPHA_BLOCKER = "bph_alpha_blocker", "Uroselective alpha-1 blocker"
    FIVE_ALPHA_REDUCTASE_INHIBITOR = "five_alpha_reductase_inhibitor", "5-alpha-reductase inhibitor"
    BLADDER_ANTIMUSCARINIC = "bladder_antimuscarinic", "Bladder antimuscarinic"
    # Anti-infectives (antimicrobials: never a long-term prescription)
    PENICILLIN = "penicillin", "Penicillin"
    CEPHALOSPORIN = "cephalosporin", "Cephalosporin"
    MACROLIDE = "macrolide", "Macrolide"
    FLUOROQUINOLONE = "fluoroquinolone", "Fluoroquinolone"
    NITROFURAN = "nitrofuran", "Nitrofuran"
    AZOLE_ANTIFUNGAL = "azole_antifungal", "Azole antifungal"
    # Endocrine and other
    THYROID_HORMONE = "thyroid_hormone", "Thyroid hormone"
    CORTICOSTEROID = "corticosteroid", "Systemic corticosteroid"
    OTHER = "other", "Other"


class LegalClass(models.TextChoices):
    """Specially managed drug classes (特殊管理药品), 药品管理法 and 处方管理办法.

    None of the special classes may be prescribed online (互联网诊疗管理办法（试行）(2018) art. 19);
    they also set a prescription's minimum retention (处方管理办法 art. 50).
    """

    ORDINARY = "ordinary", "Ordinary (普通药品)"
    NARCOTIC = "narcotic", "Narcotic drug (麻醉药品)"
    PSYCHOTROPIC_1 = "psychotropic_1", "Class I psychotropic (第一类精神药品)"
    PSYCHOTROPIC_2 = "psychotropic_2", "Class II psychotropic (第二类精神药品)"
    TOXIC = "toxic", "Toxic drug for medical use (医疗用毒性药品)"
    RADIOACTIVE = "radioactive", "Radioactive drug (放射性药品)"
    PRECURSOR = "precursor", "Precursor chemical (药品类易制毒化学品)"


class RenalMeasure(models.TextChoices):
    """What a drug's renal thresholds are stated in: eGFR (mL/min/1.73m2) or
    Cockcroft-Gault creatinine clearance (mL/min), as its label doses."""

    EGFR = "egfr", "eGFR"
    CRCL = "crcl", "Creatinine clearance (Cockcroft-Gault)"


class Drug(models.Model):
    """A formulary entry: one product form and strength, with its dosing and renal rules.

    Doses are in `strength_unit` per day. The renal rule has up to three steps, eGFR in
    mL/min/1.73m2: below `renal_contraindicated_below` the drug must not be given; below
    `renal_cap_below` the daily dose must not exceed `renal_max_daily_dose`; below the
    milder `renal_reduce_below` it must not exceed `renal_reduced_max_daily_dose`
    (metformin needs both caps: 1500 mg below 60, 1000 mg below 45).

    `ingredient` / `ingredient_zh` name the active moiety without salt or form ("amlodipine",
    "氨氯地平") so an allergy recorded as "氨氯地平" matches "苯磺酸氨氯地平片".
    `allergy_groups` lists cross-reacting groups beyond the therapeutic class, e.g.
    hydrochlorothiazide is a sulfonamide derivative and aspirin cross-reacts with NSAIDs.
    """

    code = models.CharField(max_length=20, unique=True)
    generic_name = models.CharField(max_length=80)
    generic_name_zh = models.CharField(max_length=80)
    ingredient = models.CharField(max_length=60, blank=True)
    ingredient_zh = models.CharField(max_length=30, blank=True)
    atc_code = models.CharField("ATC code", max_length=8, blank=True)
    form = models.CharField(max_length=40)
    strength = models.DecimalField(max_digits=8, decimal_places=2)
    strength_unit = models.CharField(max_length=10, default="mg")
    route = models.CharField(max_length=20, default="oral")
    therapeutic_class = models.CharField(max_length=40, choices=TherapeuticClass.choices)
    extra_classes = models.JSONField(
        default=list, blank=True, help_text="Further classes of a fixed-dose combination's other components."
    )
    legal_class = models.CharField(max_length=20, choices=LegalClass.choices, default=LegalClass.ORDINARY)
    antimicrobial = models.BooleanField(default=False)
    special_storage = models.BooleanField(default=False, help_text="Needs cold chain or other special storage.")
    chronic_use = models.BooleanField(
        default=False, help_text="Indicated for a chronic condition: a supply beyond the acute limit may be given."
    )
    pinyin_initials = models.CharField(max_length=40, blank=True, help_text="Pinyin initials of the Chinese name, for search.")
    allergy_groups = models.JSONField(default=list, blank=True)
    usual_daily_dose = models.DecimalField(max_digits=8, decimal_places=2)
    max_daily_dose = models.DecimalField(max_digits=8, decimal_places=2)
    min_daily_dose = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    max_single_dose = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    elderly_max_daily_dose = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="Ceiling from age 65, where the label sets one."
    )
    renal_measure = models.CharField(max_length=5, choices=RenalMeasure.choices, default=RenalMeasure.EGFR)
    renal_contraindicated_below = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    renal_cap_below = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    renal_max_daily_dose = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    renal_reduce_below = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    renal_reduced_max_daily_dose = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    prescription_only = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    source_note = models.CharField(max_length=600, blank=True, help_text="Label or guideline the doses come from.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["generic_name", "strength"]
        verbose_name = "药品目录"
        verbose_name_plural = "药品目录"
        indexes = [models.Index(fields=["therapeutic_class", "generic_name"], name="drug_class_name")]
        constraints = [
            # A cap without its threshold (or the reverse) would silently never apply.
            models.CheckConstraint(
                name="drug_renal_cap_pair",
                condition=Q(renal_cap_below__isnull=True, renal_max_daily_dose__isnull=True)
                | Q(renal_cap_below__isnull=False, renal_max_daily_dose__isnull=False),
            ),
            models.CheckConstraint(
                name="drug_renal_reduce_pair",
                condition=Q(renal_reduce_below__isnull=True, renal_reduced_max_daily_dose__isnull=True)
                | Q(renal_reduce_below__isnull=False, renal_reduced_max_daily_dose__isnull=False),
            ),
            models.CheckConstraint(
                name="drug_doses_positive",
                condition=Q(strength__gt=0, usual_daily_dose__gt=0, max_daily_dose__gte=models.F("usual_daily_dose")),
            ),
        ]

    def __str__(self):
        return f"{self.generic_name_zh} {self.generic_name} {self.strength:g}{self.strength_unit} {self.form}"

    @property
    def display_name(self) -> str:
        """The generic name in the active language."""
        return in_language(self.generic_name_zh, self.generic_name)

    def renal_cap(self, egfr) -> tuple | None:
        """The strictest renal dose cap that applies at `egfr`: (max_daily_dose, below), or None."""
        if egfr is None:
            return None
        steps = [
            (self.renal_max_daily_dose, self.renal_cap_below),
            (self.renal_reduced_max_daily_dose, self.renal_reduce_below),
        ]
        applicable = [(cap, below) for cap, below in steps if below is not None and egfr < below]
        return min(applicable, key=lambda step: step[0]) if applicable else None

    @property
    def has_renal_rule(self) -> bool:
        return any(v is not None for v in (self.renal_contraindicated_below, self.renal_cap_below, self.renal_reduce_below))


class SigningKey(models.Model):
    """A doctor's Ed25519 key pair for signing prescriptions.

    The public key is published so a pharmacy can verify offline. The private key never
    leaves the server and is stored only encrypted (see prescriptions.signing). A doctor has
    at most one current key: rotation *retires* the old one (it stops signing but still
    verifies what it signed); revocation marks a key compromised, and every signature made
    with it then verifies as invalid.
    """

    ALGORITHM = "Ed25519"

    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signing_keys")
    key_id = models.CharField(max_length=40, unique=True)
    algorithm = models.CharField(max_length=10, default=ALGORITHM, editable=False)
    public_key = models.CharField(max_length=64, help_text="Raw 32-byte Ed25519 public key, base64.")
    private_key_encrypted = models.BinaryField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords(excluded_fields=["private_key_encrypted"])

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "签名密钥"
        verbose_name_plural = "签名密钥"
        constraints = [
            # Two first-use requests racing cannot give a doctor two current keys.
            models.UniqueConstraint(
                fields=["doctor"],
                condition=Q(retired_at__isnull=True, revoked_at__isnull=True),
                name="one_current_signing_key_per_doctor",
            ),
        ]

    def __str__(self):
        return f"{self.key_id} ({self.doctor.full_name})"

    @property
    def is_current(self) -> bool:
        return self.retired_at is None and self.revoked_at is None


class PrescriptionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    # 长期处方管理规范（试行）(2021): beyond 4 weeks the patient (or guardian) confirms before the
    # prescription goes to review; until then the review queue does not show it.
    CONFIRMING = "confirming", "Signed, awaiting the patient's confirmation"
    SIGNED = "signed", "Signed, awaiting pharmacist review"
    APPROVED = "approved", "Approved by the review pharmacist"
    REJECTED = "rejected", "Rejected by the review pharmacist"
    DISPENSED = "dispensed", "Dispensed"
    EXPIRED = "expired", "Expired"
    VOIDED = "voided", "Voided by the doctor"


class Prescription(models.Model):
    """An e-prescription written in a consultation.

    Status changes only through prescriptions.lifecycle, whose PRESCRIPTION_STATES table is the state
    machine. `patient` and `doctor` copy the consultation's booking so lists can filter
    without joins. Once signed, the content (patient, doctor, items, diagnosis, issued_at)
    is covered by `signature`; `content_hash` is the SHA-256 of the canonical JSON signed.
    A revision after rejection is a new row with `previous` pointing at the rejected one.
    """

    consultation = models.ForeignKey("consult.Consultation", on_delete=models.PROTECT, related_name="prescriptions")
    patient = models.ForeignKey("consult.Patient", on_delete=models.PROTECT, related_name="prescriptions")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prescriptions_written")
    status = models.CharField(max_length=10, choices=PrescriptionStatus.choices, default=PrescriptionStatus.DRAFT)
    diagnosis = models.JSONField(help_text='ICD-10 diagnoses: [{"code": "I10", "name": "原发性高血压"}].')
    long_term = models.BooleanField("long-term prescription (长期处方)", default=False)
    notes = models.CharField(max_length=500, blank=True)
    version = models.PositiveSmallIntegerField(default=1)
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="revision"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signature = models.CharField(max_length=100, blank=True, help_text="Ed25519 signature, base64.")
    key_id = models.CharField(max_length=40, blank=True)
    content_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the signed canonical JSON.")
    signed_content = models.JSONField(
        null=True, blank=True, editable=False,
        help_text="The content as signed (canonical form), for offline verification and to name what changed.",
    )
    override_reasons = models.JSONField(default=dict, blank=True, help_text="{finding key: reason} accepted at signing.")
    formulary_version = models.CharField(
        max_length=40, blank=True, help_text="Version of the formulary and knowledge base the checks ran against."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="prescriptions_reviewed"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(max_length=500, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_reason = models.CharField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    dispensed_at = models.DateTimeField(null=True, blank=True)
    # Online prescribing rules (prescriptions.rules): validity in days (处方管理办法: the day it is
    # written, up to 3 with the doctor's reason), the patient's confirmation of a long-term
    # prescription beyond 4 weeks, and the review pharmacist's own signature of the decision.
    validity_days = models.PositiveSmallIntegerField(default=1, help_text="Days the prescription is valid, from the day it is signed.")
    validity_reason = models.CharField(max_length=200, blank=True, help_text="Why it is valid for more than one day.")
    patient_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    patient_confirmed_at = models.DateTimeField(null=True, blank=True)
    review_key_id = models.CharField(max_length=40, blank=True)
    review_signature = models.CharField(max_length=100, blank=True, help_text="The pharmacist's Ed25519 signature of the decision, base64.")
    review_signed_content = models.JSONField(
        null=True, blank=True, editable=False, help_text="The review decision as the pharmacist signed it (canonical form)."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "电子处方"
        verbose_name_plural = "电子处方"
        indexes = [
            models.Index(fields=["patient", "status"], name="rx_patient_status"),
            models.Index(fields=["doctor", "status"], name="rx_doctor_status"),
            models.Index(fields=["status", "signed_at"], name="rx_status_signed"),
            models.Index(fields=["status", "expires_at"], name="rx_status_expires"),
        ]
        constraints = [
            # Either never signed (a draft, or a draft voided before signing) or fully signed:
            # a signed-onwards row without its signature could never be verified.
            models.CheckConstraint(
                name="rx_signed_has_signature",
                condition=(Q(status__in=["draft", "voided"], signature="", key_id="", signed_at__isnull=True))
                | (~Q(status="draft") & ~Q(signature="") & ~Q(key_id="") & Q(signed_at__isnull=False)),
            ),
        ]

    def __str__(self):
        return f"Rx {self.pk} v{self.version} {self.patient_id} ({self.status})"


class PrescriptionItem(models.Model):
    """One line of a prescription. Items are replaced wholesale while the prescription is a draft."""

    prescription = models.ForeignKey(Prescription, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    drug = models.ForeignKey(Drug, on_delete=models.PROTECT, related_name="+")
    dose = models.DecimalField(max_digits=8, decimal_places=3)
    dose_unit = models.CharField(max_length=10)
    frequency = models.CharField(max_length=4)
    route = models.CharField(max_length=20, default="oral")
    days_supply = models.PositiveSmallIntegerField()
    quantity = models.PositiveIntegerField(help_text="Dosage units (tablets, capsules) to dispense.")
    instructions = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["prescription", "position"]
        verbose_name = "处方明细"
        verbose_name_plural = "处方明细"
        constraints = [
            models.UniqueConstraint(fields=["prescription", "position"], name="rx_item_unique_position"),
            models.CheckConstraint(name="rx_item_positive", condition=Q(dose__gt=0, days_supply__gt=0, quantity__gt=0)),
        ]

    def __str__(self):
        return f"{self.position}. {self.drug.generic_name} {self.dose:g}{self.dose_unit} {self.frequency}"
