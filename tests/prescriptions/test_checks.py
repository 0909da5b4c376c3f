"""Safety checks: each rule caught and not over-caught, for Zhang Lin and for plainer patients."""

from decimal import Decimal

import pytest

from cloudhospital.errors import DomainError
from consult.models import ConditionStatus
from prescriptions.checks import (
    BLOCK,
    FREQUENCIES,
    WARN,
    Finding,
    ItemInput,
    PatientFacts,
    check_interactions,
    expected_quantity,
    icd10_is_chronic,
    override_allowed,
    overrides_validate,
    patient_facts,
    prescription_check,
)
from tests.factories import AllergyFactory, ConditionFactory, LabFactory, PatientFactory

pytestmark = pytest.mark.django_db


def codes(findings) -> set[tuple[str, str, int | None]]:
    return {(f.code, f.severity, f.item) for f in findings}


@pytest.fixture
def plain_patient(db):
    """No allergies, no conditions, normal kidney function."""
    patient = PatientFactory()
    LabFactory(patient=patient, value=Decimal("92"))
    return patient


# --- The acceptance cases -----------------------------------------------------------
def test_zhang_lin_full_dose_ibuprofen_and_metformin_are_caught(zhang_lin, formulary, item):
    ibuprofen = item(formulary["IBUP-SR300"], 600, "bid", days=5, position=0)
    metformin = item(formulary["METF-T500"], 1000, "bid", days=30, position=1)
    findings = prescription_check(patient=zhang_lin, items=[ibuprofen, metformin])
    by_item = {f.item: f for f in findings if f.code == "renal_dose_cap"}
    assert set(by_item) == {0, 1}
    assert "600 mg/day" in by_item[0].message and "below 60" in by_item[0].message
    assert "1500 mg/day" in by_item[1].message and "latest 48" in by_item[1].message
    assert all(f.severity == WARN for f in by_item.values())


def test_zhang_lin_amlodipine_5mg_daily_for_30_days_passes(zhang_lin, formulary, item):
    assert prescription_check(patient=zhang_lin, items=[item(formulary["AMLO-T5"], 5, "qd", days=30)]) == []


def test_zhang_lin_hydrochlorothiazide_is_a_cross_sensitivity_warning_for_his_sulfonamide_allergy(zhang_lin, formulary, item):
    # Issue 16: a sulfonamide allergy and a non-antibiotic sulfonamide is a caution the doctor
    # may override with a reason, not a block (it was a block before).
    findings = prescription_check(patient=zhang_lin, items=[item(formulary["HCTZ-T25"], 25, "qd", days=30)])
    allergy = [f for f in findings if f.code.startswith("allergy")]
    assert len(allergy) == 1 and allergy[0].severity == WARN and allergy[0].drug_code == "HCTZ-T25"
    assert allergy[0].code == "allergy_cross_sensitivity" and allergy[0].source
    assert "Sulfonamides" in allergy[0].message and "sulfonamide" in allergy[0].message


# --- Allergy ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "substance, category, code",
    [
        ("Amlodipine", "drug", "AMLO-T5"),
        ("氨氯地平", "drug", "AMLO-T5"),
        ("苯磺酸氨氯地平片 (rash)", "drug", "AMLO-T5"),
        ("losa-t50", "drug", "LOSA-T50"),
        ("ACE inhibitors", "drug_class", "ENAL-T10"),
        ("普利类", "drug_class", "BENA-T10"),
        ("沙坦类", "drug_class", "VALS-C80"),
        ("Aspirin 阿司匹林", "drug", "ASPI-EC100"),
        ("NSAIDs", "drug_class", "IBUP-SR300"),
        ("他汀类", "drug_class", "ROSU-T10"),
    ],
)
def test_allergy_to_the_drug_or_its_class_blocks(plain_patient, formulary, item, substance, category, code):
    AllergyFactory(patient=plain_patient, substance=substance, category=category)
    drug = formulary[code]
    findings = prescription_check(patient=plain_patient, items=[item(drug, drug.usual_daily_dose, "qd")])
    assert ("allergy", BLOCK, 0) in codes(findings)


@pytest.mark.parametrize(
    "substance, category, code",
    [
        ("Aspirin 阿司匹林", "drug", "IBUP-SR300"),
        ("NSAIDs", "drug_class", "ASPI-EC100"),
        ("sulfa drugs", "other", "GLIC-MR30"),
        ("磺胺类", "drug_class", "FURO-T20"),
    ],
)
def test_cross_reacting_group_warns_instead_of_blocking(plain_patient, formulary, item, substance, category, code):
    # Issue 16: these were blocks; the evidence supports a caution with a written reason.
    AllergyFactory(patient=plain_patient, substance=substance, category=category)
    drug = formulary[code]
    findings = prescription_check(patient=plain_patient, items=[item(drug, drug.usual_daily_dose, "qd")])
    assert ("allergy_cross_sensitivity", WARN, 0) in codes(findings)
    assert "allergy" not in {f.code for f in findings}


@pytest.mark.parametrize(
    "substance, category, code",
    [
        ("Sulfonamides 磺胺类", "drug_class", "AMLO-T5"),  # 苯磺酸 (besylate) is not a sulfonamide
        ("Penicillin", "drug", "METF-T500"),
        ("ARB", "drug_class", "ENAL-T10"),
        ("Nifedipine", "drug", "AMLO-T5"),
        ("Metformin", "food", "METF-T500"),
        ("Carbamazepine", "drug", "ATOR-T20"),
    ],
)
def test_allergy_that_does_not_concern_the_drug_passes(plain_patient, formulary, item, substance, category, code):
    AllergyFactory(patient=plain_patient, substance=substance, category=category)
    drug = formulary[code]
    findings = prescription_check(patient=plain_patient, items=[item(drug, drug.usual_daily_dose, "qd")])
    assert "allergy" not in {f.code for f in findings}


# --- Renal --------------------------------------------------------------------------------
def test_renal_contraindication_blocks_metformin_below_egfr_30(plain_patient, formulary, item):
    LabFactory(patient=plain_patient, value=Decimal("25"))  # newer than the 92
    findings = prescription_check(patient=plain_patient, items=[item(formulary["METF-T500"], 500, "qd")])
    assert codes(findings) == {("renal_contraindicated", BLOCK, 0)}
    assert "below eGFR 30" in findings[0].message and "25" in findings[0].message


def test_renal_check_uses_the_latest_egfr_not_an_older_worse_one(plain_patient, formulary, item):
    from django.utils import timezone

    LabFactory(patient=plain_patient, value=Decimal("20"), measured_at=timezone.now() - timezone.timedelta(days=400))
    assert prescription_check(patient=plain_patient, items=[item(formulary["METF-T500"], 1000, "bid")]) == []


def test_renal_cap_picks_the_stricter_step_below_45(plain_patient, formulary, item):
    LabFactory(patient=plain_patient, value=Decimal("40"))
    metformin = formulary["METF-T500"]
    findings = prescription_check(patient=plain_patient, items=[item(metformin, 500, "tid")])
    assert codes(findings) == {("renal_dose_cap", WARN, 0)}
    assert "1000 mg/day" in findings[0].message
    assert prescription_check(patient=plain_patient, items=[item(metformin, 500, "bid")]) == []


def test_reduced_dose_within_the_renal_cap_passes_for_zhang_lin(zhang_lin, formulary, item):
    items = [item(formulary["METF-T500"], 500, "tid", days=30), item(formulary["IBUP-SR300"], 300, "bid", days=3, position=1)]
    assert prescription_check(patient=zhang_lin, items=items) == []


def test_spironolactone_is_blocked_below_30_and_capped_below_50(plain_patient, formulary, item):
    spironolactone = formulary["SPIR-T20"]
    LabFactory(patient=plain_patient, value=Decimal("45"))
    assert codes(prescription_check(patient=plain_patient, items=[item(spironolactone, 40, "qd")])) == {
        ("renal_dose_cap", WARN, 0)
    }
    LabFactory(patient=plain_patient, value=Decimal("28"))
    assert codes(prescription_check(patient=plain_patient, items=[item(spironolactone, 20, "qd")])) == {
        ("renal_contraindicated", BLOCK, 0)
    }


def test_drug_with_renal_rule_warns_when_no_egfr_is_on_record(db, formulary, item):
    patient = PatientFactory()
    assert codes(prescription_check(patient=patient, items=[item(formulary["METF-T500"], 500, "bid")])) == {
        ("renal_function_unknown", WARN, 0)
    }
    assert prescription_check(patient=patient, items=[item(formulary["AMLO-T5"], 5, "qd")]) == []


# --- Maximum daily dose ---------------------------------------------------------------------
def test_daily_dose_above_the_label_maximum_blocks(plain_patient, formulary, item):
    findings = prescription_check(patient=plain_patient, items=[item(formulary["AMLO-T5"], 10, "bid")])
    assert codes(findings) == {("max_daily_dose", BLOCK, 0)}
    assert "20 mg/day" in findings[0].message and "maximum of 10 mg/day" in findings[0].message


def test_daily_dose_at_the_maximum_passes_and_tablet_units_count(plain_patient, formulary, item):
    amlodipine = formulary["AMLO-T5"]
    assert prescription_check(patient=plain_patient, items=[item(amlodipine, 10, "qd")]) == []
    assert prescription_check(patient=plain_patient, items=[item(amlodipine, 2, "qd", unit="片")]) == []
    over = codes(prescription_check(patient=plain_patient, items=[item(amlodipine, 3, "qd", unit="tablet")]))
    assert ("max_daily_dose", BLOCK, 0) in over
    assert over <= {("max_daily_dose", BLOCK, 0), ("max_single_dose", BLOCK, 0)}


def test_as_needed_items_are_counted_at_four_doses_a_day(plain_patient, formulary, item):
    ibuprofen = formulary["IBUP-SR300"]
    assert prescription_check(patient=plain_patient, items=[item(ibuprofen, 300, "prn", days=3)]) == []
    assert codes(prescription_check(patient=plain_patient, items=[item(ibuprofen, 600, "prn", days=3)])) == {
        ("max_daily_dose", BLOCK, 0)
    }


# --- Duplicate therapy and dangerous pairs ----------------------------------------------------
def test_two_drugs_of_the_same_class_warn_on_the_second(plain_patient, formulary, item):
    items = [item(formulary["AMLO-T5"], 5), item(formulary["NIFE-CR30"], 30, position=1)]
    findings = prescription_check(patient=plain_patient, items=items)
    assert codes(findings) == {("duplicate_therapy", WARN, 1)}
    assert "Dihydropyridine" in findings[0].message


def test_drugs_of_different_classes_are_not_duplicates(plain_patient, formulary, item):
    items = [item(formulary["AMLO-T5"], 5), item(formulary["LOSA-T50"], 50, position=1),
             item(formulary["ATOR-T20"], 20, "qn", position=2)]
    assert prescription_check(patient=plain_patient, items=items) == []


def test_ace_inhibitor_with_arb_warns_whatever_the_kidneys(plain_patient, formulary, item):
    items = [item(formulary["ENAL-T10"], 10), item(formulary["VALS-C80"], 80, position=1)]
    assert codes(prescription_check(patient=plain_patient, items=items)) == {("ace_inhibitor_with_arb", WARN, 1)}


def test_raas_blocker_with_spironolactone_warns_and_is_major_in_renal_impairment(plain_patient, formulary, item):
    # Issue 16: now at any eGFR (moderate), major below 60 or with diabetes (was: only below 60).
    items = [item(formulary["LOSA-T50"], 50), item(formulary["SPIR-T20"], 20, position=1)]
    findings = prescription_check(patient=plain_patient, items=items)
    assert codes(findings) == {("raas_blocker_with_potassium_sparing", WARN, 1)}
    assert "Moderate" in findings[0].message
    LabFactory(patient=plain_patient, value=Decimal("55"))
    findings = prescription_check(patient=plain_patient, items=items)
    assert codes(findings) == {("raas_blocker_with_potassium_sparing", WARN, 1)}
    assert "Major" in findings[0].message and "eGFR 55" in findings[0].message


def test_raas_blocker_with_nsaid_warns_for_zhang_lin(zhang_lin, formulary, item):
    items = [item(formulary["BENA-T10"], 10, days=30), item(formulary["IBUP-SR300"], 300, "bid", days=3, position=1)]
    findings = prescription_check(patient=zhang_lin, items=items)
    assert codes(findings) == {("raas_blocker_with_nsaid", WARN, 1)}
    assert "eGFR 48" in findings[0].message


def test_dangerous_pair_with_renal_condition_is_skipped_without_an_egfr(formulary, item, db):
    items = [item(formulary["LOSA-T50"], 50), item(formulary["IBUP-SR300"], 300, "bid", days=3, position=1)]
    assert check_interactions(PatientFacts(), items) == []


# --- Chronic ICD-10 categories (days' supply and long-term rules: tests/prescriptions/test_online_rules.py) --
@pytest.mark.parametrize(
    "code, chronic",
    [("I10", True), ("I15.0", True), ("I16", False), ("E11.9", True), ("E78.5", True), ("N18.3", True),
     ("I25.1", True), ("J06.9", False), ("M54.5", False), ("e14", True), ("", False)],
)
def test_icd10_chronic_ranges(code, chronic):
    assert icd10_is_chronic(code) is chronic


# --- Input validation and quantity -----------------------------------------------------------
def test_expected_quantity_is_dose_over_strength_times_frequency_times_days(formulary):
    assert expected_quantity(drug=formulary["AMLO-T5"], dose=Decimal(5), dose_unit="mg", frequency="qd", days_supply=30) == 30
    assert expected_quantity(drug=formulary["METF-T500"], dose=Decimal(1000), dose_unit="mg", frequency="bid", days_supply=7) == 28
    assert expected_quantity(drug=formulary["PERI-T4"], dose=Decimal(2), dose_unit="mg", frequency="qd", days_supply=7) == 4
    assert expected_quantity(drug=formulary["METF-T500"], dose=Decimal("0.5"), dose_unit="g", frequency="tid", days_supply=2) == 6
    assert expected_quantity(drug=formulary["IBUP-SR300"], dose=Decimal(2), dose_unit="粒", frequency="bid", days_supply=3) == 12


@pytest.mark.parametrize(
    "changes, field, code",
    [
        ({"quantity": 29}, "items[0].quantity", "quantity_mismatch"),
        ({"quantity": 0}, "items[0].quantity", "quantity_invalid"),
        ({"dose": Decimal(0)}, "items[0].dose", "dose_invalid"),
        ({"dose": Decimal(-5)}, "items[0].dose", "dose_invalid"),
        ({"dose": "abc"}, "items[0].dose", "dose_invalid"),
        ({"frequency": "q6h"}, "items[0].frequency", "frequency_invalid"),
        ({"dose_unit": "mL"}, "items[0].dose_unit", "dose_unit_invalid"),
        ({"days_supply": 0}, "items[0].days_supply", "days_supply_invalid"),
    ],
)
def test_malformed_item_is_refused_naming_the_field(plain_patient, formulary, changes, field, code):
    values = {"position": 0, "drug": formulary["AMLO-T5"], "dose": Decimal(5), "dose_unit": "mg",
              "frequency": "qd", "days_supply": 30, "quantity": 30, **changes}
    with pytest.raises(DomainError) as error:
        prescription_check(patient=plain_patient, items=[ItemInput(**values)])
    assert error.value.field == field and error.value.code == code and error.value.kind == "invalid"


def test_inactive_drug_is_refused(plain_patient, formulary, item):
    drug = formulary["CLOP-T75"]
    drug.active = False
    drug.save()
    with pytest.raises(DomainError) as error:
        prescription_check(patient=plain_patient, items=[item(drug, 75)])
    assert error.value.field == "items[0].drug"


def test_as_needed_quantity_may_be_less_than_the_ceiling_but_not_more(plain_patient, formulary, item):
    ibuprofen = formulary["IBUP-SR300"]
    assert prescription_check(patient=plain_patient, items=[item(ibuprofen, 300, "prn", days=3, quantity=6)]) == []
    with pytest.raises(DomainError) as error:
        prescription_check(patient=plain_patient, items=[item(ibuprofen, 300, "prn", days=3, quantity=13)])
    assert error.value.code == "quantity_mismatch"


def test_empty_item_list_is_refused(plain_patient):
    with pytest.raises(DomainError) as error:
        prescription_check(patient=plain_patient, items=[])
    assert error.value.field == "items"


def test_frequency_table_has_the_six_codes():
    assert {code: f.times_per_day for code, f in FREQUENCIES.items()} == {
        "qd": 1, "bid": 2, "tid": 3, "qid": 4, "qn": 1, "prn": 4,
    }


def test_patient_facts_reads_allergies_latest_egfr_and_chronic_conditions(zhang_lin, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):  # + body weight (issue 16)
        facts = patient_facts(zhang_lin)
    assert facts.egfr == Decimal("48")
    assert [a.substance for a in facts.allergies] == ["Sulfonamides 磺胺类"]
    assert len(facts.chronic_conditions) == 2


# --- Overrides -------------------------------------------------------------------------------
WARNING = Finding("renal_dose_cap", WARN, "above cap", 1, "METF-T500")
PAIR = Finding("ace_inhibitor_with_arb", WARN, "pair", 2, "VALS-C80")
BLOCKING = Finding("allergy", BLOCK, "allergic", 0, "HCTZ-T25")


def test_warnings_are_overridden_with_a_written_reason_each():
    reasons = overrides_validate(findings=[WARNING, PAIR], reasons={
        "renal_dose_cap:1": "  Stable on this dose for 3 years, eGFR stable ", "ace_inhibitor_with_arb:2": "转换期，一周内停用依那普利",
        "duplicate_therapy:5": "stale reason for a finding that no longer arises",
    })
    assert reasons == {"renal_dose_cap:1": "Stable on this dose for 3 years, eGFR stable",
                       "ace_inhibitor_with_arb:2": "转换期，一周内停用依那普利"}
    assert override_allowed([WARNING, PAIR]) is True


def test_warning_without_a_reason_cannot_be_overridden():
    with pytest.raises(DomainError) as error:
        overrides_validate(findings=[WARNING, PAIR], reasons={"renal_dose_cap:1": "ok", "ace_inhibitor_with_arb:2": "   "})
    assert error.value.code == "override_reason_required" and "ace_inhibitor_with_arb:2" in error.value.message
    assert error.value.field == "override_reasons" and error.value.kind == "unprocessable"


def test_block_can_never_be_overridden_even_with_a_reason():
    assert override_allowed([WARNING, BLOCKING]) is False
    with pytest.raises(DomainError) as error:
        overrides_validate(findings=[WARNING, BLOCKING], reasons={"renal_dose_cap:1": "ok", "allergy:0": "I accept"})
    assert error.value.code == "safety_block" and error.value.kind == "unprocessable"


def test_no_findings_need_no_reasons():
    assert overrides_validate(findings=[], reasons={}) == {}
    assert override_allowed([]) is True


def test_finding_key_and_dict_shape():
    assert WARNING.as_dict() == {"code": "renal_dose_cap", "severity": "warn", "message": "above cap", "item": 1,
                                 "drug_code": "METF-T500", "source": "", "key": "renal_dose_cap:1"}
    assert Finding("long_term_without_chronic_condition", BLOCK, "x").key == "long_term_without_chronic_condition"
