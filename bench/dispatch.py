"""Benchmark: the nearest-stocked-pharmacy search over 10,000 pharmacies x 200 drugs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dispatch.py

Uses its own PostgreSQL database (ch_bench_dispatch on the server DATABASE_URL names),
created and migrated on first use; the data (2,000,000 stock rows) is built once with
INSERT ... SELECT and reused while its size matches. Then it times
`pharmacy.dispatch.pharmacies_with_stock` for a 3-item prescription at random Ningbo
coordinates, and `delivery_candidates` the same way, and prints p50/p95/p99 latency and
the number of SQL queries per call. `--explain` prints one query plan.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._setup import bench_database, setup_django  # noqa: E402
DB_NAME = "ch_bench_dispatch"
# Greater Ningbo: Haishu, Jiangbei, Yinzhou and the ring around them (~40 x 45 km).
AREA = {"lat": (29.70, 30.05), "lng": (121.35, 121.80)}
# Patients live in the built-up centre.
HOMES = {"lat": (29.78, 29.95), "lng": (121.45, 121.65)}


def database_url() -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    return bench_database(base, DB_NAME, recreate=False)


def build(pharmacies: int, drugs: int, rebuild: bool) -> None:
    from django.db import connection

    from pharmacy.models import Pharmacy, Stock
    from prescriptions.models import Drug

    if not rebuild and Pharmacy.objects.count() == pharmacies and Drug.objects.count() == drugs and (
        Stock.objects.count() == pharmacies * drugs
    ):
        print(f"reusing {pharmacies:,} pharmacies x {drugs} drugs ({pharmacies * drugs:,} stock rows)")
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE pharmacy_stock, pharmacy_openinghours, pharmacy_pharmacystaff, pharmacy_pharmacyapitoken,"
            " pharmacy_pharmacy, pharmacy_historicalstock, pharmacy_historicalpharmacy RESTART IDENTITY CASCADE"
        )
    Drug.objects.all().delete()
    Drug.objects.bulk_create(
        [
            Drug(
                code=f"B{n:04d}", generic_name=f"Benchdrug {n}", generic_name_zh=f"基准药{n}", form="tablet",
                strength=5, therapeutic_class="statin", usual_daily_dose=5, max_daily_dose=10,
            )
            for n in range(drugs)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.606)")
        cursor.execute(
            """
            INSERT INTO pharmacy_pharmacy (name, licence_number, address, district, phone, latitude, longitude,
                delivers, delivery_radius_km, delivery_cutoff, webhook_url, webhook_secret, active, created_at)
            SELECT 'Bench pharmacy ' || g, 'BENCH-' || g, 'Ningbo', '', '',
                   %s + random() * %s, %s + random() * %s,
                   d, CASE WHEN d THEN 5 + floor(random() * 6) ELSE 0 END, '18:00', '', '', random() > 0.02, now()
            FROM (SELECT g, random() < 0.35 AS d FROM generate_series(1, %s) g) s
            """,
            [AREA["lat"][0], AREA["lat"][1] - AREA["lat"][0], AREA["lng"][0], AREA["lng"][1] - AREA["lng"][0], pharmacies],
        )
        cursor.execute(
            """
            INSERT INTO pharmacy_openinghours (pharmacy_id, weekday, opens, closes)
            SELECT p.id, w, '08:00', '22:00' FROM pharmacy_pharmacy p CROSS JOIN generate_series(0, 6) w
            """
        )
        # One line in five is empty and up to 30% of the rest is reserved, so "has every
        # item" really filters: about half the pharmacies can fill a 3-item prescription.
        cursor.execute(
            """
            INSERT INTO pharmacy_stock (pharmacy_id, drug_id, on_hand, reserved, updated_at)
            SELECT pid, did, on_hand, floor(on_hand * random() * 0.3)::int, now()
            FROM (
                SELECT p.id AS pid, d.id AS did,
                       CASE WHEN random() < 0.2 THEN 0 ELSE 1 + floor(random() * 60)::int END AS on_hand
                FROM pharmacy_pharmacy p CROSS JOIN prescriptions_drug d
            ) s
            """
        )
        # VACUUM sets the visibility map, so the covering index answers without the heap.
        cursor.execute("VACUUM ANALYZE")
    print(f"built {pharmacies:,} pharmacies x {drugs} drugs in {time.perf_counter() - started:.1f} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(name: str, call, calls: int, rng: random.Random, drug_ids: list[int]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def one():
        lat, lng = rng.uniform(*HOMES["lat"]), rng.uniform(*HOMES["lng"])
        items = {drug_id: rng.randint(1, 3) for drug_id in rng.sample(drug_ids, 3)}
        return call(items=items, lat=lat, lng=lng)

    for _ in range(20):
        one()
    timings, queries, found = [], [], []
    for _ in range(calls):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = one()
            timings.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
        found.append(len(result))
    print(
        f"{name:<24} calls {calls}  p50 {percentile(timings, 0.50):6.2f} ms  p95 {percentile(timings, 0.95):6.2f} ms"
        f"  p99 {percentile(timings, 0.99):6.2f} ms  max {max(timings):6.2f} ms"
        f"  queries/call {min(queries)}-{max(queries)} (mean {statistics.mean(queries):.2f})"
        f"  results/call mean {statistics.mean(found):.1f}"
    )


def explain(drug_ids: list[int]) -> None:
    from django.db import connection

    from pharmacy import dispatch
    from pharmacy.models import Pharmacy

    items = {drug_id: 2 for drug_id in drug_ids[:3]}
    lat, lng = 29.876, 121.547
    queryset = (
        dispatch._with_every_item(Pharmacy.objects.filter(active=True), items)
        .filter(dispatch._box(lat, lng, dispatch.BOX_STEPS_KM[0]))
        .annotate(distance_km=dispatch._distance_sql(lat, lng))
        .order_by("distance_km", "id")[:10]
    )
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pharmacies", type=int, default=10_000)
    parser.add_argument("--drugs", type=int, default=200)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data even if its size matches")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of one search")
    args = parser.parse_args()

    setup_django(database_url())
    build(args.pharmacies, args.drugs, args.rebuild)

    from pharmacy import dispatch
    from prescriptions.models import Drug

    drug_ids = list(Drug.objects.values_list("pk", flat=True))
    rng = random.Random(606)
    print(f"database {DB_NAME}; 3-item prescriptions at random points in central Ningbo, limit 10")
    measure("pharmacies_with_stock", dispatch.pharmacies_with_stock, args.calls, rng, drug_ids)
    measure("delivery_candidates", dispatch.delivery_candidates, args.calls, rng, drug_ids)
    if args.explain:
        explain(drug_ids)


if __name__ == "__main__":
    main()
