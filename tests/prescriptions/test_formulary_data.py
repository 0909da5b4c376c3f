"""The formulary as versioned data: prescriptions/knowledge/formulary.yaml, its validation,
its loading (command, migration, demo seed) and the search that finds its drugs."""

import copy
import importlib
from decimal import Decimal

import pytest
import yaml
from django.apps import apps as django_apps
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from cloudhospital.errors import DomainError
from prescriptions import formulary as formulary_module
from prescriptions.formulary import (
    FORMULARY_FILE,
    FormularyInvalid,
    drugs_matching,
    formulary_load,
    formulary_read,
    formulary_validate,
)
from prescriptions.knowledge import formulary_version
from prescriptions.models import Drug, LegalClass, RenalMeasure, TherapeuticClass

# The 23 entries the formulary held before it became a data file, with their label doses
# (usual, max, renal contraindicated/cap below, cap, reduce below, reduced): tests, the demo and
# signed prescriptions use these codes.
ORIGINAL = {
    "AMLO-T5": ("5", "10", None, None, None, None, None),
    "NIFE-CR30": ("30", "120", None, None, None, None, None),
    "LOSA-T50": ("50", "100", None, None, None, None, None),
    "VALS-C80": ("80", "160", None, None, None, None, None),
    "IRBE-T150": ("150", "300", None, None, None, None, None),
    "TELM-T40": ("40", "80", None, None, None, None, None),
    "ENAL-T10": ("10", "40", None, None, None, None, None),
    "BENA-T10": ("10", "40", None, None, None, None, None),
    "PERI-T4": ("4", "8", None, "30", "1", "60", "2"),
    "HCTZ-T25": ("25", "100", "30", None, None, None, None),
    "INDA-T2.5": ("2.5", "5", "30", None, None, None, None),
    "INDA-SR1.5": ("1.5", "1.5", "30", None, None, None, None),
    "FURO-T20": ("40", "600", None, None, None, None, None),
    "SPIR-T20": ("40", "400", "30", "50", "25", None, None),
    "METO-SR47.5": ("47.5", "190", None, None, None, None, None),
    "BISO-T5": ("5", "10", None, None, None, None, None),
    "METF-T500": ("1500", "2550", "30", "45", "1000", "60", "1500"),
    "GLIC-MR30": ("60", "120", "30", None, None, None, None),
    "ATOR-T20": ("20", "80", None, None, None, None, None),
    "ROSU-T10": ("10", "20", "30", None, None, None, None),
    "ASPI-EC100": ("100", "300", "15", None, None, None, None),
    "CLOP-T75": ("75", "75", None, None, None, None, None),
    "IBUP-SR300": ("600", "1200", "30", "60", "600", None, None),
}
DOSE_FIELDS = ("usual_daily_dose", "max_daily_dose", "renal_contraindicated_below", "renal_cap_below",
               "renal_max_daily_dose", "renal_reduce_below", "renal_reduced_max_daily_dose")


def raw_file() -> dict:
    with open(FORMULARY_FILE, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def with_entry(code: str, **changes) -> dict:
    """The file's data with one entry changed (a value of None removes the key)."""
    data = copy.deepcopy(raw_file())
    entry = next(e for e in data["drugs"] if e["code"] == code)
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return data


# --- The data ---------------------------------------------------------------------------------
def test_the_file_holds_at_least_150_active_drugs_with_a_version():
    formulary = formulary_read()
    active = [e for e in formulary.entries if e["active"]]
    assert len(active) >= 150
    assert formulary.version == raw_file()["version"] == formulary_version()


def test_every_class_unit_and_legal_class_in_use_is_a_known_value():
    for entry in formulary_read().entries:
        assert entry["therapeutic_class"] in TherapeuticClass.values, entry["code"]
        assert set(entry["extra_classes"]) <= set(TherapeuticClass.values), entry["code"]
        assert entry["legal_class"] in LegalClass.values, entry["code"]
        assert entry["renal_measure"] in RenalMeasure.values, entry["code"]
        assert entry["strength_unit"] in formulary_module.STRENGTH_UNITS, entry["code"]


def test_the_original_codes_keep_their_doses():
    entries = {e["code"]: e for e in formulary_read().entries}
    for code, expected in ORIGINAL.items():
        actual = tuple(None if entries[code][f] is None else f"{entries[code][f]:f}" for f in DOSE_FIELDS)
        assert tuple(None if v is None else f"{Decimal(v):f}" for v in expected) == actual, code
        assert entries[code]["renal_measure"] == RenalMeasure.EGFR, code


def test_every_entry_names_its_source_and_its_pinyin():
    for entry in formulary_read().entries:
        assert len(entry["source_note"]) > 20, entry["code"]
        assert entry["pinyin_initials"].isascii() and entry["pinyin_initials"], entry["code"]


def test_the_issue_drugs_are_there_with_their_classes():
    by_ingredient = {}
    for entry in formulary_read().entries:
        by_ingredient.setdefault(entry["ingredient"], entry)
    expected = {
        "diltiazem": "non_dihydropyridine_ccb", "verapamil": "non_dihydropyridine_ccb", "captopril": "ace_inhibitor",
        "ramipril": "ace_inhibitor", "candesartan": "arb", "olmesartan": "arb", "sacubitril/valsartan": "arni",
        "atenolol": "beta_blocker", "carvedilol": "beta_blocker", "labetalol": "beta_blocker",
        "levamlodipine": "dihydropyridine_ccb", "felodipine": "dihydropyridine_ccb", "nitrendipine": "dihydropyridine_ccb",
        "chlortalidone": "thiazide_diuretic", "torasemide": "loop_diuretic", "doxazosin": "alpha_blocker",
        "potassium chloride": "potassium_supplement", "warfarin": "anticoagulant", "omeprazole": "ppi",
        "digoxin": "cardiac_glycoside", "isosorbide mononitrate": "nitrate", "sildenafil": "pde5_inhibitor",
        "allopurinol": "xanthine_oxidase_inhibitor", "gabapentin": "gabapentinoid",
        "chlorphenamine": "antihistamine_first_gen", "diazepam": "benzodiazepine", "zolpidem": "z_hypnotic",
        "tramadol": "opioid", "amoxicillin": "penicillin", "insulin glargine": "insulin",
    }
    for ingredient, tclass in expected.items():
        assert by_ingredient[ingredient]["therapeutic_class"] == tclass, ingredient


def test_legal_class_antimicrobial_and_storage_flags_follow_the_chinese_lists():
    entries = {e["ingredient"]: e for e in formulary_read().entries}
    assert entries["morphine"]["legal_class"] == entries["codeine"]["legal_class"] == LegalClass.NARCOTIC
    assert entries["oxycodone"]["legal_class"] == LegalClass.NARCOTIC
    for ingredient in ("tramadol", "diazepam", "estazolam", "alprazolam", "zolpidem"):
        assert entries[ingredient]["legal_class"] == LegalClass.PSYCHOTROPIC_2, ingredient
    assert entries["ephedrine"]["legal_class"] == LegalClass.PRECURSOR
    for ingredient in ("amoxicillin", "cefuroxime", "levofloxacin", "azithromycin", "fluconazole"):
        assert entries[ingredient]["antimicrobial"] and not entries[ingredient]["chronic_use"], ingredient
    assert not entries["amlodipine"]["antimicrobial"]
    assert entries["insulin glargine"]["special_storage"] and entries["insulin glargine"]["strength_unit"] == "IU"
    assert not entries["metformin"]["special_storage"] and entries["metformin"]["chronic_use"]


def test_combinations_carry_their_other_components_classes():
    entries = {e["code"]: e for e in formulary_read().entries}
    assert entries["AMVA-T5"]["therapeutic_class"] == "dihydropyridine_ccb" and entries["AMVA-T5"]["extra_classes"] == ["arb"]
    assert entries["LOHC-T50"]["extra_classes"] == ["thiazide_diuretic"]
    assert "sulfonamide" in entries["LOHC-T50"]["allergy_groups"]


# --- Validation -------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, field", [
    ({"colour": "white"}, "colour"),
    ({"therapeutic_class": "calcium_blocker"}, "therapeutic_class"),
    ({"extra_classes": ["statins"]}, "extra_classes"),
    ({"legal_class": "narcotics"}, "legal_class"),
    ({"strength_unit": "mgs"}, "strength_unit"),
    ({"max_daily_dose": 2}, "max_daily_dose"),
    ({"min_daily_dose": 50}, "min_daily_dose"),
    ({"max_single_dose": 20}, "max_single_dose"),
    ({"usual_daily_dose": "five"}, "usual_daily_dose"),
    ({"strength": 0}, "strength"),
    ({"source": None}, "source"),
    ({"chronic_use": "yes"}, "chronic_use"),
    ({"allergy_groups": ["latex"]}, "allergy_groups"),
    ({"renal": {"measure": "egfr", "cap_below": 30}}, "renal.cap"),
    ({"renal": {"measure": "egfr", "reduced": 5}}, "renal.reduce_below"),
    ({"renal": {"measure": "mdrd", "contraindicated_below": 30}}, "renal.measure"),
    ({"renal": {"measure": "egfr", "cap_below": 60, "cap": 5, "reduce_below": 30, "reduced": 5}}, "renal.cap_below"),
    ({"renal": {"measure": "egfr", "cap_below": 30, "cap": 20}}, "renal.cap"),
])
def test_validation_refuses_a_bad_entry_naming_its_code_and_field(changes, field):
    with pytest.raises(FormularyInvalid) as refused:
        formulary_validate(with_entry("AMLO-T5", **changes))
    assert isinstance(refused.value, DomainError) and refused.value.code == "formulary_invalid"
    assert refused.value.field == f"AMLO-T5.{field}"
    assert "AMLO-T5" in refused.value.message and field in refused.value.message


def test_validation_refuses_a_duplicate_code_and_a_missing_version():
    data = raw_file()
    data["drugs"].append(dict(data["drugs"][0]))
    with pytest.raises(FormularyInvalid) as refused:
        formulary_validate(data)
    assert refused.value.field == f"{data['drugs'][0]['code']}.code"
    with pytest.raises(FormularyInvalid) as refused:
        formulary_validate({"drugs": raw_file()["drugs"]})
    assert refused.value.field == "formulary.version"


# --- Loading ----------------------------------------------------------------------------------
def test_loading_twice_changes_nothing_the_second_time(db):
    first = formulary_load()
    assert len(first.created) == len(formulary_read().entries) and not first.updated
    history = Drug.history.count()
    second = formulary_load()
    assert not second.changed and len(second.unchanged) == len(first.created)
    assert Drug.history.count() == history


def test_a_changed_entry_is_updated_with_a_history_row_naming_the_version(db):
    formulary_load()
    changed = formulary_validate({**with_entry("AMLO-T5", max_daily_dose=20), "version": "test.2"})
    report = formulary_load(formulary=changed)
    assert report.updated == ["AMLO-T5"]
    amlodipine = Drug.objects.get(code="AMLO-T5")
    assert amlodipine.max_daily_dose == 20
    assert amlodipine.history.first().history_change_reason == "formulary test.2"


def test_a_removed_code_is_deactivated_not_deleted(db):
    formulary_load()
    data = raw_file()
    data["drugs"] = [e for e in data["drugs"] if e["code"] != "NIFE-T10"]
    report = formulary_load(formulary=formulary_validate(data))
    assert report.deactivated == ["NIFE-T10"]
    assert Drug.objects.filter(code="NIFE-T10", active=False).exists()
    assert not drugs_matching("硝苯地平片").filter(code="NIFE-T10").exists()


def test_check_reports_the_changes_and_writes_nothing(db):
    report = formulary_load(check=True)
    assert len(report.created) >= 150 and not report.applied
    assert not Drug.objects.exists()


def test_the_command_loads_and_its_check_refuses_a_bad_file(db, tmp_path, capsys):
    call_command("load_formulary", "--check")
    assert not Drug.objects.exists() and "new" in capsys.readouterr().out
    call_command("load_formulary")
    assert Drug.objects.filter(active=True).count() >= 150
    bad = tmp_path / "formulary.yaml"
    bad.write_text(yaml.safe_dump(with_entry("DILT-T30", therapeutic_class="ccb"), allow_unicode=True), encoding="utf-8")
    with pytest.raises(Exception) as refused:
        call_command("load_formulary", "--check", "--file", str(bad))
    assert "DILT-T30" in str(refused.value) and "therapeutic_class" in str(refused.value)


def test_the_migration_loads_the_file_into_a_new_database(db):
    assert not Drug.objects.exists()  # the suite runs migrations with FORMULARY_LOAD_ON_MIGRATE off
    migration = importlib.import_module("prescriptions.migrations.0009_load_formulary")
    with override_settings(FORMULARY_LOAD_ON_MIGRATE=True):
        migration.load(django_apps, None)
    assert Drug.objects.filter(active=True).count() >= 150
    diltiazem = Drug.objects.get(code="DILT-T30")
    assert diltiazem.therapeutic_class == "non_dihydropyridine_ccb" and diltiazem.pinyin_initials


def test_the_demo_seed_leaves_other_drugs_active(db):
    from prescriptions import demo
    from tests.factories import DrugFactory

    other = DrugFactory()
    drugs = demo.seed()["drugs"]
    assert len(drugs) == len(formulary_read().entries)
    other.refresh_from_db()
    assert other.active


# --- Search -----------------------------------------------------------------------------------
@pytest.mark.parametrize("query, code", [
    ("delz", "DILT-T30"), ("地尔硫", "DILT-T30"), ("Diltiazem", "DILT-T30"), ("wlpm", "VERA-SR240"),
    ("aszl", "ESTA-T1"), ("xsgy", "NTG-SL0.5"), ("lhj", "KCL-SR500"), ("warfarin", "WARF-T2.5"), ("RAMI", "RAMI-T5"),
])
def test_the_search_finds_new_drugs_by_pinyin_chinese_english_and_code(db, query, code):
    formulary_load()
    assert code in set(drugs_matching(query).values_list("code", flat=True))


def test_the_search_with_nothing_typed_finds_nothing(db):
    formulary_load()
    assert not drugs_matching("  ").exists()


def test_the_prescribing_panel_finds_diltiazem_by_its_pinyin_initials(room):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(room.doctor_user)
    search = reverse("prescribing-drug-search", args=[room.consultation.pk])
    assert 'data-code="DILT-T30"' in client.get(search, {"q": "delz"}).content.decode()
    assert 'data-code="WARF-T2.5"' in client.get(search, {"q": "hflnp"}).content.decode()
