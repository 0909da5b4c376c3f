"""Benchmark: safety checks and Ed25519 sign/verify for a 5-item prescription.

The patient takes 10 current medications (coded against the formulary) and has weight and
creatinine on record, so every check runs: interactions across items and current medications,
Beers, CrCl, doses (issue 16: under 10 ms p50 with the full formulary and interaction table).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ch_rx .venv/bin/python bench/prescription_checks.py

Creates and migrates the named PostgreSQL database if needed (SQLite works too), seeds the
formulary and one Zhang-Lin-like patient (eGFR 48, sulfonamide allergy, 56 BP readings), then
times `prescription_check` (validation + record read + every check), `content_sign` and
`content_verify`, printing p50/p95/p99 in milliseconds and the SQL queries per call.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudhospital.settings")


def ensure_database() -> None:
    parts = urlsplit(os.environ.get("DATABASE_URL", ""))
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    return f"p50 {q[49]:.2f} ms  p95 {q[94]:.2f} ms  p99 {q[98]:.2f} ms"


def timed(fn, runs: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()  # warm caches (Fernet key derivation, imports)
    with CaptureQueriesContext(connection) as queries:
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples, len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from datetime import date, timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from cloudhospital.identity import make_resident_id
    from cloudhospital.models import Role, User
    from consult.models import Allergy, Condition, Medication, Observation, Patient
    from prescriptions import demo
    from prescriptions.checks import ItemInput, expected_quantity, prescription_check
    from prescriptions.signing import canonical_json, content_sign, content_verify

    drugs = demo.seed()["drugs"]
    number = make_resident_id(region="330203", birth_date=date(1937, 3, 15), sequence=991, sex="male")
    patient, created = Patient.objects.get_or_create(
        id_number=number, defaults={"full_name": "基准 Bench Patient", "birth_date": date(1937, 3, 15), "sex": "male"}
    )
    if created:
        Condition.objects.create(patient=patient, icd10_code="I10", name="Hypertension")
        Condition.objects.create(patient=patient, icd10_code="N18.3", name="CKD 3")
        Allergy.objects.create(patient=patient, substance="Sulfonamides 磺胺类", category="drug_class")
        now = timezone.now()
        Observation.objects.create(patient=patient, kind="egfr", value=Decimal(48), measured_at=now - timedelta(days=20))
        Observation.objects.bulk_create(
            Observation(patient=patient, kind="blood_pressure", systolic=150, diastolic=84, measured_at=now - timedelta(hours=12 * i))
            for i in range(1, 57)
        )
    current = ["NIFE-CR30", "BISO-T5", "ASPI-EC100", "CLOP-T75", "OMEP-C20", "FURO-T20", "GLIC-MR30", "ALLO-T100",
               "ISMN-SR60", "LEVT-T50"]
    if not patient.medications.exists():
        Medication.objects.bulk_create(Medication(patient=patient, name=drugs[code].generic_name_zh, drug_code=code)
                                       for code in current if code in drugs)
        Observation.objects.create(patient=patient, kind="body_weight", value=Decimal(62),
                                   measured_at=timezone.now() - timedelta(days=20))
        Observation.objects.create(patient=patient, kind="creatinine", value=Decimal(118),
                                   measured_at=timezone.now() - timedelta(days=20))
    doctor, _ = User.objects.get_or_create(phone="+8613999990001", defaults={"full_name": "基准医生 Bench Doctor", "role": Role.DOCTOR})

    def item(pos, code, dose, freq, days):
        drug = drugs[code]
        qty = expected_quantity(drug=drug, dose=Decimal(dose), dose_unit="mg", frequency=freq, days_supply=days)
        return ItemInput(pos, drug, Decimal(dose), "mg", freq, days, qty)

    items = [item(0, "AMLO-T5", 5, "qd", 30), item(1, "LOSA-T50", 50, "qd", 30), item(2, "METF-T500", 1000, "bid", 30),
             item(3, "ATOR-T20", 20, "qn", 30), item(4, "IBUP-SR300", 300, "bid", 5)]
    content = {"patient": patient.pk, "doctor": doctor.pk, "diagnosis": ["I10", "N18.3"], "issued_at": timezone.now(),
               "items": [{"drug": i.drug.code, "dose": i.dose, "unit": i.dose_unit, "frequency": i.frequency,
                          "days": i.days_supply, "quantity": i.quantity} for i in items]}
    key_id, signature = content_sign(signer=doctor, content=content)

    from prescriptions import interactions
    from prescriptions.models import Drug

    print(f"database: {os.environ.get('DATABASE_URL') or 'sqlite (default)'}; runs: {args.runs}; "
          f"canonical content {len(canonical_json(content))} bytes; formulary {Drug.objects.count()} drugs; "
          f"interaction rules {len(interactions.table().rules)}; current medications {patient.medications.count()}")
    for name, fn in [
        ("prescription_check (5 items, 10 current)", lambda: prescription_check(patient=patient, items=items)),
        ("content_sign", lambda: content_sign(signer=doctor, content=content)),
        ("content_verify", lambda: content_verify(content=content, key_id=key_id, signature=signature)),
    ]:
        samples, queries = timed(fn, args.runs)
        print(f"{name:<42} {percentiles(samples)}  queries/call {queries}")


if __name__ == "__main__":
    main()
