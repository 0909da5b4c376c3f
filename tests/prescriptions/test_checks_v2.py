"""Checks engine v2 (issue 16): one test per rule, the dangerous case caught with its code and
a safe neighbour left alone; a property test that an unrelated safe drug never turns a safe
prescription into a block; and the database edges (coded current medications, weight and
creatinine into CrCl, the knowledge version at signing).

Most tests are pure: the real formulary file as unsaved Drugs and PatientFacts built by hand
(tests/prescriptions/checks_support.py), so they need no database.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudhospital.errors import DomainError
from consult import medications as consult_medications
from consult import records
from prescriptions import checks, interactions, renal
from prescriptions.checks import BLOCK, WARN, findings_for
from tests.factories import DrugFactory, LabFactory, MedicationFactory, PatientFactory
from tests.prescriptions.checks_support import codes, drug, facts, formulary, line


def run(patient, *items):
    return codes(findings_for(patient, list(items)))


def has(found, code, severity=None, item=None):
    return any(c == code and (severity is None or s == severity) and (item is None or i == item) for c, s, i in found)


# --- Interactions ---------------------------------------------------------------------------
def test_triple_whammy_at_egfr_75_with_current_arb_and_diuretic():
    found = run(facts(egfr=75, current=["LOSA-T50", "HCTZ-T25"]), line("IBUP-SR300", 300, "bid", 5))
    assert ("triple_whammy", WARN, 0) in found
    assert not has(run(facts(egfr=75, current=["LOSA-T50", "HCTZ-T25"]), line("PARA-T500", 500, "tid", 5)),
                   "triple_whammy")


def test_triple_whammy_counts_a_fixed_dose_combination_as_both_its_components():
    found = run(facts(egfr=80), line("LOHC-T50", 50), line("IBUP-SR300", 300, "bid", 5, position=1))
    assert ("triple_whammy", WARN, 1) in found
    assert not has(run(facts(egfr=80), line("LOHC-T50", 50)), "triple_whammy")  # one drug alone is no interaction


def test_potassium_sparing_with_raas_blocker_is_major_in_diabetes():
    diabetic = findings_for(facts(egfr=75, conditions=["E11.9"], current=["LOSA-T50"]), [line("SPIR-T20", 20)])
    [finding] = [f for f in diabetic if f.code == "raas_blocker_with_potassium_sparing"]
    assert finding.severity == WARN and finding.message.startswith("Major") and "(diabetes)" in finding.message
    plain = findings_for(facts(egfr=75, current=["LOSA-T50"]), [line("SPIR-T20", 20)])
    [mild] = [f for f in plain if f.code == "raas_blocker_with_potassium_sparing"]
    assert mild.message.startswith("Moderate") and "(diabetes)" not in mild.message


def test_potassium_supplement_with_ace_inhibitor_warns_and_not_with_a_ccb():
    assert has(run(facts(egfr=55, current=["ENAL-T10"]), line("KCL-SR500", 500, "tid")),
               "raas_blocker_with_potassium_supplement", WARN)
    assert not has(run(facts(egfr=55, current=["AMLO-T5"]), line("KCL-SR500", 500, "tid")),
                   "raas_blocker_with_potassium_supplement")


def test_ace_inhibitor_with_sacubitril_valsartan_blocks():
    assert ("ace_inhibitor_with_arni", BLOCK, 0) in run(facts(egfr=70, current=["ENAL-T10"]), line("SAVA-T100", 100, "bid"))
    assert not has(run(facts(egfr=70, current=["AMLO-T5"]), line("SAVA-T100", 100, "bid")), "ace_inhibitor_with_arni")


def test_ace_inhibitor_with_arb_warns():
    assert ("ace_inhibitor_with_arb", WARN, 1) in run(facts(egfr=90), line("ENAL-T10", 10), line("VALS-C80", 80, position=1))


@pytest.mark.parametrize("code, other, rule", [
    ("IBUP-SR300", "ASPI-EC100", "nsaid_with_antiplatelet"),
    ("IBUP-SR300", "WARF-T2.5", "nsaid_with_anticoagulant"),
    ("CLOP-T75", "WARF-T2.5", "anticoagulant_with_antiplatelet"),
    ("SERT-T50", "RIVA-T20", "ssri_with_anticoagulant"),
    ("BISO-T5", "VERA-SR240", "non_dhp_ccb_with_beta_blocker"),
    ("AMIO-T200", "DIGO-T0.25", "digoxin_with_amiodarone"),
    ("VERA-SR240", "DIGO-T0.25", "digoxin_with_verapamil"),
    ("CLAR-T250", "DIGO-T0.25", "digoxin_with_clarithromycin"),
    ("LEVO-T500", "QUET-T25", "qt_prolonging_pair"),
    ("FLUC-C150", "ESCI-T10", "qt_prolonging_pair"),
    ("DILT-T30", "SIMV-T20", "moderate_cyp3a4_inhibitor_with_simvastatin"),
    ("CLAR-T250", "AMLO-T5", "cyp3a4_inhibitor_with_dihydropyridine"),
    ("CLAR-T250", "COLC-T0.5", "cyp3a4_inhibitor_with_colchicine"),
    ("OMEP-C20", "CLOP-T75", "clopidogrel_with_omeprazole"),
    ("ESOM-T20", "CLOP-T75", "clopidogrel_with_omeprazole"),
    ("DIAZ-T2.5", "OXYC-SR10", "sedative_with_opioid"),
    ("ZOLP-T10", "TRAM-SR100", "sedative_with_opioid"),
    ("GABA-C300", "MORP-T10", "gabapentinoid_with_opioid"),
])
def test_warned_pair_against_a_current_medication(code, other, rule):
    d = drug(code)
    found = run(facts(egfr=90, current=[other]), line(code, d.usual_daily_dose, "qd"))
    assert (rule, WARN, 0) in found


@pytest.mark.parametrize("code, other, rule", [
    ("SILD-T50", "ISMN-SR60", "nitrate_with_pde5_inhibitor"),
    ("TADA-T5", "NTG-SL0.5", "nitrate_with_pde5_inhibitor"),
    ("CLAR-T250", "SIMV-T20", "strong_cyp3a4_inhibitor_with_simvastatin"),
    ("CLAR-T250", "TICA-T90", "strong_cyp3a4_inhibitor_with_ticagrelor"),
    ("ENAL-T10", "SAVA-T100", "ace_inhibitor_with_arni"),
])
def test_contraindicated_pair_blocks(code, other, rule):
    d = drug(code)
    assert (rule, BLOCK, 0) in run(facts(egfr=90, current=[other]), line(code, d.usual_daily_dose))


@pytest.mark.parametrize("code, other", [
    ("PANT-T40", "CLOP-T75"),      # pantoprazole is the PPI to use with clopidogrel
    ("AZIT-T250", "SIMV-T20"),     # azithromycin does not inhibit CYP3A4
    ("PARA-T500", "WARF-T2.5"),    # paracetamol for pain on warfarin
    ("AMLO-T5", "BISO-T5"),        # a dihydropyridine with a beta blocker is a standard pair
    ("ROSU-T10", "CLAR-T250"),     # rosuvastatin is not a CYP3A4 substrate
    ("LORA-T10", "DIAZ-T2.5"),     # second-generation antihistamine
])
def test_safe_neighbours_are_not_interactions(code, other):
    d = drug(code)
    found = run(facts(egfr=90, current=[other]), line(code, d.usual_daily_dose))
    assert not {c for c, s, i in found if c in {r.id for r in interactions.table().rules}}


def test_digoxin_in_ckd_is_a_drug_disease_caution_only_below_60():
    assert has(run(facts(age=60, egfr=45), line("DIGO-T0.25", 125)), "digoxin_in_ckd", WARN)
    assert not has(run(facts(age=60, egfr=75), line("DIGO-T0.25", 125)), "digoxin_in_ckd")


def test_colchicine_with_clarithromycin_is_contraindicated_in_renal_impairment():
    assert ("cyp3a4_inhibitor_with_colchicine", BLOCK, 0) in run(facts(egfr=50, current=["COLC-T0.5"]),
                                                                  line("CLAR-T250", 250, "bid"))


def test_interactions_among_current_medications_only_are_not_flagged():
    found = run(facts(egfr=90, current=["ISMN-SR60", "SILD-T50"]), line("AMLO-T5", 5))
    assert not has(found, "nitrate_with_pde5_inhibitor")


def test_every_rule_has_both_languages_a_source_and_a_known_class():
    from prescriptions.models import TherapeuticClass

    for rule in interactions.table().rules:
        assert rule.mechanism["en"] and rule.mechanism["zh"] and rule.advice["en"] and rule.advice["zh"], rule.id
        assert rule.source, rule.id
        for group in rule.groups:
            assert group.classes <= set(TherapeuticClass.values), rule.id


def test_interaction_table_ingredients_name_formulary_drugs_where_the_formulary_has_them():
    known = set().union(*(interactions.ingredients_of(d) for d in formulary().values()))
    named = set().union(*(g.ingredients for r in interactions.table().rules for g in r.groups))
    for must in ("digoxin", "amiodarone", "clarithromycin", "simvastatin", "clopidogrel", "omeprazole", "warfarin",
                 "verapamil", "diltiazem", "colchicine", "ticagrelor", "levofloxacin", "fluconazole", "quetiapine"):
        assert must in named and must in known, must


# --- Duplicates -----------------------------------------------------------------------------
def test_new_nifedipine_for_a_patient_on_amlodipine_is_a_duplicate():
    assert ("duplicate_therapy", WARN, 0) in run(facts(current=["AMLO-T5"]), line("NIFE-CR30", 30))
    assert not has(run(facts(current=["LOSA-T50"]), line("NIFE-CR30", 30)), "duplicate_therapy")


def test_renewing_a_current_medication_is_not_a_duplicate():
    assert not has(run(facts(current=["AMLO-T5"]), line("AMLO-T5", 5, days=7)), "duplicate_therapy")


def test_dapt_is_not_a_duplicate_but_two_p2y12_inhibitors_are():
    assert not has(run(facts(egfr=90), line("ASPI-EC100", 100), line("CLOP-T75", 75, position=1)), "duplicate_therapy")
    assert has(run(facts(egfr=90), line("CLOP-T75", 75), line("TICA-T90", 90, "bid", position=1)), "duplicate_therapy")


def test_fixed_dose_combination_with_its_own_component_is_a_duplicate():
    found = findings_for(facts(), [line("AMVA-T5", 5), line("VALS-C80", 80, position=1)])
    [dup] = [f for f in found if f.code == "duplicate_therapy"]
    assert dup.item == 1 and ("ingredient" in dup.message or "成分" in dup.message)


# --- Patient factors: age (Beers 2023) ------------------------------------------------------
@pytest.mark.parametrize("code, dose, frequency, entry", [
    ("GLIB-T2.5", 2.5, "qd", "sulfonylurea_long_acting"),
    ("GLIM-T2", 2, "qd", "sulfonylurea_long_acting"),
    ("GLIC-MR30", 30, "qd", "sulfonylurea"),
    ("DIAZ-T2.5", 2.5, "qd", "benzodiazepine"),
    ("ESTA-T1", 1, "qn", "benzodiazepine"),
    ("ZOLP-T10", 5, "qn", "z_hypnotic"),
    ("CHLP-T4", 4, "tid", "first_generation_antihistamine"),
    ("AMIT-T25", 25, "qn", "tricyclic"),
    ("DOXA-CR4", 4, "qd", "alpha_blocker_for_hypertension"),
    ("METC-T5", 5, "tid", "metoclopramide"),
    ("OXYB-T5", 5, "bid", "bladder_antimuscarinic"),
])
def test_beers_caution_from_65_and_not_at_64(code, dose, frequency, entry):
    item = line(code, dose, frequency)
    assert (f"beers_{entry}", WARN, 0) in run(facts(age=78, egfr=80), item)
    assert not has(run(facts(age=64, egfr=80), item), f"beers_{entry}")


def test_beers_nsaid_long_term_counts_the_time_already_taken():
    assert not has(run(facts(age=75, egfr=80), line("CELE-C200", 200, days=7)), "beers_nsaid_long_term")
    assert has(run(facts(age=75, egfr=80, current=[("CELE-C200", 30)]), line("CELE-C200", 200, days=7)),
               "beers_nsaid_long_term", WARN)


def test_beers_ppi_beyond_8_weeks():
    assert has(run(facts(age=70, current=[("OMEP-C20", 60)]), line("OMEP-C20", 20, days=14)), "beers_ppi_over_8_weeks")
    assert not has(run(facts(age=70), line("OMEP-C20", 20, days=14)), "beers_ppi_over_8_weeks")


def test_beers_antipsychotic_only_in_dementia():
    assert has(run(facts(age=82, conditions=["F03"]), line("QUET-T25", 25)), "beers_antipsychotic_in_dementia")
    assert not has(run(facts(age=82), line("QUET-T25", 25)), "beers_antipsychotic_in_dementia")


def test_beers_digoxin_above_0125_mg_whatever_the_strength_unit():
    assert has(run(facts(age=80, egfr=70), line("DIGO-T0.25", 250)), "beers_digoxin_over_0125")
    assert not has(run(facts(age=80, egfr=70), line("DIGO-T0.25", "0.125", unit="mg")), "beers_digoxin_over_0125")


def test_beers_nitrofurantoin_by_creatinine_clearance():
    # 88 years, 45 kg, creatinine 110 umol/L: CrCl about 25 although the eGFR reads 50.
    frail = facts(age=88, sex="female", egfr=50, weight=45, creatinine=110)
    assert frail.crcl < 30
    assert has(run(frail, line("NITF-T50", 50, "qid", 5)), "beers_nitrofurantoin_crcl_30")
    assert not has(run(facts(age=70, egfr=80, weight=70, creatinine=80), line("NITF-T50", 50, "qid", 5)),
                   "beers_nitrofurantoin_crcl_30")


# --- Patient factors: kidney function -------------------------------------------------------
def test_cockcroft_gault_matches_the_formula():
    # (140 - 80) x 60 / (72 x 100/88.4) = 44.2 mL/min; x 0.85 for a woman = 37.6
    assert renal.cockcroft_gault(age=80, female=False, weight_kg=Decimal(60), creatinine_umol_l=Decimal(100)) == Decimal("44.2")
    assert renal.cockcroft_gault(age=80, female=True, weight_kg=Decimal(60), creatinine_umol_l=Decimal(100)) == Decimal("37.6")


def test_crcl_is_used_where_the_label_doses_by_it():
    # Ramipril (CrCl label): eGFR 60 reads fine, CrCl 30 is under its 40 mL/min cap.
    frail = facts(age=86, sex="female", egfr=60, weight=48, creatinine=95)
    found = findings_for(frail, [line("RAMI-T5", 10)])
    [cap] = [f for f in found if f.code == "renal_dose_cap"]
    assert "CrCl" in cap.message
    assert not has(run(facts(age=86, egfr=60), line("RAMI-T5", 10)), "renal_dose_cap")  # no weight: eGFR


def test_stale_egfr_warns_and_doses_one_band_lower():
    stale = facts(egfr=48, egfr_days_ago=200)
    found = run(stale, line("METF-T500", 750, "bid"))
    assert ("renal_function_out_of_date", WARN, None) in found and ("renal_dose_cap", WARN, 0) in found
    fresh = run(facts(egfr=48, egfr_days_ago=60), line("METF-T500", 750, "bid"))
    assert not has(fresh, "renal_function_out_of_date") and not has(fresh, "renal_dose_cap")


@override_settings(CHECKS_EGFR_VALID_DAYS={60: 365, 30: 90, 0: 30})
def test_the_egfr_window_is_a_setting():
    assert has(run(facts(egfr=48, egfr_days_ago=100), line("METF-T500", 500, "bid")), "renal_function_out_of_date")


def test_stale_egfr_near_a_contraindication_warns_rather_than_blocks():
    found = run(facts(egfr=32, egfr_days_ago=400), line("METF-T500", 500))
    assert ("renal_contraindicated_unconfirmed", WARN, 0) in found and not has(found, "renal_contraindicated")
    assert ("renal_contraindicated", BLOCK, 0) in run(facts(egfr=28), line("METF-T500", 500))


def test_egfr_bands_step_down_once():
    assert renal.next_lower_band(Decimal(48)) == Decimal("44.9")
    assert renal.next_lower_band(Decimal(75)) == Decimal("59.9")
    assert renal.next_lower_band(Decimal(10)) == Decimal(10)


# --- Doses ----------------------------------------------------------------------------------
def test_amlodipine_5_micrograms_is_a_unit_slip():
    assert ("dose_implausibly_low", BLOCK, 0) in run(facts(), line("AMLO-T5", 5, unit="µg"))
    assert ("dose_implausibly_low", BLOCK, 0) in run(facts(), line("AMLO-T5", 5, unit="μg"))  # Greek mu too
    assert not has(run(facts(), line("AMLO-T5", "2.5")), "dose_implausibly_low")


def test_below_the_minimum_dose_warns():
    assert ("dose_below_minimum", WARN, 0) in run(facts(), line("AMLO-T5", 1))
    assert not has(run(facts(), line("AMLO-T5", "2.5")), "dose_below_minimum")


def test_single_dose_maximum_blocks():
    assert ("max_single_dose", BLOCK, 0) in run(facts(), line("LOSA-T50", 150))
    assert not has(run(facts(), line("LOSA-T50", 50, "bid")), "max_single_dose")


def test_elderly_maximum_from_65():
    assert ("elderly_max_daily_dose", WARN, 0) in run(facts(age=70), line("ZOLP-T10", 10, "qn"))
    assert not has(run(facts(age=60), line("ZOLP-T10", 10, "qn")), "elderly_max_daily_dose")


def test_nsaid_course_in_ckd_is_limited_by_the_setting():
    assert ("nsaid_duration_ckd", WARN, 0) in run(facts(egfr=50), line("CELE-C200", 200, days=10))
    assert not has(run(facts(egfr=50), line("CELE-C200", 200, days=5)), "nsaid_duration_ckd")
    assert not has(run(facts(egfr=80), line("CELE-C200", 200, days=10)), "nsaid_duration_ckd")
    with override_settings(CHECKS_NSAID_CKD_MAX_DAYS=3):
        assert has(run(facts(egfr=50), line("CELE-C200", 200, days=5)), "nsaid_duration_ckd")


# --- Severity -------------------------------------------------------------------------------
def test_same_ingredient_allergy_blocks_and_sulfonamide_cross_sensitivity_warns():
    assert ("allergy", BLOCK, 0) in run(facts(allergies=["呋塞米"]), line("FURO-T20", 20))
    found = findings_for(facts(allergies=[("磺胺类", "drug_class")]), [line("FURO-T20", 20)])
    [cross] = [f for f in found if f.code.startswith("allergy")]
    assert cross.code == "allergy_cross_sensitivity" and cross.severity == WARN and "Strom" in cross.source


def test_every_finding_carries_its_source():
    patient = facts(age=80, egfr=40, egfr_days_ago=400, allergies=["Sulfonamides"], current=["LOSA-T50", "HCTZ-T25"])
    found = findings_for(patient, [line("IBUP-SR300", 300, "bid", 10), line("GLIB-T2.5", 2.5, position=1)])
    assert len(found) >= 5
    assert all(f.source for f in found), [f.code for f in found if not f.source]


# --- Property: an unrelated safe drug never turns a safe prescription into a block ----------
SAFE_BASES = [
    [("AMLO-T5", 5)], [("LOSA-T50", 50)], [("METF-T500", 500)], [("ATOR-T20", 20)],
    [("AMLO-T5", 5), ("LOSA-T50", 50)], [("BISO-T5", 5), ("ATOR-T20", 20)],
]
NON_BLOCKING = sorted(code for code, d in formulary().items()
                      if d.active and not d.renal_contraindicated_below and d.min_daily_dose is not None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(SAFE_BASES), extra=st.sampled_from(NON_BLOCKING), age=st.integers(40, 95),
       egfr=st.integers(60, 110))
def test_adding_an_unrelated_safe_drug_never_makes_a_block(base, extra, age, egfr):
    patient = facts(age=age, egfr=egfr)
    items = [line(code, dose, position=i) for i, (code, dose) in enumerate(base)]
    assert not any(f.severity == BLOCK for f in findings_for(patient, items))
    added = drug(extra)
    related = interactions.table().candidates(
        [interactions.Participant.of(added, position=9), *(interactions.Participant.of(i.drug, position=i.position) for i in items)])
    clashes = {r.id for r in related if r.severity == "contraindicated" or r.raise_to == "contraindicated"}
    frequency = next(f for f, times in (("qd", 1), ("bid", 2), ("tid", 3), ("qid", 4))
                     if added.max_single_dose is None or added.usual_daily_dose / times <= added.max_single_dose)
    new = line(extra, added.usual_daily_dose / {"qd": 1, "bid": 2, "tid": 3, "qid": 4}[frequency], frequency,
               position=len(items))
    blocks = [f for f in findings_for(patient, [*items, new]) if f.severity == BLOCK]
    # A block may come only from the added drug's own dose rules or a contraindicated pair the table names.
    assert all(f.item == new.position and (f.code in clashes or f.code.startswith(("max_", "dose_")))
               for f in blocks), [(f.code, f.item) for f in blocks]
    assert not any(f.code.startswith(("max_", "dose_")) for f in blocks)  # the usual dose is within the label


# --- The database edges ---------------------------------------------------------------------
@pytest.mark.django_db
def test_patient_facts_resolve_coded_and_free_text_medications_and_compute_crcl():
    amlodipine = DrugFactory(code="AMLO-X5", generic_name="Amlodipine", generic_name_zh="苯磺酸氨氯地平片",
                             ingredient="amlodipine", ingredient_zh="氨氯地平")
    warfarin = DrugFactory(code="WARF-X3", generic_name="Warfarin", generic_name_zh="华法林钠片", ingredient="warfarin",
                           ingredient_zh="华法林", therapeutic_class="anticoagulant", strength=3, usual_daily_dose=3,
                           max_daily_dose=10)
    from datetime import date

    patient = PatientFactory(birth_date=date(1940, 1, 1), sex="female")
    MedicationFactory(patient=patient, name="华法林", drug_code=warfarin.code)
    MedicationFactory(patient=patient, name="络活喜 氨氯地平 5mg")  # free text, matched by ingredient
    MedicationFactory(patient=patient, name="某中成药")  # not in the formulary: stays uncoded
    now = timezone.now()
    LabFactory(patient=patient, value=Decimal("55"))
    records.observation_add(by=patient.account, patient=patient, kind="body_weight",
                            measured_at=now - timedelta(days=3), value=Decimal("50"))
    records.observation_add(by=patient.account, patient=patient, kind="creatinine",
                            measured_at=now - timedelta(days=3), value=Decimal("100"))
    result = checks.patient_facts(patient)
    by_name = {m.name: m.drug for m in result.current_medications}
    assert by_name["华法林"] == warfarin and by_name["络活喜 氨氯地平 5mg"] == amlodipine and by_name["某中成药"] is None
    assert result.weight_kg == Decimal("50") and result.crcl is not None and result.crcl < 40
    assert result.egfr == Decimal("55")


@pytest.mark.django_db
def test_medication_add_takes_a_formulary_code_and_refuses_an_unknown_one():
    DrugFactory(code="LOSA-X50", generic_name="Losartan", generic_name_zh="氯沙坦钾片", ingredient="losartan")
    patient = PatientFactory()
    medication = records.medication_add(by=patient.account, patient=patient, drug_code="LOSA-X50", dose="50 mg")
    assert medication.drug_code == "LOSA-X50" and medication.name == consult_medications.formulary_entry("LOSA-X50").label
    assert medication.name in ("Losartan 5mg", "氯沙坦钾片 5mg")
    assert [e.code for e in consult_medications.formulary_search("losartan")] == ["LOSA-X50"]
    with pytest.raises(DomainError) as error:
        records.medication_add(by=patient.account, patient=patient, drug_code="NOPE-1")
    assert error.value.field == "drug_code" and error.value.kind == "invalid"
    free = records.medication_add(by=patient.account, patient=patient, name="某中成药")
    assert free.drug_code == ""


@pytest.mark.django_db
def test_medications_api_accepts_a_drug_code_and_names_the_field_of_a_bad_one(client):
    DrugFactory(code="LOSA-X50", generic_name="Losartan", generic_name_zh="氯沙坦钾片", ingredient="losartan")
    patient = PatientFactory()
    client.force_login(patient.account)
    url = f"/api/patients/{patient.pk}/medications/"
    ok = client.post(url, {"drug_code": "LOSA-X50", "dose": "50 mg"}, content_type="application/json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["drug_code"] == "LOSA-X50"
    bad = client.post(url, {"drug_code": "NOPE-1"}, content_type="application/json")
    assert bad.status_code == 400 and "drug_code" in bad.content.decode()
    other = PatientFactory()
    assert client.post(f"/api/patients/{other.pk}/medications/", {"name": "x"},
                       content_type="application/json").status_code == 404


def test_knowledge_version_names_the_formulary_and_the_tables():
    from prescriptions.knowledge import formulary_version

    version = checks.knowledge_version()
    assert version.startswith(formulary_version()) and "+ix" in version and len(version) <= 40


def test_signing_records_the_knowledge_version(write):
    prescription = write(sign=True)
    assert prescription.formulary_version == checks.knowledge_version()
