"""Benchmark: 100 clients race to book one clinic's next-day slots through gunicorn.

    .venv/bin/python bench/booking_rush.py [--workers 4] [--clients 100] [--patients 1000]

What it does, all against 127.0.0.1 only:
1. Recreates the PostgreSQL database `ch_booking` (on the server BENCH_DATABASE_URL names,
   default postgres://postgres@127.0.0.1:5432) and migrates it.
2. Builds the scene in bulk: the follow-up-only 高血压云诊室 with `--doctors` verified doctors,
   each with a session tomorrow (08:00-12:00, 10-minute slots of `--capacity` places);
   `--patients` patients with an I10 diagnosis and an API token each (created directly: no
   password hashing).
3. Starts gunicorn (`--workers` processes x `--threads` threads, DEBUG off, psycopg
   connection pooling with DB_POOL=1, Redis db 3 as cache and broker).
4. Framework ceiling: the same clients hammer a bare authenticated GET
   (/api/hospitals/{id}/: token lookup plus one row) for `--ceiling-seconds`.
5. The rush: each client books for its share of the patients. It lists the clinic's
   available slots for tomorrow, picks one at random, and on 409 "slot full" drops it and
   tries another, refreshing the list when its copy runs dry, until it has a place or
   none are left.
6. Prints bookings/s, booking POST latency p50/p95/p99, successful bookings against total
   capacity, overbooked slots (must be 0), the ceiling's requests/s and the ratio.
"""

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._setup import bench_database, setup_django  # noqa: E402
DB_NAME = "ch_booking"


def database_url() -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    return bench_database(base, DB_NAME, recreate=True)


def build(*, patients: int, doctors: int, capacity: int) -> dict:
    """The clinic, its doctors' slots for tomorrow, and the patients with their tokens."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone
    from knox.models import AuthToken, get_digest_token
    from knox.settings import CONSTANTS, knox_settings

    from cloudhospital.identity import make_resident_id
    from cloudhospital.models import Role, User
    from consult.models import Clinic, Condition, Doctor, DoctorRegistration, Hospital, Patient, ScheduleTemplate, Slot
    from consult.schedules import slots_generate

    started = time.perf_counter()
    hospital = Hospital.objects.create(name="宁波市第一医院")
    clinic = Clinic.objects.create(hospital=hospital, name="高血压云诊室", specialty="cardiology",
                                   icd10_ranges="I10-I15", follow_up_only=True)
    tomorrow = timezone.localdate() + timedelta(days=1)
    unusable = make_password(None)
    staff = User.objects.bulk_create(
        [User(phone=f"+86139{n:08d}", full_name=f"专家 Expert {n}", role=Role.DOCTOR, password=unusable) for n in range(doctors)]
    )
    for n, user in enumerate(staff):
        # Qualified to practise online and registered here (consult.doctors), or booking refuses.
        doctor = Doctor.objects.create(user=user, hospital=hospital, title="chief", licence_number=f"1103302{n:08d}",
                                       verified=True, fee=50, independent_practice_since=date(2010, 9, 1))
        doctor.clinics.add(clinic)
        DoctorRegistration.objects.create(doctor=doctor, hospital=hospital, registered_on=date(2010, 9, 1))
        ScheduleTemplate.objects.create(doctor=doctor, clinic=clinic, weekday=tomorrow.weekday(),
                                        start_time=datetime.strptime("08:00", "%H:%M").time(),
                                        end_time=datetime.strptime("12:00", "%H:%M").time(),
                                        slot_minutes=10, capacity=capacity, fee=50)
    slots_generate(days=2)
    users = User.objects.bulk_create(
        [User(phone=f"+86138{n:08d}", full_name=f"患者 Patient {n}", password=unusable) for n in range(patients)],
        batch_size=1000,
    )
    people = Patient.objects.bulk_create(
        [
            Patient(account=user, full_name=user.full_name, phone=user.phone, sex="male" if n % 2 else "female",
                    birth_date=date(1940, 1, 1) + timedelta(days=n),
                    id_number=make_resident_id(region="330203", birth_date=date(1940, 1, 1) + timedelta(days=n),
                                               sequence=n % 100, sex="male" if n % 2 else "female"))
            for n, user in enumerate(users)
        ],
        batch_size=1000,
    )
    Condition.objects.bulk_create(
        [Condition(patient=p, icd10_code="I10", name="原发性高血压") for p in people], batch_size=1000
    )
    # One knox token per patient, as a login would issue, in bulk: only the digest is stored.
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    keys, rows = [], []
    for user in users:
        digest, key = get_digest_token()
        keys.append(key)
        rows.append(AuthToken(digest=digest, token_key=key[:CONSTANTS.TOKEN_KEY_LENGTH], user=user, expiry=expiry))
    AuthToken.objects.bulk_create(rows, batch_size=1000)
    slots = Slot.objects.filter(clinic=clinic)
    total_capacity = sum(slots.values_list("capacity", flat=True))
    print(f"scene: {slots.count()} slots tomorrow, {total_capacity} places, {patients} patients "
          f"(built in {time.perf_counter() - started:.1f}s)")
    return {
        "hospital": hospital.pk, "clinic": clinic.pk, "doctors": list(Doctor.objects.filter(clinics=clinic).values_list("pk", flat=True)), "date": tomorrow.isoformat(), "capacity": total_capacity,
        "logins": [(key, patient.pk) for key, patient in zip(keys, people, strict=True)],
    }


def start_server(url: str, *, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url, "DB_POOL": "1", "DB_POOL_MAX": str(threads + 2),
        "REDIS_URL": "redis://127.0.0.1:6379/3", "DEBUG": "0", "SECRET_KEY": "bench-only-" + "x" * 40,
        "PRESCRIPTION_SIGNING_SECRET": "bench-only-signing-" + "y" * 32,
        "SECURE_SSL_REDIRECT": "0", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
    }
    command = [
        str(ROOT / ".venv/bin/gunicorn"), "cloudhospital.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--backlog", "2048", "--keep-alive", "30", "--log-level", "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/hospitals/", timeout=1).status_code in (401, 403):
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    stop_server(server)
    sys.exit("gunicorn did not answer within 30 seconds")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def run_clients(count: int, work) -> tuple[float, float]:
    """Run `work(i)` in `count` threads released together; return (start, wall time)."""
    barrier = threading.Barrier(count + 1)
    threads = [threading.Thread(target=lambda i=i: (barrier.wait(), work(i))) for i in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return started, time.perf_counter() - started


def ceiling(base: str, scene: dict, *, clients: int, seconds: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop_at = [0.0]

    def work(i):
        token = scene["logins"][i % len(scene["logins"])][0]
        with httpx.Client(base_url=base, headers={"Authorization": f"Token {token}"}, timeout=30) as client:
            while time.perf_counter() < stop_at[0]:
                began = time.perf_counter()
                response = client.get(f"/api/hospitals/{scene['hospital']}/")
                latencies[i].append(time.perf_counter() - began)
                errors[i] += response.status_code != 200

    stop_at[0] = time.perf_counter() + seconds
    _, elapsed = run_clients(clients, work)
    flat = [x for per in latencies for x in per]
    return {"requests": len(flat), "per_second": len(flat) / elapsed, "p50": percentile(flat, 0.5), "errors": sum(errors)}


def rush(base: str, scene: dict, *, clients: int) -> dict:
    logins = scene["logins"]
    shares = [logins[i::clients] for i in range(clients)]
    post_latencies: list[list[float]] = [[] for _ in range(clients)]
    outcomes: list[dict] = [{} for _ in range(clients)]
    booked_at: list[list[float]] = [[] for _ in range(clients)]
    query = {"clinic": scene["clinic"], "date_from": scene["date"], "date_to": scene["date"], "available": "true",
             "page_size": 100}

    def available(client, **narrower) -> list[int]:
        ids, page = [], 1
        while True:
            response = client.get("/api/slots/", params={**query, **narrower, "page": page})
            if response.status_code != 200:
                raise RuntimeError(f"slot list answered {response.status_code}: {response.text[:200]}")
            body = response.json()
            ids += [slot["id"] for slot in body["results"]]
            if not body["next"]:
                return ids
            page += 1

    def book(client, patient_id: int, slot_id: int) -> httpx.Response:
        # A connection dropped mid-request leaves the outcome unknown: retry with the same
        # Idempotency-Key, which returns the booking if the first attempt made it.
        key = f"rush-{patient_id}-{slot_id}"
        for attempt in range(3):
            try:
                return client.post("/api/bookings/", headers={"Idempotency-Key": key},
                                   json={"patient": patient_id, "slot": slot_id, "reason": "复诊开药"})
            except httpx.TransportError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def work(i):
        rng = random.Random(i)
        tally = outcomes[i]
        favourite = scene["doctors"][i % len(scene["doctors"])]
        with httpx.Client(base_url=base, timeout=60) as client:
            for token, patient_id in shares[i]:
                client.headers["Authorization"] = f"Token {token}"
                # Like a patient after a popular expert: that doctor's free slots first,
                # then anyone's in the clinic. A "slot full" answer means the list on
                # screen was stale: fetch it again.
                while seen := (available(client, doctor=favourite) or available(client)):
                    slot_id = rng.choice(seen)
                    began = time.perf_counter()
                    response = book(client, patient_id, slot_id)
                    post_latencies[i].append(time.perf_counter() - began)
                    code = response.status_code
                    key = "booked" if code == 201 else f"{code} {response.json().get('code', '')}".strip()
                    tally[key] = tally.get(key, 0) + 1
                    if code == 201:
                        booked_at[i].append(time.perf_counter())
                        break
                    if code != 409:
                        raise RuntimeError(f"booking answered {code}: {response.text[:200]}")

    started, elapsed = run_clients(clients, work)
    last_booking = max((t for per in booked_at for t in per), default=started)
    totals: dict[str, int] = {}
    for tally in outcomes:
        for key, value in tally.items():
            totals[key] = totals.get(key, 0) + value
    flat = [x for per in post_latencies for x in per]
    return {"elapsed": elapsed, "sold_out": last_booking - started, "totals": totals, "posts": len(flat), "latencies": flat}


def audit(scene: dict) -> dict:
    from django.db.models import Count, F, Q

    from consult.models import ACTIVE_BOOKING_STATUSES, Booking, Slot

    slots = Slot.objects.filter(clinic_id=scene["clinic"]).annotate(
        active=Count("bookings", filter=Q(bookings__status__in=ACTIVE_BOOKING_STATUSES))
    )
    duplicates = (
        Booking.objects.filter(slot__clinic_id=scene["clinic"]).values("slot_id", "queue_number")
        .annotate(n=Count("id")).filter(n__gt=1).count()
    )
    return {
        "bookings": Booking.objects.filter(slot__clinic_id=scene["clinic"]).count(),
        "overbooked": slots.filter(Q(active__gt=F("capacity")) | Q(booked__gt=F("capacity"))).count(),
        "count_mismatch": slots.exclude(booked=F("active")).count(),
        "duplicate_numbers": duplicates,
        "full": slots.filter(booked=F("capacity")).count(),
        "slots": slots.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--doctors", type=int, default=5)
    parser.add_argument("--capacity", type=int, default=5, help="places per 10-minute slot")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8763)
    parser.add_argument("--ceiling-seconds", type=float, default=10)
    args = parser.parse_args()

    url = database_url()
    setup_django(url)
    scene = build(patients=args.patients, doctors=args.doctors, capacity=args.capacity)
    from django.db import connections

    connections.close_all()
    server = start_server(url, port=args.port, workers=args.workers, threads=args.threads)
    base = f"http://127.0.0.1:{args.port}"
    try:
        print(f"gunicorn: {args.workers} workers x {args.threads} threads, psycopg pool; {args.clients} clients; "
              f"{os.cpu_count()} CPUs shared by server, clients and PostgreSQL")
        ceiling(base, scene, clients=args.clients, seconds=2)  # warm the workers and their pools
        bare = ceiling(base, scene, clients=args.clients, seconds=args.ceiling_seconds)
        result = rush(base, scene, clients=args.clients)
    finally:
        stop_server(server)
    checked = audit(scene)
    booked = result["totals"].get("booked", 0)
    bookings_per_second = booked / result["sold_out"]
    posts_per_second = result["posts"] / result["elapsed"]
    lat = result["latencies"]
    print()
    print(f"framework ceiling  GET /api/hospitals/{{id}}/: {bare['per_second']:,.0f} req/s "
          f"(p50 {bare['p50'] * 1000:.1f} ms, {bare['requests']:,} requests, {bare['errors']} errors)")
    print(f"booking rush       {args.patients:,} patients, {args.clients} clients: last place taken after "
          f"{result['sold_out']:.2f} s; all clients done after {result['elapsed']:.2f} s")
    print(f"  bookings/s       {bookings_per_second:,.0f} successful until sold out "
          f"({posts_per_second:,.0f} booking POSTs/s over the whole run)")
    print(f"  POST latency     p50 {percentile(lat, 0.5) * 1000:.1f} ms  p95 {percentile(lat, 0.95) * 1000:.1f} ms  "
          f"p99 {percentile(lat, 0.99) * 1000:.1f} ms  (mean {statistics.fmean(lat) * 1000:.1f} ms over {len(lat):,})")
    print(f"  outcomes         {dict(sorted(result['totals'].items()))}")
    print(f"  successful       {booked:,} of {scene['capacity']:,} places ({checked['full']} of {checked['slots']} slots full)")
    print(f"  overbooked slots {checked['overbooked']} (booked count mismatches: {checked['count_mismatch']}, "
          f"duplicate queue numbers: {checked['duplicate_numbers']})")
    print(f"  ratio            successful bookings/s / ceiling = {bookings_per_second / bare['per_second']:.2f} "
          f"(each booking also costs its client one or two slot-list GETs)")
    if checked["overbooked"] or checked["count_mismatch"] or checked["duplicate_numbers"] or booked != checked["bookings"]:
        sys.exit("INTEGRITY FAILURE: see the counts above")


if __name__ == "__main__":
    main()
