"""Display names, in Chinese and English, of the ICD-10 codes a chronic-care clinic writes
most: data, not rules. A code outside this list keeps the name the doctor wrote."""

from cloudhospital.languages import in_language

# code: (Chinese name, English name)
ICD10_NAMES: dict[str, tuple[str, str]] = {
    "I10": ("原发性高血压", "Essential (primary) hypertension"),
    "I11.9": ("高血压性心脏病", "Hypertensive heart disease without heart failure"),
    "I12.9": ("高血压性肾脏病", "Hypertensive renal disease without renal failure"),
    "I20.9": ("心绞痛", "Angina pectoris, unspecified"),
    "I25.1": ("动脉粥样硬化性心脏病", "Atherosclerotic heart disease"),
    "I48": ("心房颤动和心房扑动", "Atrial fibrillation and flutter"),
    "I50.9": ("心力衰竭", "Heart failure, unspecified"),
    "I63.9": ("脑梗死", "Cerebral infarction, unspecified"),
    "I69.3": ("脑梗死后遗症", "Sequelae of cerebral infarction"),
    "E11.9": ("2型糖尿病不伴并发症", "Type 2 diabetes mellitus without complications"),
    "E11.2": ("2型糖尿病伴肾并发症", "Type 2 diabetes mellitus with renal complications"),
    "E78.0": ("纯高胆固醇血症", "Pure hypercholesterolaemia"),
    "E78.5": ("高脂血症", "Hyperlipidaemia, unspecified"),
    "E79.0": ("高尿酸血症", "Hyperuricaemia without signs of inflammatory arthritis"),
    "E03.9": ("甲状腺功能减退症", "Hypothyroidism, unspecified"),
    "M10.9": ("痛风", "Gout, unspecified"),
    "M81.9": ("骨质疏松", "Osteoporosis, unspecified"),
    "N18.1": ("慢性肾脏病1期", "Chronic kidney disease, stage 1"),
    "N18.2": ("慢性肾脏病2期", "Chronic kidney disease, stage 2"),
    "N18.3": ("慢性肾脏病3期", "Chronic kidney disease, stage 3"),
    "N18.4": ("慢性肾脏病4期", "Chronic kidney disease, stage 4"),
    "N18.5": ("慢性肾脏病5期", "Chronic kidney disease, stage 5"),
    "N18.9": ("慢性肾脏病", "Chronic kidney disease, unspecified"),
    "N40": ("前列腺增生", "Hyperplasia of prostate"),
    "J44.9": ("慢性阻塞性肺疾病", "Chronic obstructive pulmonary disease, unspecified"),
    "J45.9": ("哮喘", "Asthma, unspecified"),
    "K21.9": ("胃食管反流病", "Gastro-oesophageal reflux disease without oesophagitis"),
    "F32.9": ("抑郁发作", "Depressive episode, unspecified"),
    "G47.0": ("失眠", "Insomnia (disorders of initiating and maintaining sleep)"),
}


def icd10_name_zh(code: str) -> str:
    return ICD10_NAMES.get(code, ("", ""))[0]


def icd10_name_en(code: str) -> str:
    return ICD10_NAMES.get(code, ("", ""))[1]


def icd10_display_name(code: str, written: str) -> str:
    """The name in the active language: the catalogue's English name when English is active
    and the code is known, else the name the doctor wrote (Chinese by default)."""
    return in_language(written or icd10_name_zh(code) or code, icd10_name_en(code))
