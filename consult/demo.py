"""Demo data for patients and health records: Zhang Lin, his daughter, and a few others.

Idempotent: every person is looked up by ID number first, so running it twice adds nothing.
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from cloudhospital.identity import make_resident_id
from consult import consent as consent_rules
from consult import records
from consult.models import ObservationKind, ObservationSource, Patient

DEMO_PASSWORD = "yunyiyuan-demo-2026"
NINGBO_HAISHU = "330203"

ZHANG_WEI = {"full_name": "张薇 Zhang Wei", "phone": "13800000001", "birth": date(1968, 9, 12), "sex": "female"}
ZHANG_LIN = {"full_name": "张林 Zhang Lin", "phone": "", "birth": date(1937, 3, 15), "sex": "male"}
OTHERS = [
    {"full_name": "李娜 Li Na", "phone": "13800000002", "birth": date(1975, 2, 3), "sex": "female"},
    {"full_name": "王强 Wang Qiang", "phone": "13800000003", "birth": date(1958, 7, 21), "sex": "male"},
    {"full_name": "陈静 Chen Jing", "phone": "13800000004", "birth": date(1990, 11, 30), "sex": "female"},
    {"full_name": "刘洋 Liu Yang", "phone": "13800000005", "birth": date(1949, 5, 8), "sex": "male"},
]


def _id_number(person: dict, sequence: int) -> str:
    return make_resident_id(region=NINGBO_HAISHU, birth_date=person["birth"], sequence=sequence, sex=person["sex"])


def _account_holder(person: dict, sequence: int) -> Patient:
    number = _id_number(person, sequence)
    existing = Patient.objects.filter(id_number=number).first()
    if existing:
        return existing
    return records.patient_register(
        full_name=person["full_name"], id_number=number, phone=person["phone"], password=DEMO_PASSWORD,
        address="浙江省宁波市海曙区中山西路 88 号",
    )


def _home_readings(patient: Patient, by, rng: random.Random, days: int, base: tuple[int, int]) -> None:
    """Morning and evening home readings for `days` days, drifting as real ones do."""
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        for hour in (7, 20):
            systolic = base[0] + rng.randint(-14, 18) + (6 if hour == 7 else 0)
            diastolic = min(base[1] + rng.randint(-8, 10), systolic - 30)
            records.observation_add(
                by=by, patient=patient, kind=ObservationKind.BLOOD_PRESSURE,
                measured_at=datetime.combine(day, time(hour, rng.randint(0, 40)), tzinfo=tz),
                systolic=systolic, diastolic=diastolic, pulse=rng.randint(62, 84), source=ObservationSource.HOME,
            )


def seed(*, stdout=None) -> dict:
    """Create the demo patients. Returns the key objects for later seeders."""
    rng = random.Random(2006)
    daughter = _account_holder(ZHANG_WEI, 1)
    zhang_lin_number = _id_number(ZHANG_LIN, 1)
    zhang_lin = Patient.objects.filter(id_number=zhang_lin_number).first()
    if zhang_lin is None:
        zhang_lin = records.dependant_add(
            proxy=daughter.account, full_name=ZHANG_LIN["full_name"], id_number=zhang_lin_number,
            relationship="parent", address="浙江省宁波市海曙区柳汀街 225 弄 3 号 501 室",
        )
        by = daughter.account
        # Diagnosed in person at the hospital, so the online visits follow them up (consult.follow_up).
        records.condition_add(by=by, patient=zhang_lin, icd10_code="I10", name="Essential hypertension 原发性高血压", onset_date=date(2006, 4, 1),
                              diagnosed_institution="宁波市第一医院 心内科", diagnosed_on=date(2006, 4, 1))
        records.condition_add(by=by, patient=zhang_lin, icd10_code="N18.3", name="Chronic kidney disease, stage 3 慢性肾脏病3期", onset_date=date(2019, 10, 1),
                              diagnosed_institution="宁波市第一医院 肾内科", diagnosed_on=date(2019, 10, 1))
        records.allergy_add(by=by, patient=zhang_lin, substance="Sulfonamides 磺胺类", category="drug_class", reaction="Rash", severity="moderate")
        records.medication_add(by=by, patient=zhang_lin, name="Amlodipine 苯磺酸氨氯地平片", dose="5 mg", frequency="qd", started_on=date(2016, 3, 1))
        lab_time = timezone.now() - timedelta(days=20)
        records.observation_add(by=by, patient=zhang_lin, kind=ObservationKind.EGFR, value=Decimal("48"), measured_at=lab_time, source=ObservationSource.LAB)
        records.observation_add(by=by, patient=zhang_lin, kind=ObservationKind.CREATININE, value=Decimal("118"), measured_at=lab_time, source=ObservationSource.LAB)
        _home_readings(zhang_lin, by, rng, days=28, base=(150, 84))
    others = []
    for sequence, person in enumerate(OTHERS, start=2):
        patient = _account_holder(person, sequence)
        if not patient.observations.exists():
            _home_readings(patient, patient.account, rng, days=7, base=(128, 80))
        others.append(patient)
    # The demo family has accepted the online-care consent (Zhang Wei for her father), so the
    # scripted journeys book at once; a family registered in the demo meets the consent page.
    current = consent_rules.consent_current()
    if current is not None:
        consent_rules.consent_accept(by=daughter.account, patient=zhang_lin, version=current.version)
        for patient in [daughter, *others]:
            consent_rules.consent_accept(by=patient.account, patient=patient, version=current.version)
    User = get_user_model()
    admin = User.objects.filter(phone="+8613900000000").first()
    if admin is None:
        admin = User.objects.create_superuser("13900000000", DEMO_PASSWORD, full_name="Demo Admin 管理员")
    if stdout:
        stdout.write(f"  patients: {Patient.objects.count()} (Zhang Lin id {zhang_lin.pk}, proxy {daughter.full_name})")
    return {"zhang_lin": zhang_lin, "daughter": daughter, "others": others, "admin": admin}
