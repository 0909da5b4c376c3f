"""The demo formulary: common antihypertensives plus the medicines an elderly hypertensive
patient is most often also given. Doses are mg per day for adults.

Sources (product labels / 说明书 and guidelines, named in each entry's `source_note`):
- NMPA-approved Chinese labels of the originator products (络活喜, 拜新同, 科素亚, 代文, 安博维,
  洛汀新, 倍他乐克缓释片, 格华止, 立普妥, 拜阿司匹灵, 芬必得, 可定, 康忻, 美卡素, 波立维, 达美康缓释片,
  雅施达, 纳催离) and the US FDA labels where the Chinese label gives no maximum.
- KDIGO 2012 CKD guideline (drug-dosing recommendations, ch. 4.4) and KDIGO 2020 Diabetes in
  CKD; 二甲双胍临床应用专家共识 (2018); 中国高血压防治指南 (2018); AGS Beers Criteria (2023).

Renal thresholds are eGFR in mL/min/1.73m2. A contraindication blocks the prescription; a
cap only warns (the doctor may override it with a written reason).

`allergy_groups` carries cross-reactivity that the therapeutic class does not: the thiazide,
thiazide-like and loop diuretics and the sulfonylureas are sulfonamide derivatives whose labels
contraindicate them in sulfonamide hypersensitivity; aspirin and the other NSAIDs cross-react
(aspirin-exacerbated respiratory disease), which the ibuprofen label names as a contraindication.
"""

from prescriptions.models import TherapeuticClass as C

SULFONAMIDE = "sulfonamide"
NSAID = "nsaid"


def _drug(code, generic_name, generic_name_zh, ingredient, ingredient_zh, atc, form, strength, tclass, usual, maximum,
          source, *, contraindicated_below=None, cap_below=None, cap=None, reduce_below=None, reduced=None,
          groups=(), prescription_only=True):
    return {
        "code": code, "generic_name": generic_name, "generic_name_zh": generic_name_zh,
        "ingredient": ingredient, "ingredient_zh": ingredient_zh, "atc_code": atc, "form": form,
        "strength": strength, "strength_unit": "mg", "route": "oral", "therapeutic_class": tclass,
        "allergy_groups": list(groups), "usual_daily_dose": usual, "max_daily_dose": maximum,
        "renal_contraindicated_below": contraindicated_below, "renal_cap_below": cap_below,
        "renal_max_daily_dose": cap, "renal_reduce_below": reduce_below, "renal_reduced_max_daily_dose": reduced,
        "prescription_only": prescription_only, "source_note": source,
    }


FORMULARY = [
    # --- Calcium-channel blockers: no renal adjustment (hepatic clearance).
    _drug("AMLO-T5", "Amlodipine besylate", "苯磺酸氨氯地平片", "amlodipine", "氨氯地平", "C08CA01", "tablet", "5",
          C.DIHYDROPYRIDINE_CCB, "5", "10", "络活喜 label: 5 mg once daily, max 10 mg; no renal adjustment."),
    _drug("NIFE-CR30", "Nifedipine controlled-release", "硝苯地平控释片", "nifedipine", "硝苯地平", "C08CA05",
          "controlled-release tablet", "30", C.DIHYDROPYRIDINE_CCB, "30", "120",
          "拜新同 label: 30 mg once daily, titrate; FDA Procardia XL label: max 120 mg/day."),
    # --- ARBs: no dose change in CKD; the risk is in combination (see checks.DANGEROUS_PAIRS).
    _drug("LOSA-T50", "Losartan potassium", "氯沙坦钾片", "losartan", "氯沙坦", "C09CA01", "tablet", "50",
          C.ARB, "50", "100", "科素亚 label: 50 mg once daily, max 100 mg."),
    _drug("VALS-C80", "Valsartan", "缬沙坦胶囊", "valsartan", "缬沙坦", "C09CA03", "capsule", "80",
          C.ARB, "80", "160", "代文 label: 80 mg once daily, may increase to 160 mg."),
    _drug("IRBE-T150", "Irbesartan", "厄贝沙坦片", "irbesartan", "厄贝沙坦", "C09CA04", "tablet", "150",
          C.ARB, "150", "300", "安博维 label: 150 mg once daily, max 300 mg."),
    _drug("TELM-T40", "Telmisartan", "替米沙坦片", "telmisartan", "替米沙坦", "C09CA07", "tablet", "40",
          C.ARB, "40", "80", "美卡素 label: 40 mg once daily, max 80 mg."),
    # --- ACE inhibitors: dose is started low in CKD but the label maximum stays 40 mg.
    _drug("ENAL-T10", "Enalapril maleate", "马来酸依那普利片", "enalapril", "依那普利", "C09AA02", "tablet", "10",
          C.ACE_INHIBITOR, "10", "40", "Enalapril label: 10-40 mg/day; start 2.5 mg when CrCl <= 30."),
    _drug("BENA-T10", "Benazepril hydrochloride", "盐酸贝那普利片", "benazepril", "贝那普利", "C09AA07", "tablet", "10",
          C.ACE_INHIBITOR, "10", "40", "洛汀新 label: 10 mg once daily, max 40 mg; start 5 mg when CrCl < 30."),
    _drug("PERI-T4", "Perindopril tert-butylamine", "培哚普利叔丁胺片", "perindopril", "培哚普利", "C09AA04", "tablet", "4",
          C.ACE_INHIBITOR, "4", "8",
          "雅施达 label: 4 mg once daily, max 8 mg; CrCl 30-60: 2 mg/day; CrCl 15-30: 2 mg every other day.",
          cap_below="30", cap="1", reduce_below="60", reduced="2"),
    # --- Thiazide and thiazide-like diuretics: ineffective and harmful below eGFR 30
    # (label; 中国高血压防治指南 2018 recommends a loop diuretic instead), sulfonamide-derived.
    _drug("HCTZ-T25", "Hydrochlorothiazide", "氢氯噻嗪片", "hydrochlorothiazide", "氢氯噻嗪", "C03AA03", "tablet", "25",
          C.THIAZIDE_DIURETIC, "25", "100",
          "Hydrochlorothiazide label: hypertension 25-100 mg/day; sulfonamide hypersensitivity contraindicated; "
          "KDIGO 2012: avoid at eGFR < 30.", contraindicated_below="30", groups=[SULFONAMIDE]),
    _drug("INDA-T2.5", "Indapamide", "吲达帕胺片", "indapamide", "吲达帕胺", "C03BA11", "tablet", "2.5",
          C.THIAZIDE_DIURETIC, "2.5", "5",
          "Indapamide label: 2.5 mg once daily, FDA label max 5 mg; severe renal failure and sulfonamide "
          "hypersensitivity contraindicated.", contraindicated_below="30", groups=[SULFONAMIDE]),
    _drug("INDA-SR1.5", "Indapamide sustained-release", "吲达帕胺缓释片", "indapamide", "吲达帕胺", "C03BA11",
          "sustained-release tablet", "1.5", C.THIAZIDE_DIURETIC, "1.5", "1.5",
          "纳催离 label: one 1.5 mg tablet daily, higher doses add no effect; CrCl < 30 contraindicated.",
          contraindicated_below="30", groups=[SULFONAMIDE]),
    _drug("FURO-T20", "Furosemide", "呋塞米片", "furosemide", "呋塞米", "C03CA01", "tablet", "20",
          C.LOOP_DIURETIC, "40", "600", "Furosemide label: 20-80 mg/day, up to 600 mg/day in severe oedema; "
          "sulfonamide hypersensitivity contraindicated; effective at low eGFR.", groups=[SULFONAMIDE]),
    # --- Potassium-sparing diuretic: hyperkalaemia risk rises as eGFR falls.
    _drug("SPIR-T20", "Spironolactone", "螺内酯片", "spironolactone", "螺内酯", "C03DA01", "tablet", "20",
          C.POTASSIUM_SPARING_DIURETIC, "40", "400",
          "螺内酯片 label: hypertension 40-80 mg/day, primary aldosteronism up to 400 mg/day; FDA Aldactone "
          "label: eGFR 30-50 start 25 mg every other day, avoid < 30 (ESC HF 2021).",
          contraindicated_below="30", cap_below="50", cap="25"),
    # --- Beta blockers: no renal adjustment at these doses.
    _drug("METO-SR47.5", "Metoprolol succinate sustained-release", "琥珀酸美托洛尔缓释片", "metoprolol", "美托洛尔",
          "C07AB02", "sustained-release tablet", "47.5", C.BETA_BLOCKER, "47.5", "190",
          "倍他乐克缓释片 label: hypertension 47.5-95 mg once daily, may increase to 190 mg."),
    _drug("BISO-T5", "Bisoprolol fumarate", "富马酸比索洛尔片", "bisoprolol", "比索洛尔", "C07AB07", "tablet", "5",
          C.BETA_BLOCKER, "5", "10", "康忻 label: 5 mg once daily, max 10 mg (also the cap at CrCl < 20)."),
    # --- Metformin: lactic acidosis risk as clearance falls. Three steps: reduce below 60
    # (二甲双胍临床应用专家共识 2018: eGFR 45-59 减量; Japanese Metgluco label caps 45-59 at
    # 1500 mg), at most 1000 mg below 45 (KDIGO 2020), contraindicated below 30 (label).
    _drug("METF-T500", "Metformin hydrochloride", "盐酸二甲双胍片", "metformin", "二甲双胍", "A10BA02", "tablet", "500",
          C.BIGUANIDE, "1500", "2550",
          "格华止/Glucophage label: 500 mg twice daily, max 2550 mg/day; eGFR < 30 contraindicated; "
          "KDIGO 2020: max 1000 mg at 30-44; 专家共识 2018: reduce at 45-59.",
          contraindicated_below="30", cap_below="45", cap="1000", reduce_below="60", reduced="1500"),
    _drug("GLIC-MR30", "Gliclazide modified-release", "格列齐特缓释片", "gliclazide", "格列齐特", "A10BB09",
          "modified-release tablet", "30", C.SULFONYLUREA, "60", "120",
          "达美康缓释片 label: 30-120 mg once daily; severe renal impairment and sulfonamide/sulfonylurea "
          "hypersensitivity contraindicated.", contraindicated_below="30", groups=[SULFONAMIDE]),
    # --- Statins.
    _drug("ATOR-T20", "Atorvastatin calcium", "阿托伐他汀钙片", "atorvastatin", "阿托伐他汀", "C10AA05", "tablet", "20",
          C.STATIN, "20", "80", "立普妥 label: 10-80 mg once daily; no renal adjustment."),
    _drug("ROSU-T10", "Rosuvastatin calcium", "瑞舒伐他汀钙片", "rosuvastatin", "瑞舒伐他汀", "C10AA07", "tablet", "10",
          C.STATIN, "10", "20", "可定 label (China): 5-20 mg once daily, max 20 mg; severe renal impairment "
          "(CrCl < 30) contraindicated.", contraindicated_below="30"),
    # --- Antiplatelets: low-dose aspirin is continued in CKD (KDIGO 2012); the label's
    # "severe renal failure" contraindication is taken as kidney failure, eGFR < 15.
    _drug("ASPI-EC100", "Aspirin enteric-coated", "阿司匹林肠溶片", "aspirin", "阿司匹林", "B01AC06",
          "enteric-coated tablet", "100", C.ANTIPLATELET, "100", "300",
          "拜阿司匹灵 label: 100-300 mg once daily; severe renal failure contraindicated; NSAID cross-reactivity.",
          contraindicated_below="15", groups=[NSAID]),
    _drug("CLOP-T75", "Clopidogrel bisulfate", "硫酸氢氯吡格雷片", "clopidogrel", "氯吡格雷", "B01AC04", "tablet", "75",
          C.ANTIPLATELET, "75", "75",
          "波立维 label: 75 mg once daily (the 300 mg loading dose is given in hospital, not e-prescribed)."),
    # --- NSAID. KDIGO 2012 (4.4): avoid prolonged therapy at GFR < 60, not recommended below 30;
    # Beers 2023: avoid in CrCl < 30. Blocking every NSAID below 60 would forbid a short
    # low-dose course that the guideline allows, so below 60 we cap at the label's OTC daily
    # maximum (300 mg twice daily) and warn; below 30 we block. An 84-year-old at eGFR 48 on
    # the full 1200 mg is therefore caught, and the ACEi/ARB + NSAID pair is a separate warning.
    _drug("IBUP-SR300", "Ibuprofen sustained-release", "布洛芬缓释胶囊", "ibuprofen", "布洛芬", "M01AE01",
          "sustained-release capsule", "300", C.NSAID, "600", "1200",
          "芬必得 label: 300-600 mg twice daily (OTC: 300 mg twice daily); severe renal impairment "
          "contraindicated; KDIGO 2012 and Beers 2023 for the renal steps.",
          contraindicated_below="30", cap_below="60", cap="600", groups=[NSAID]),
]

FORMULARY_CODES = [entry["code"] for entry in FORMULARY]
