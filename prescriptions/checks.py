"""Safety checks for a prescription against the patient's health record.

Run on every save and at signing. Malformed items (unknown frequency, zero dose, a quantity
that does not add up) are bad input and raise `DomainError` naming the field (400): there is
nothing clinical to weigh. Everything clinical comes back as a list of `Finding`s: `block`
findings can never be overridden; `warn` findings can be, with a written reason per finding
(`overrides_validate`).

The checks are plain functions over `PatientFacts` (read once through consult.selectors) and
a sequence of items. Any object with the attributes of `PrescribedItem` will do, so the
PrescriptionItem model can be passed as it is; `ItemInput` is the plain dataclass for callers
that have no model row yet.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import lru_cache
from decimal import Decimal, InvalidOperation
from typing import Literal, Protocol, runtime_checkable

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from cloudhospital.errors import DomainError, Kind
from cloudhospital.languages import in_language
from consult.models import AllergyCategory, ConditionStatus, ObservationKind, Patient
from consult.selectors import valid_observations
from prescriptions import beers, interactions, knowledge, renal
from prescriptions.coded_medications import drugs_for_medications
from prescriptions.formulary import NSAID, SULFONAMIDE
from prescriptions.interactions import Participant
from prescriptions.models import Drug, RenalMeasure, TherapeuticClass
from prescriptions import rules as online_rules  # noqa: E402 (imports this module back; used at call time)

BLOCK = "block"
WARN = "warn"
Severity = Literal["block", "warn"]


# --- Frequencies: the one table of "times per day" ---------------------------------------
@dataclass(frozen=True)
class Frequency:
    code: str
    times_per_day: int
    label: str
    label_zh: str
    as_needed: bool = False


# An as-needed order is counted at four doses a day (the most any scheduled frequency here
# allows), so it can never slip under a daily limit that the same dose given qid would hit;
# its quantity may be anything up to that ceiling.
FREQUENCIES: dict[str, Frequency] = {
    f.code: f
    for f in (
        Frequency("qd", 1, "once daily", "每日一次"),
        Frequency("bid", 2, "twice daily", "每日两次"),
        Frequency("tid", 3, "three times daily", "每日三次"),
        Frequency("qid", 4, "four times daily", "每日四次"),
        Frequency("qn", 1, "every night", "每晚一次"),
        Frequency("prn", 4, "as needed (at most four times daily)", "必要时（每日不超过四次）", as_needed=True),
    )
}

# Dose units: a mass (converted to the drug's strength unit) or a count of the dosage unit.
MASS_IN_MG = {"mg": Decimal(1), "g": Decimal(1000), "ug": Decimal("0.001"), "mcg": Decimal("0.001"), "µg": Decimal("0.001")}
DOSAGE_UNITS = {"tablet", "capsule", "片", "粒"}
# Other spellings of the same unit: the Greek mu for the micro sign, Chinese names, "U" for IU.
UNIT_ALIASES = {"μg": "µg", "微克": "µg", "毫克": "mg", "克": "g", "u": "iu", "单位": "iu"}


def _unit(text: str) -> str:
    unit = text.strip().lower()
    return UNIT_ALIASES.get(unit, unit)


# Days of supply are an online-prescribing rule: prescriptions.rules.check_days_supply.

# ICD-10 three-character categories (inclusive ranges) that count as a chronic condition,
# after the disease list of 长期处方管理规范 and the common 门诊慢特病 list.
CHRONIC_ICD10_RANGES: tuple[tuple[str, str, str], ...] = (
    ("I10", "I15", "hypertensive diseases"),
    ("I20", "I25", "ischaemic heart disease"),
    ("I48", "I48", "atrial fibrillation and flutter"),
    ("I50", "I50", "heart failure"),
    ("I69", "I69", "sequelae of cerebrovascular disease"),
    ("E10", "E14", "diabetes mellitus"),
    ("E78", "E78", "disorders of lipoprotein metabolism"),
    ("E03", "E03", "hypothyroidism"),
    ("N18", "N18", "chronic kidney disease"),
    ("J44", "J45", "COPD and asthma"),
    ("G20", "G20", "Parkinson's disease"),
    ("G40", "G40", "epilepsy"),
    ("M05", "M06", "rheumatoid arthritis"),
    ("M10", "M10", "gout"),
    ("M81", "M81", "osteoporosis"),
    ("B18", "B18", "chronic viral hepatitis"),
)


def icd10_is_chronic(code: str) -> bool:
    category = code.strip().upper().replace(".", "")[:3]
    return len(category) == 3 and any(low <= category <= high for low, high, _ in CHRONIC_ICD10_RANGES)


# --- Allergy groups -----------------------------------------------------------------------
# Words a patient or nurse writes for a whole class. English terms match as whole words,
# Chinese ones as substrings (no word breaks to rely on).
ALLERGY_GROUP_TERMS: dict[str, tuple[str, ...]] = {
    TherapeuticClass.ACE_INHIBITOR: ("ace inhibitor", "ace inhibitors", "acei", "ace-i", "普利类", "血管紧张素转换酶抑制剂"),
    TherapeuticClass.ARB: ("arb", "arbs", "sartan", "sartans", "angiotensin receptor blocker",
                           "angiotensin ii receptor blocker", "沙坦类", "血管紧张素ii受体拮抗剂", "血管紧张素受体拮抗剂"),
    TherapeuticClass.DIHYDROPYRIDINE_CCB: ("dihydropyridine", "dihydropyridines", "calcium channel blocker",
                                           "calcium-channel blocker", "ccb", "地平类", "二氢吡啶", "钙通道阻滞剂", "钙拮抗剂"),
    TherapeuticClass.THIAZIDE_DIURETIC: ("thiazide", "thiazides", "thiazide diuretic", "噻嗪"),
    TherapeuticClass.BETA_BLOCKER: ("beta blocker", "beta blockers", "beta-blocker", "beta-blockers", "β受体阻滞剂", "洛尔类"),
    TherapeuticClass.POTASSIUM_SPARING_DIURETIC: ("potassium-sparing diuretic", "potassium sparing diuretic", "保钾利尿剂"),
    TherapeuticClass.STATIN: ("statin", "statins", "hmg-coa reductase inhibitor", "他汀"),
    TherapeuticClass.BIGUANIDE: ("biguanide", "biguanides", "双胍"),
    TherapeuticClass.ANTIPLATELET: ("antiplatelet", "抗血小板"),
    TherapeuticClass.LOOP_DIURETIC: ("loop diuretic", "loop diuretics", "袢利尿剂"),
    TherapeuticClass.SULFONYLUREA: ("sulfonylurea", "sulfonylureas", "sulphonylurea", "磺脲类", "磺酰脲"),
    SULFONAMIDE: ("sulfonamide", "sulfonamides", "sulphonamide", "sulphonamides", "sulfa", "sulpha", "磺胺"),
    # The NSAID class and the NSAID cross-reactivity group share one key.
    NSAID: ("nsaid", "nsaids", "non-steroidal anti-inflammatory", "非甾体"),
    TherapeuticClass.PENICILLIN: ("penicillin", "penicillins", "青霉素"),
    TherapeuticClass.CEPHALOSPORIN: ("cephalosporin", "cephalosporins", "头孢"),
}
# A class allergy that is a caution for another class: about 2% of penicillin-allergic
# patients react to a cephalosporin (Khan DA et al. J Allergy Clin Immunol 2022).
CROSS_REACTING_CLASSES: dict[str, tuple[str, ...]] = {TherapeuticClass.PENICILLIN: (TherapeuticClass.CEPHALOSPORIN,)}

# Words that name one member of a cross-reacting group: an aspirin allergy is a caution for
# the other NSAIDs (NSAID-exacerbated respiratory disease cross-reacts across COX-1
# inhibitors, EAACI 2019), not a ban; aspirin itself is blocked by name.
CROSS_REACTIVITY_TERMS: dict[str, tuple[str, ...]] = {
    NSAID: ("aspirin", "阿司匹林", "salicylate", "水杨酸", "ibuprofen", "布洛芬", "diclofenac", "双氯芬酸"),
}
# Where the evidence for a cross-sensitivity caution comes from.
CROSS_SENSITIVITY_SOURCES = {
    SULFONAMIDE: "Strom BL et al. NEJM 2003;349:1628 (no specific cross-reactivity of non-antibiotic "
                 "sulfonamides); the drugs' labels (sulfonamide hypersensitivity)",
    NSAID: "EAACI/ENDA position paper on NSAID hypersensitivity (Kowalski ML et al. Allergy 2019); ibuprofen label",
    TherapeuticClass.CEPHALOSPORIN: "Khan DA et al. Drug allergy: a 2022 practice parameter update. J Allergy Clin "
                                    "Immunol 2022;150:1333",
}
ALLERGY_SOURCE = "Drug label: contraindicated in hypersensitivity to the active substance or its class"


# --- Interactions: the graded table in knowledge/interactions.yaml (prescriptions.interactions).
# contraindicated blocks; major and moderate warn and need a written reason to override.
INTERACTION_SEVERITY = {interactions.CONTRAINDICATED: BLOCK, interactions.MAJOR: WARN, interactions.MODERATE: WARN}


# --- Inputs and outputs -------------------------------------------------------------------
@runtime_checkable
class PrescribedItem(Protocol):
    """What the checks need from one prescription line. `position` identifies it in findings."""

    position: int
    drug: Drug
    dose: Decimal
    dose_unit: str
    frequency: str
    days_supply: int
    quantity: int


@dataclass(frozen=True)
class ItemInput:
    position: int
    drug: Drug
    dose: Decimal
    dose_unit: str
    frequency: str
    days_supply: int
    quantity: int


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    item: int | None = None
    drug_code: str | None = None
    source: str = ""  # the label or guideline the finding rests on

    @property
    def key(self) -> str:
        """Identifies the finding for an override: "renal_dose_cap:1", or the code alone."""
        return self.code if self.item is None else f"{self.code}:{self.item}"

    def as_dict(self) -> dict:
        return {**asdict(self), "key": self.key}


@dataclass(frozen=True)
class AllergyFact:
    substance: str
    category: str
    reaction: str = ""


@dataclass(frozen=True)
class CurrentMedication:
    """A current medication: its formulary drug (by code, or matched by name) or None, and its name."""

    name: str
    drug: Drug | None = None
    started_on: date | None = None


def _icd10_in(codes: Iterable[str], ranges: tuple[tuple[str, str], ...]) -> bool:
    categories = [c.strip().upper().replace(".", "")[:3] for c in codes]
    return any(low <= category <= high for category in categories for low, high in ranges)


DIABETES_ICD10 = (("E10", "E14"),)
DEMENTIA_ICD10 = (("F00", "F03"), ("G30", "G31"))  # dementia, Alzheimer's, other degeneration


@dataclass(frozen=True)
class PatientFacts:
    """What the checks read from the record: allergies, kidney function with its dates, active
    conditions, age and sex, body weight, and the current medications resolved to drugs.
    `as_of` is when the facts were read (dates are judged against it)."""

    allergies: tuple[AllergyFact, ...] = ()
    egfr: Decimal | None = None
    egfr_measured_at: datetime | None = None
    chronic_conditions: tuple[str, ...] = field(default=())
    conditions: tuple[str, ...] = ()  # ICD-10 codes of every active condition
    age: int | None = None
    sex: str = ""
    weight_kg: Decimal | None = None
    creatinine_umol_l: Decimal | None = None
    creatinine_measured_at: datetime | None = None
    current_medications: tuple[CurrentMedication, ...] = ()
    as_of: datetime | None = None

    @property
    def has_chronic_condition(self) -> bool:
        return bool(self.chronic_conditions)

    @property
    def diabetes(self) -> bool:
        return _icd10_in(self.conditions, DIABETES_ICD10)

    @property
    def dementia(self) -> bool:
        return _icd10_in(self.conditions, DEMENTIA_ICD10)

    @property
    def elderly(self) -> bool:
        return self.age is not None and self.age >= settings.CHECKS_ELDERLY_AGE

    @property
    def egfr_stale(self) -> bool:
        return renal.egfr_is_stale(self.egfr, self.egfr_measured_at, self.as_of)

    @property
    def egfr_for_dosing(self) -> Decimal | None:
        """The latest eGFR, one band lower when it is out of date (the conservative step)."""
        if self.egfr is None:
            return None
        return renal.next_lower_band(self.egfr) if self.egfr_stale else self.egfr

    @property
    def crcl(self) -> Decimal | None:
        """Cockcroft-Gault creatinine clearance when age, sex, weight and a current creatinine are known."""
        if None in (self.age, self.weight_kg, self.creatinine_umol_l) or self.sex not in ("male", "female"):
            return None
        value = renal.cockcroft_gault(age=self.age, female=self.sex == "female", weight_kg=self.weight_kg,
                                      creatinine_umol_l=self.creatinine_umol_l)
        return None if renal.egfr_is_stale(value, self.creatinine_measured_at, self.as_of) else value

    def renal_function(self, drug: Drug) -> tuple[Decimal | None, str]:
        """The value the drug's renal rule is read against, and its name: CrCl where the label
        doses by it and it can be computed, else the (conservative) eGFR."""
        if drug.renal_measure == RenalMeasure.CRCL and self.crcl is not None:
            return self.crcl, "CrCl"
        return self.egfr_for_dosing, "eGFR"

    def context(self) -> interactions.Context:
        renal_value = self.crcl if self.crcl is not None else self.egfr_for_dosing
        return interactions.Context(egfr=self.egfr_for_dosing, renal=renal_value, diabetes=self.diabetes,
                                    dementia=self.dementia, age=self.age)


# The observations the checks read, newest first per kind.
FACT_OBSERVATIONS = (ObservationKind.EGFR, ObservationKind.CREATININE, ObservationKind.BODY_WEIGHT)


def patient_facts(patient: Patient) -> PatientFacts:
    """Read the safety-relevant facts from `patient`'s record: active conditions, allergies,
    the current medications with their formulary drugs, and the latest eGFR, creatinine and
    weight (readings entered in error left out). Five queries, as plain values."""
    conditions = list(patient.conditions.filter(status=ConditionStatus.ACTIVE).values_list("icd10_code", "name"))
    allergies = patient.allergies.values_list("substance", "category", "reaction")
    medications = list(patient.medications.filter(active=True))
    latest: dict[str, tuple] = {}
    for kind, value, measured_at in (valid_observations(patient).filter(kind__in=FACT_OBSERVATIONS)
                                     .order_by("-measured_at", "-id").values_list("kind", "value", "measured_at")):
        latest.setdefault(kind, (value, measured_at))
    egfr, creatinine, weight = (latest.get(kind, (None, None)) for kind in FACT_OBSERVATIONS)
    drugs = drugs_for_medications(medications)
    return PatientFacts(
        allergies=tuple(AllergyFact(*a) for a in allergies),
        egfr=egfr[0],
        egfr_measured_at=egfr[1],
        chronic_conditions=tuple(f"{code} {name}" for code, name in conditions if icd10_is_chronic(code)),
        conditions=tuple(code for code, _name in conditions),
        age=patient.age,
        sex=patient.sex,
        weight_kg=weight[0],
        creatinine_umol_l=creatinine[0],
        creatinine_measured_at=creatinine[1],
        current_medications=tuple(CurrentMedication(m.name, drugs.get(m.pk), m.started_on) for m in medications),
        as_of=timezone.now(),
    )


# --- Arithmetic ---------------------------------------------------------------------------
def _times_per_day(frequency: str) -> int:
    return FREQUENCIES[frequency].times_per_day


def dose_in_strength_units(*, drug: Drug, dose: Decimal, dose_unit: str) -> Decimal:
    """One administration expressed in the drug's strength unit (mg): "2 片" of 300 mg is 600."""
    unit = _unit(dose_unit)
    if unit in DOSAGE_UNITS:
        return dose * drug.strength
    strength_unit = _unit(drug.strength_unit)
    if unit == strength_unit:
        return dose
    if unit in MASS_IN_MG and strength_unit in MASS_IN_MG:
        return dose * MASS_IN_MG[unit] / MASS_IN_MG[strength_unit]
    raise DomainError(
        _("Dose unit %(unit)s does not fit %(drug)s (%(strength_unit)s).")
        % {"unit": repr(dose_unit), "drug": drug.display_name, "strength_unit": drug.strength_unit},
        code="dose_unit_invalid", field="dose_unit", kind=Kind.INVALID,
    )


def daily_dose(item: PrescribedItem) -> Decimal:
    """The most the item gives in a day, in the drug's strength unit."""
    per_dose = dose_in_strength_units(drug=item.drug, dose=Decimal(item.dose), dose_unit=item.dose_unit)
    return per_dose * _times_per_day(item.frequency)


def expected_quantity(*, drug: Drug, dose: Decimal, dose_unit: str, frequency: str, days_supply: int) -> int:
    """Dosage units (tablets, capsules) needed: ceil(dose / strength × times per day × days).

    Raises DomainError (400) for an unknown frequency or a dose unit that does not fit the drug.
    """
    if frequency not in FREQUENCIES:
        raise DomainError(_("Unknown frequency %(frequency)s; use one of %(choices)s.")
                          % {"frequency": repr(frequency), "choices": ", ".join(FREQUENCIES)},
                          code="frequency_invalid", field="frequency", kind=Kind.INVALID)
    per_dose = dose_in_strength_units(drug=drug, dose=Decimal(dose), dose_unit=dose_unit)
    return math.ceil(per_dose / drug.strength * _times_per_day(frequency) * int(days_supply))


def _fmt(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


# --- Input validation (raises) ------------------------------------------------------------
def item_validate(item: PrescribedItem) -> None:
    """Refuse a malformed item with a 400 naming `items[<position>].<field>`.

    Rules: the drug is active in the formulary; dose is a positive number in a unit that fits
    the drug; frequency is one of FREQUENCIES; days_supply is a positive whole number; the
    quantity equals `expected_quantity` (for prn: at least 1 and at most that ceiling).
    """
    prefix = f"items[{item.position}]"

    def refuse(message: str, code: str, name: str):
        raise DomainError(message, code=code, field=f"{prefix}.{name}", kind=Kind.INVALID)

    drug = item.drug
    if not isinstance(drug, Drug) or drug.pk is None or not drug.active:
        refuse(_("Unknown drug, or no longer in the formulary."), "drug_invalid", "drug")
    try:
        dose = Decimal(item.dose)
    except (InvalidOperation, TypeError, ValueError):
        refuse(_("Dose must be a number."), "dose_invalid", "dose")
    if not dose.is_finite() or dose <= 0:
        refuse(_("Dose must be greater than zero."), "dose_invalid", "dose")
    if item.frequency not in FREQUENCIES:
        refuse(_("Unknown frequency %(frequency)s; use one of %(choices)s.")
               % {"frequency": repr(item.frequency), "choices": ", ".join(FREQUENCIES)}, "frequency_invalid", "frequency")
    if not isinstance(item.days_supply, int) or isinstance(item.days_supply, bool) or item.days_supply < 1:
        refuse(_("Days of supply must be a whole number of at least 1."), "days_supply_invalid", "days_supply")
    try:
        expected = expected_quantity(drug=drug, dose=dose, dose_unit=item.dose_unit, frequency=item.frequency,
                                     days_supply=item.days_supply)
    except DomainError as error:
        refuse(error.message, error.code, error.field or "dose_unit")
    quantity = item.quantity
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        refuse(_("Quantity must be a whole number of at least 1."), "quantity_invalid", "quantity")
    if FREQUENCIES[item.frequency].as_needed:
        if quantity > expected:
            refuse(_("Quantity %(quantity)s is more than %(expected)s %(form)s(s), the most %(days)s days of as-needed "
                     "use can take.") % {"quantity": quantity, "expected": expected, "form": drug.form,
                                         "days": item.days_supply}, "quantity_mismatch", "quantity")
    elif quantity != expected:
        refuse(_("Quantity %(quantity)s does not match dose × frequency × days: expected %(expected)s %(form)s(s).")
               % {"quantity": quantity, "expected": expected, "form": drug.form}, "quantity_mismatch", "quantity")


def items_validate(items: Sequence[PrescribedItem]) -> None:
    """Validate every item (see `item_validate`) and refuse an empty list or repeated positions."""
    if not items:
        raise DomainError(_("A prescription needs at least one item."), code="items_required", field="items", kind=Kind.INVALID)
    positions = [item.position for item in items]
    if len(set(positions)) != len(positions):
        raise DomainError(_("Item positions must be unique."), code="items_invalid", field="items", kind=Kind.INVALID)
    for item in items:
        item_validate(item)


# --- The checks (pure: facts and items in, findings out) -----------------------------------
@lru_cache(maxsize=4096)
def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=4096)
def _term_pattern(term: str) -> re.Pattern | None:
    """English terms match as whole words; None for a Chinese term (matched as a substring)."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])") if term.isascii() else None


def _mentions(text: str, term: str) -> bool:
    term = _normalise(term)
    if not term:
        return False
    pattern = _term_pattern(term)
    return pattern.search(text) is not None if pattern else term in text


def allergy_concerns_medicines(category: str) -> bool:
    """Whether an allergy of this category is weighed against drugs (a food allergy is not)."""
    return category != AllergyCategory.FOOD


def allergy_names_drug(substance: str, drug: Drug) -> bool:
    """Whether an allergy to `substance` names `drug` itself: its ingredient, generic name
    (English or Chinese) or formulary code. The one rule, for the checks and the FHIR coding."""
    text = _normalise(substance)
    names = [drug.ingredient, drug.generic_name, drug.ingredient_zh, drug.generic_name_zh, drug.code]
    return any(name and _mentions(text, name) for name in names)


def allergy_groups_named(substance: str) -> list[str]:
    """The classes and cross-reactivity groups (keys of ALLERGY_GROUP_TERMS) that an allergy
    to `substance` names, e.g. "NSAID" or "磺胺" -> ["nsaid"] / ["sulfonamide"]."""
    return list(_groups_named(substance))


@lru_cache(maxsize=1024)
def _groups_named(substance: str) -> tuple[str, ...]:
    text = _normalise(substance)
    return tuple(group for group, terms in ALLERGY_GROUP_TERMS.items() if any(_mentions(text, term) for term in terms))


@lru_cache(maxsize=1024)
def _cross_groups(substance: str) -> frozenset[str]:
    """The groups an allergy to `substance` is a cross-sensitivity caution for."""
    text, named = _normalise(substance), _groups_named(substance)
    cross = set(named) | {group for group, terms in CROSS_REACTIVITY_TERMS.items()
                          if any(_mentions(text, term) for term in terms)}
    cross |= {other for group in named for other in CROSS_REACTING_CLASSES.get(group, ())}
    return frozenset(cross)


def allergy_group_label(group: str) -> str:
    return TherapeuticClass(group).label if group in TherapeuticClass.values else f"{group} group"


def _allergy_match(drug: Drug, substance: str) -> tuple[str, str, str] | None:
    """How an allergy to `substance` concerns `drug`: (severity, reason, source), or None.

    The drug itself or its own class named: an absolute contraindication (block). A
    cross-reacting group only (a sulfonamide allergy and furosemide, an aspirin allergy and
    ibuprofen): a cross-sensitivity caution the doctor may override with a reason (warn).
    """
    if allergy_names_drug(substance, drug):
        return BLOCK, _("the drug itself"), ALLERGY_SOURCE
    own_classes = interactions.classes_of(drug)
    for group in _groups_named(substance):
        if group in own_classes:
            return BLOCK, _("its class (%(group)s)") % {"group": allergy_group_label(group)}, ALLERGY_SOURCE
    cross = _cross_groups(substance)
    for group in [*own_classes, *drug.allergy_groups]:
        if group in cross:
            return WARN, _("a cross-reacting group (%(group)s)") % {"group": allergy_group_label(group)}, \
                CROSS_SENSITIVITY_SOURCES.get(group, ALLERGY_SOURCE)
    return None


def check_allergies(facts: PatientFacts, items: Iterable[PrescribedItem]) -> list[Finding]:
    """Block a drug the patient is allergic to by name, code or class; warn on a cross-reacting
    group (`allergy_cross_sensitivity`), which the doctor may override with a reason."""
    findings = []
    for item in items:
        matches = [(allergy, match) for allergy in facts.allergies if allergy_concerns_medicines(allergy.category)
                   for match in [_allergy_match(item.drug, allergy.substance)] if match]
        if not matches:
            continue
        allergy, (severity, reason, source) = min(matches, key=lambda m: m[1][0] != BLOCK)
        drug = f"{item.drug.generic_name} {item.drug.generic_name_zh}"
        if severity == BLOCK:
            findings.append(Finding(
                "allergy", BLOCK, _("Allergy on record to '%(substance)s': %(drug)s matches %(reason)s.") % {
                    "substance": allergy.substance, "drug": drug, "reason": reason},
                item.position, item.drug.code, source))
        else:
            findings.append(Finding(
                "allergy_cross_sensitivity", WARN,
                _("Allergy on record to '%(substance)s': %(drug)s belongs to %(reason)s; cross-sensitivity is "
                  "possible, not certain. Ask what the reaction was.") % {
                    "substance": allergy.substance, "drug": drug, "reason": reason},
                item.position, item.drug.code, source))
    return findings


def _renal_note(facts: PatientFacts, measure: str, value: Decimal) -> str:
    if measure == "eGFR" and facts.egfr_stale:
        return _("latest %(egfr)s, out of date: checked as %(assumed)s") % {
            "egfr": _fmt(facts.egfr), "assumed": _fmt(value)}
    return _("latest %(egfr)s") % {"egfr": _fmt(value)}


def check_renal(facts: PatientFacts, items: Iterable[PrescribedItem]) -> list[Finding]:
    """Against the drug's renal rule, read in its label's measure (CrCl when computable, else
    eGFR; an out-of-date eGFR one band lower): block below its contraindication, warn above
    its dose cap (stating the cap), warn when no kidney function is on record. A
    contraindication reached only through the out-of-date step warns
    (`renal_contraindicated_unconfirmed`): measure again rather than refuse outright."""
    findings = []
    items = list(items)
    if facts.egfr_stale and any(item.drug.has_renal_rule for item in items):
        days = renal.age_in_days(facts.egfr_measured_at, facts.as_of)
        findings.append(Finding(
            "renal_function_out_of_date", WARN,
            _("The latest eGFR (%(egfr)s) is %(days)s days old, more than the %(window)s days advised at this level; "
              "doses are checked as if it were one band lower (%(assumed)s). Measure it again.") % {
                "egfr": _fmt(facts.egfr), "days": days, "window": renal.valid_days(facts.egfr),
                "assumed": _fmt(facts.egfr_for_dosing)},
            source="KDIGO 2012 CKD guideline 1.3 (frequency of GFR monitoring)"))
    for item in items:
        drug = item.drug
        if not drug.has_renal_rule:
            continue
        value, measure = facts.renal_function(drug)
        if value is None:
            findings.append(Finding("renal_function_unknown", WARN,
                                    _("No eGFR on record; %(drug)s has a renal dosing rule.") % {"drug": drug.display_name},
                                    item.position, drug.code, drug.source_note))
            continue
        below = drug.renal_contraindicated_below
        if below is not None and value < below:
            confirmed = measure == "CrCl" or not facts.egfr_stale or facts.egfr < below
            findings.append(Finding(
                "renal_contraindicated" if confirmed else "renal_contraindicated_unconfirmed", BLOCK if confirmed else WARN,
                _("%(drug)s is contraindicated below %(measure)s %(below)s (%(note)s).") % {
                    "drug": drug.display_name, "measure": measure, "below": _fmt(below),
                    "note": _renal_note(facts, measure, value)},
                item.position, drug.code, drug.source_note,
            ))
            continue
        cap = drug.renal_cap(value)
        daily = daily_dose(item)
        if cap and daily > cap[0]:
            findings.append(Finding(
                "renal_dose_cap", WARN,
                _("%(drug)s %(daily)s %(unit)s/day is above the renal cap of %(cap)s %(unit)s/day for %(measure)s "
                  "below %(below)s (%(note)s).") % {
                    "drug": drug.display_name, "daily": _fmt(daily), "unit": drug.strength_unit, "cap": _fmt(cap[0]),
                    "measure": measure, "below": _fmt(cap[1]), "note": _renal_note(facts, measure, value)},
                item.position, drug.code, drug.source_note,
            ))
    return findings


# --- Medicines in play: the new items and the current medications --------------------------
def participants(facts: PatientFacts, items: Sequence[PrescribedItem]) -> list[Participant]:
    """The new items, then the coded current medications that no new item renews (a new line
    with the same ingredients as a current medication continues it)."""
    new = [Participant.of(item.drug, position=item.position) for item in items]
    renewed = {p.ingredients for p in new}
    current = []
    for medication in facts.current_medications:
        if medication.drug is None:
            continue
        participant = Participant.of(medication.drug, started_on=medication.started_on)
        if participant.ingredients not in renewed:
            current.append(participant)
    return new + current


def _named(participant: Participant) -> str:
    if participant.is_new:
        return participant.drug.display_name
    return _("%(drug)s (current medication)") % {"drug": participant.drug.display_name}


def check_duplicates(items: Sequence[PrescribedItem], facts: PatientFacts | None = None) -> list[Finding]:
    """Warn on each item that repeats an ingredient or a therapeutic class of an earlier item or
    of a current medication (a fixed-dose combination and its own component, nifedipine for a
    patient on amlodipine). Allowed combinations (DAPT: aspirin + a P2Y12 inhibitor) and the
    classes routinely doubled (interactions.yaml `duplicates`) are not flagged."""
    facts = facts or PatientFacts()
    findings = []
    for duplicate in interactions.duplicate_hits(participants(facts, items)):
        item, other = duplicate.item, duplicate.other
        what = (_("the same ingredient") if duplicate.same_ingredient
                else _("the same class (%(class)s)") % {"class": TherapeuticClass(duplicate.shared_class).label})
        if other.is_new:
            message = _("%(drug)s and %(other)s (item %(position)s) are %(what)s.") % {
                "drug": item.drug.display_name, "other": other.drug.display_name, "position": other.position,
                "what": what}
        else:
            message = _("%(drug)s and %(other)s, a current medication, are %(what)s.") % {
                "drug": item.drug.display_name, "other": other.drug.display_name, "what": what}
        findings.append(Finding("duplicate_therapy", WARN, message, item.position, item.drug.code,
                                "中国高血压防治指南 (2018): combine classes, not two drugs of one class"))
    return findings


def _severity_label(grade: str) -> str:
    if grade == interactions.CONTRAINDICATED:
        return _("Contraindicated combination")
    return _("Major interaction") if grade == interactions.MAJOR else _("Moderate interaction")


def check_interactions(facts: PatientFacts, items: Sequence[PrescribedItem]) -> list[Finding]:
    """Each rule of the interaction table that the new items fire, with one another or with the
    current medications (conditions such as eGFR, diabetes and age read from `facts`):
    contraindicated blocks, major and moderate warn. A one-medicine rule is a drug-disease
    caution (digoxin with reduced kidney function)."""
    findings = []
    context = facts.context()
    for hit in interactions.interaction_hits(participants(facts, items), context):
        rule = hit.rule
        findings.append(Finding(
            rule.id, INTERACTION_SEVERITY[hit.severity],
            _("%(severity)s: %(drugs)s%(because)s. %(mechanism)s; %(advice)s.") % {
                "severity": _severity_label(hit.severity), "drugs": " + ".join(_named(p) for p in hit.participants),
                "because": _conditions_note(rule, hit.severity, context),
                "mechanism": _capitalised(in_language(rule.mechanism["zh"], rule.mechanism["en"])),
                "advice": in_language(rule.advice["zh"], rule.advice["en"])},
            hit.anchor.position, hit.anchor.drug.code, rule.source,
        ))
    return findings


def _conditions_note(rule: interactions.Rule, grade: str, context: interactions.Context) -> str:
    """" (eGFR 48, diabetes)": the patient facts that made the rule apply or raised its grade."""
    conditions = [rule.when]
    if grade != rule.severity:
        conditions += [c for c in rule.raise_when_any if interactions.condition_holds(c, context)]
    names = set().union(*conditions)
    parts = []
    if "egfr_below" in names:
        parts.append(_("eGFR %(egfr)s") % {"egfr": _fmt(context.egfr)})
    if "diabetes" in names:
        parts.append(_("diabetes"))
    if "age_from" in names:
        parts.append(_("age %(age)s") % {"age": context.age})
    return f" ({', '.join(parts)})" if parts else ""


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Doses --------------------------------------------------------------------------------
# A daily dose below a tenth of the drug's minimum (or, without one, a hundredth of its usual
# dose) is an order-entry slip (µg typed for mg), not a clinical choice: it blocks as implausible.
IMPLAUSIBLE_BELOW_MINIMUM = 10
IMPLAUSIBLE_BELOW_USUAL = 100


def check_doses(facts: PatientFacts, items: Iterable[PrescribedItem]) -> list[Finding]:
    """Per item: block above the label's single-dose or daily maximum and an implausibly low dose
    (a unit slip such as amlodipine "5 µg"); warn below the minimum effective dose, above the
    elderly maximum from CHECKS_ELDERLY_AGE, and an NSAID for longer than CHECKS_NSAID_CKD_MAX_DAYS
    when the eGFR is below CHECKS_NSAID_CKD_EGFR_BELOW (KDIGO 2012 4.4.2)."""
    findings = []
    egfr = facts.egfr_for_dosing
    for item in items:
        drug, unit = item.drug, item.drug.strength_unit
        single = dose_in_strength_units(drug=drug, dose=Decimal(item.dose), dose_unit=item.dose_unit)
        daily = single * _times_per_day(item.frequency)
        values = {"drug": drug.display_name, "daily": _fmt(daily), "single": _fmt(single), "unit": unit}

        def add(code, severity, message, source=drug.source_note):
            findings.append(Finding(code, severity, message, item.position, drug.code, source))

        if daily > drug.max_daily_dose:
            add("max_daily_dose", BLOCK, _("%(drug)s %(daily)s %(unit)s/day exceeds the maximum of %(maximum)s "
                                           "%(unit)s/day.") % {**values, "maximum": _fmt(drug.max_daily_dose)})
        if drug.max_single_dose is not None and single > drug.max_single_dose:
            add("max_single_dose", BLOCK, _("%(drug)s %(single)s %(unit)s in one dose exceeds the single-dose maximum "
                                            "of %(maximum)s %(unit)s.") % {**values, "maximum": _fmt(drug.max_single_dose)})
        if drug.min_daily_dose is not None:
            implausible = daily < drug.min_daily_dose / IMPLAUSIBLE_BELOW_MINIMUM
        else:
            implausible = daily < drug.usual_daily_dose / IMPLAUSIBLE_BELOW_USUAL
        if implausible:
            add("dose_implausibly_low", BLOCK, _("%(drug)s %(daily)s %(unit)s/day is far below any effective dose "
                                                 "(usual %(usual)s %(unit)s/day): check the unit (µg, mg, g).")
                % {**values, "usual": _fmt(drug.usual_daily_dose)})
        elif drug.min_daily_dose is not None and daily < drug.min_daily_dose:
            add("dose_below_minimum", WARN, _("%(drug)s %(daily)s %(unit)s/day is below the minimum effective dose "
                                              "of %(minimum)s %(unit)s/day.") % {**values,
                                                                                "minimum": _fmt(drug.min_daily_dose)})
        if (facts.elderly and drug.elderly_max_daily_dose is not None and daily > drug.elderly_max_daily_dose
                and daily <= drug.max_daily_dose):
            add("elderly_max_daily_dose", WARN, _("%(drug)s %(daily)s %(unit)s/day is above the maximum of %(maximum)s "
                                                  "%(unit)s/day from age %(age)s (patient is %(patient_age)s).")
                % {**values, "maximum": _fmt(drug.elderly_max_daily_dose), "age": settings.CHECKS_ELDERLY_AGE,
                   "patient_age": facts.age})
        if (TherapeuticClass.NSAID in interactions.classes_of(drug) and egfr is not None
                and egfr < settings.CHECKS_NSAID_CKD_EGFR_BELOW and item.days_supply > settings.CHECKS_NSAID_CKD_MAX_DAYS):
            add("nsaid_duration_ckd", WARN, _("%(days)s days of %(drug)s with eGFR %(egfr)s: an NSAID in reduced kidney "
                                              "function is for a short course of at most %(limit)s days.")
                % {**values, "days": item.days_supply, "egfr": _fmt(egfr), "limit": settings.CHECKS_NSAID_CKD_MAX_DAYS},
                "KDIGO 2012 CKD guideline 4.4.2 (avoid prolonged NSAIDs at GFR < 60)")
    return findings


# --- Age: AGS Beers Criteria 2023 ---------------------------------------------------------
def _days_taken(facts: PatientFacts, participant: Participant, days_supply: int) -> int:
    """This supply plus how long the patient has already been on the same medicine."""
    today = (facts.as_of or timezone.now()).date()
    already = [(today - m.started_on).days for m in facts.current_medications
               if m.drug is not None and m.started_on and interactions.ingredients_of(m.drug) & participant.ingredients]
    return days_supply + max([0, *already])


def check_beers(facts: PatientFacts, items: Sequence[PrescribedItem]) -> list[Finding]:
    """From CHECKS_ELDERLY_AGE, warn on each Beers 2023 entry an item meets, with the list's
    reason and advice (code `beers_<entry>`)."""
    if not facts.elderly:
        return []
    table, context, findings = beers.beers_table(), facts.context(), []
    for item in items:
        participant = Participant.of(item.drug, position=item.position)
        unit = _unit(item.drug.strength_unit)
        daily_mg = daily_dose(item) * MASS_IN_MG[unit] if unit in MASS_IN_MG else None
        for entry in beers.beers_hits(participant, context=context, daily_mg=daily_mg,
                                      days_taken=_days_taken(facts, participant, item.days_supply)):
            findings.append(Finding(
                f"beers_{entry.id}", WARN,
                _("Beers 2023, age %(age)s: %(drug)s. %(reason)s; %(advice)s.") % {
                    "age": facts.age, "drug": item.drug.display_name,
                    "reason": _capitalised(in_language(entry.reason["zh"], entry.reason["en"])),
                    "advice": in_language(entry.advice["zh"], entry.advice["en"])},
                item.position, item.drug.code, table.source,
            ))
    return findings


def knowledge_version() -> str:
    """The version of the formulary and knowledge base the checks run against, as recorded on a
    signed prescription (`Prescription.formulary_version`): formulary, interactions, Beers."""
    return (f"{knowledge.formulary_version()}+ix{interactions.version()}"
            f"+beers{beers.beers_table().version}")[:40]


def findings_for(facts: PatientFacts, items: Sequence[PrescribedItem], *, long_term: bool = False) -> list[Finding]:
    """Every check over already-validated items; blocks first, then by item."""
    findings = [
        *check_allergies(facts, items),
        *check_renal(facts, items),
        *check_doses(facts, items),
        *online_rules.check_days_supply(facts, items, long_term=long_term),
        *check_duplicates(items, facts),
        *check_interactions(facts, items),
        *check_beers(facts, items),
    ]
    return sorted(findings, key=lambda f: (f.severity != BLOCK, -1 if f.item is None else f.item))


def prescription_check(*, patient: Patient, items: Sequence[PrescribedItem], long_term: bool = False) -> list[Finding]:
    """Validate `items` and run every safety check against `patient`'s record.

    Raises DomainError (400, field `items[<position>].<field>`) for malformed items, see
    `item_validate`. Returns the findings, blocks first; an empty list means nothing to flag.
    """
    items = list(items)
    items_validate(items)
    return findings_for(patient_facts(patient), items, long_term=long_term)


# --- Overrides ----------------------------------------------------------------------------
OVERRIDE_REASON_MAX = 500


def override_allowed(findings: Iterable[Finding]) -> bool:
    """True when nothing blocks: every remaining finding is a warning that a reason may override."""
    return all(f.severity != BLOCK for f in findings)


def overrides_validate(*, findings: Sequence[Finding], reasons: Mapping[str, str]) -> dict[str, str]:
    """Check that the prescriber may proceed despite `findings`, and return the reasons to store.

    Rule: a block can never be overridden; every warning needs a written (non-blank) reason
    keyed by `Finding.key`. Reasons for findings that no longer arise are dropped.
    Raises DomainError 422 `safety_block` (field "findings") when any block is present, and
    422 `override_reason_required` (field "override_reasons") naming the warnings that lack one.
    """
    blocks = [f for f in findings if f.severity == BLOCK]
    if blocks:
        raise DomainError(_("Blocked by safety checks, which cannot be overridden: %(findings)s")
                          % {"findings": "; ".join(f.message for f in blocks)}, code="safety_block", field="findings",
                          kind=Kind.UNPROCESSABLE)
    accepted: dict[str, str] = {}
    missing = []
    for finding in findings:
        reason = reasons.get(finding.key)
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason:
            missing.append(finding.key)
        elif len(reason) > OVERRIDE_REASON_MAX:
            raise DomainError(_("Override reason for %(finding)s is longer than %(limit)s characters.")
                              % {"finding": finding.key, "limit": OVERRIDE_REASON_MAX},
                              code="override_reason_too_long", field="override_reasons", kind=Kind.INVALID)
        else:
            accepted[finding.key] = reason
    if missing:
        raise DomainError(_("A written reason is required to override: %(findings)s") % {"findings": ", ".join(missing)},
                          code="override_reason_required", field="override_reasons", kind=Kind.UNPROCESSABLE)
    return accepted
