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
from decimal import Decimal, InvalidOperation
from typing import Literal, Protocol, runtime_checkable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cloudhospital.errors import DomainError, Kind
from consult.models import AllergyCategory, Patient
from consult.selectors import record_summary
from prescriptions.formulary import NSAID, SULFONAMIDE
from prescriptions.models import Drug, TherapeuticClass
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
    # The NSAID class and the NSAID cross-reactivity group share one key: an aspirin allergy
    # is an NSAID allergy (the ibuprofen label contraindicates it).
    NSAID: ("nsaid", "nsaids", "non-steroidal anti-inflammatory", "非甾体", "aspirin", "阿司匹林", "salicylate", "水杨酸"),
}


# --- Dangerous pairs ----------------------------------------------------------------------
@dataclass(frozen=True)
class PairRule:
    code: str
    first: frozenset[str]
    second: frozenset[str]
    egfr_below: Decimal | None
    why: str  # lazily translated


RAAS_BLOCKERS = frozenset({TherapeuticClass.ACE_INHIBITOR, TherapeuticClass.ARB})
DANGEROUS_PAIRS: tuple[PairRule, ...] = (
    # ONTARGET and VA NEPHRON-D: more hyperkalaemia and acute kidney injury, no benefit;
    # 中国高血压防治指南 2018 advises against combining them.
    PairRule("ace_inhibitor_with_arb", frozenset({TherapeuticClass.ACE_INHIBITOR}), frozenset({TherapeuticClass.ARB}),
             None, gettext_lazy("dual RAAS blockade raises the risk of hyperkalaemia and acute kidney injury")),
    PairRule("raas_blocker_with_potassium_sparing", RAAS_BLOCKERS,
             frozenset({TherapeuticClass.POTASSIUM_SPARING_DIURETIC}), Decimal(60),
             gettext_lazy("with reduced kidney function this combination risks hyperkalaemia")),
    # KDIGO 2012 4.4: avoid NSAIDs in people with reduced GFR taking RAAS blockers.
    PairRule("raas_blocker_with_nsaid", RAAS_BLOCKERS, frozenset({TherapeuticClass.NSAID}), Decimal(60),
             gettext_lazy("with reduced kidney function an NSAID with an ACE inhibitor or ARB risks acute kidney injury")),
)


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
class PatientFacts:
    """What the checks read from the record: allergies, the latest eGFR, chronic conditions."""

    allergies: tuple[AllergyFact, ...] = ()
    egfr: Decimal | None = None
    egfr_measured_at: object = None
    chronic_conditions: tuple[str, ...] = field(default=())

    @property
    def has_chronic_condition(self) -> bool:
        return bool(self.chronic_conditions)


def patient_facts(patient: Patient) -> PatientFacts:
    """Read the safety-relevant facts from `patient`'s record (active conditions only)."""
    summary = record_summary(patient, bp_readings=0)
    egfr = summary["latest_egfr"]
    return PatientFacts(
        allergies=tuple(AllergyFact(a.substance, a.category, a.reaction) for a in summary["allergies"]),
        egfr=egfr.value if egfr else None,
        egfr_measured_at=egfr.measured_at if egfr else None,
        chronic_conditions=tuple(
            f"{c.icd10_code} {c.name}" for c in summary["conditions"] if icd10_is_chronic(c.icd10_code)
        ),
    )


# --- Arithmetic ---------------------------------------------------------------------------
def _times_per_day(frequency: str) -> int:
    return FREQUENCIES[frequency].times_per_day


def dose_in_strength_units(*, drug: Drug, dose: Decimal, dose_unit: str) -> Decimal:
    """One administration expressed in the drug's strength unit (mg): "2 片" of 300 mg is 600."""
    unit = dose_unit.strip().lower()
    if unit in DOSAGE_UNITS:
        return dose * drug.strength
    strength_unit = drug.strength_unit.lower()
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
def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _mentions(text: str, term: str) -> bool:
    term = _normalise(term)
    if not term:
        return False
    if term.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text) is not None
    return term in text


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
    text = _normalise(substance)
    return [group for group, terms in ALLERGY_GROUP_TERMS.items() if any(_mentions(text, term) for term in terms)]


def allergy_group_label(group: str) -> str:
    return TherapeuticClass(group).label if group in TherapeuticClass.values else f"{group} group"


def _allergy_reason(drug: Drug, substance: str) -> str | None:
    """Why an allergy to `substance` concerns `drug`, or None."""
    if allergy_names_drug(substance, drug):
        return _("the drug itself")
    named = allergy_groups_named(substance)
    for group in [drug.therapeutic_class, *drug.allergy_groups]:
        if group in named:
            return _("its class (%(group)s)") % {"group": allergy_group_label(group)}
    return None


def check_allergies(facts: PatientFacts, items: Iterable[PrescribedItem]) -> list[Finding]:
    """Block a drug the patient is allergic to, by name, code or (cross-reacting) class."""
    findings = []
    for item in items:
        for allergy in facts.allergies:
            if not allergy_concerns_medicines(allergy.category):
                continue
            reason = _allergy_reason(item.drug, allergy.substance)
            if reason:
                findings.append(Finding(
                    "allergy", BLOCK,
                    _("Allergy on record to '%(substance)s': %(drug)s matches %(reason)s.") % {
                        "substance": allergy.substance, "drug": f"{item.drug.generic_name} {item.drug.generic_name_zh}",
                        "reason": reason}, item.position, item.drug.code,
                ))
                break
    return findings


def check_renal(facts: PatientFacts, items: Iterable[PrescribedItem]) -> list[Finding]:
    """Block below the drug's eGFR contraindication; warn above its renal dose cap (stating
    the cap); warn when the drug has a renal rule and no eGFR is on record."""
    findings = []
    egfr = facts.egfr
    for item in items:
        drug = item.drug
        if not drug.has_renal_rule:
            continue
        if egfr is None:
            findings.append(Finding("renal_function_unknown", WARN,
                                    _("No eGFR on record; %(drug)s has a renal dosing rule.") % {"drug": drug.display_name},
                                    item.position, drug.code))
            continue
        if drug.renal_contraindicated_below is not None and egfr < drug.renal_contraindicated_below:
            findings.append(Finding(
                "renal_contraindicated", BLOCK,
                _("%(drug)s is contraindicated below eGFR %(below)s; latest eGFR is %(egfr)s.") % {
                    "drug": drug.display_name, "below": _fmt(drug.renal_contraindicated_below), "egfr": _fmt(egfr)},
                item.position, drug.code,
            ))
            continue
        cap = drug.renal_cap(egfr)
        daily = daily_dose(item)
        if cap and daily > cap[0]:
            findings.append(Finding(
                "renal_dose_cap", WARN,
                _("%(drug)s %(daily)s %(unit)s/day is above the renal cap of %(cap)s %(unit)s/day for eGFR "
                  "below %(below)s (latest %(egfr)s).") % {
                    "drug": drug.display_name, "daily": _fmt(daily), "unit": drug.strength_unit, "cap": _fmt(cap[0]),
                    "below": _fmt(cap[1]), "egfr": _fmt(egfr)},
                item.position, drug.code,
            ))
    return findings


def check_duplicates(items: Sequence[PrescribedItem]) -> list[Finding]:
    """Warn on each item that repeats the therapeutic class of an earlier item."""
    findings = []
    seen: dict[str, PrescribedItem] = {}
    for item in items:
        earlier = seen.get(item.drug.therapeutic_class)
        if earlier is None:
            seen[item.drug.therapeutic_class] = item
            continue
        what = (_("the same ingredient") if earlier.drug.ingredient == item.drug.ingredient
                else _("the same class (%(class)s)") % {"class": item.drug.get_therapeutic_class_display()})
        findings.append(Finding(
            "duplicate_therapy", WARN,
            _("%(drug)s and %(other)s (item %(position)s) are %(what)s.") % {
                "drug": item.drug.display_name, "other": earlier.drug.display_name, "position": earlier.position,
                "what": what},
            item.position, item.drug.code,
        ))
    return findings


def check_dangerous_pairs(facts: PatientFacts, items: Sequence[PrescribedItem]) -> list[Finding]:
    """Warn on each pair in DANGEROUS_PAIRS, those with `egfr_below` only when the latest eGFR is below it."""
    findings = []
    for rule in DANGEROUS_PAIRS:
        if rule.egfr_below is not None and (facts.egfr is None or facts.egfr >= rule.egfr_below):
            continue
        firsts = [i for i in items if i.drug.therapeutic_class in rule.first]
        seconds = [i for i in items if i.drug.therapeutic_class in rule.second]
        for second in seconds:
            for first in firsts:
                renal = _(" (eGFR %(egfr)s)") % {"egfr": _fmt(facts.egfr)} if rule.egfr_below is not None else ""
                findings.append(Finding(
                    rule.code, WARN,
                    _("%(first)s with %(second)s: %(why)s%(renal)s.") % {
                        "first": first.drug.display_name, "second": second.drug.display_name, "why": rule.why,
                        "renal": renal},
                    second.position, second.drug.code,
                ))
                break
    return findings


def check_max_daily_dose(items: Iterable[PrescribedItem]) -> list[Finding]:
    """Block an item whose daily dose exceeds the drug's label maximum."""
    findings = []
    for item in items:
        daily = daily_dose(item)
        if daily > item.drug.max_daily_dose:
            unit = item.drug.strength_unit
            findings.append(Finding(
                "max_daily_dose", BLOCK,
                _("%(drug)s %(daily)s %(unit)s/day exceeds the maximum of %(maximum)s %(unit)s/day.") % {
                    "drug": item.drug.display_name, "daily": _fmt(daily), "unit": unit,
                    "maximum": _fmt(item.drug.max_daily_dose)}, item.position, item.drug.code,
            ))
    return findings


def findings_for(facts: PatientFacts, items: Sequence[PrescribedItem], *, long_term: bool = False) -> list[Finding]:
    """Every check over already-validated items; blocks first, then by item."""
    findings = [
        *check_allergies(facts, items),
        *check_renal(facts, items),
        *check_max_daily_dose(items),
        *online_rules.check_days_supply(facts, items, long_term=long_term),
        *check_duplicates(items),
        *check_dangerous_pairs(facts, items),
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
