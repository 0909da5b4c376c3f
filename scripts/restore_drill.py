"""The restore drill: back up a demo database, drop it, restore it, and prove nothing was lost.

    python scripts/restore_drill.py [--server postgres://postgres@127.0.0.1:5432]

1. creates a throwaway database `cloudhospital_drill`, migrates it and loads the demo data,
   then makes the record reads that fill the access log (a doctor reading Zhang Lin's record);
2. counts the rows of every table and verifies the access-log chains (audit_verify);
3. backs it up with `pg_dump --format=custom` (what the nightly backup runs), drops the
   database, creates it again and restores with `pg_restore`;
4. counts again, runs audit_verify on the restored database and checks that the
   append-only trigger came back with it; prints a table and exits non-zero on any difference.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "cloudhospital_drill"

COUNT_TABLES = """
import json
from django.apps import apps
print(json.dumps({m._meta.db_table: m._default_manager.count() for m in apps.get_models()}))
"""
READS = """
from rest_framework.test import APIClient
from cloudhospital.models import User
from consult.models import Booking, BookingStatus
booking = Booking.objects.filter(patient__full_name__startswith="张林").first()
Booking.objects.filter(pk=booking.pk).update(status=BookingStatus.CHECKED_IN)
client = APIClient()
client.force_authenticate(User.objects.get(phone="+8613900000010"))
for path in ("/record/", "/", "/conditions/", "/bp-trend/"):
    assert client.get(f"/api/patients/{booking.patient_id}{path}").status_code == 200
print("{}")
"""
TRIGGER = """
import json
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'cloudhospital_accesslog_append_only'")
    print(json.dumps(cursor.fetchone()[0]))
"""


def run(*command, env=None, capture=True) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=capture, timeout=900)
    if result.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def django(code: str, env) -> object:
    out = run(sys.executable, "manage.py", "shell", "-c", code, env=env)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.environ.get("DRILL_SERVER", "postgres://postgres@127.0.0.1:5432"))
    server = parser.parse_args().server.rstrip("/")
    url = f"{server}/{NAME}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "cloudhospital.settings",
           "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    run("dropdb", "--if-exists", "--force", f"--maintenance-db={server}/postgres", NAME)
    run("createdb", f"--maintenance-db={server}/postgres", NAME)
    run(sys.executable, "manage.py", "migrate", "--noinput", "-v0", env=env)
    run(sys.executable, "manage.py", "seed_demo", env=env)
    django(READS, env)
    before = django(COUNT_TABLES, env)
    print(run(sys.executable, "manage.py", "audit_verify", env=env).strip())

    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / f"{NAME}.dump"
        started = time.monotonic()
        run("pg_dump", "--format=custom", "--no-owner", f"--file={dump}", url)
        backed_up = time.monotonic() - started
        size = dump.stat().st_size
        run("dropdb", "--force", f"--maintenance-db={server}/postgres", NAME)
        run("createdb", f"--maintenance-db={server}/postgres", NAME)
        started = time.monotonic()
        run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={url}", str(dump))
        restored = time.monotonic() - started

    after = django(COUNT_TABLES, env)
    verified = run(sys.executable, "manage.py", "audit_verify", env=env).strip()
    trigger = django(TRIGGER, env)
    differences = {table: (before[table], after.get(table)) for table in before if before[table] != after.get(table)}
    print(f"backup: pg_dump --format=custom, {size / 1024:.0f} KiB in {backed_up:.1f} s; restore {restored:.1f} s")
    print(f"{'table':44} {'before':>8} {'after':>8}")
    for table in sorted(before):
        if before[table]:
            print(f"{table:44} {before[table]:>8} {after.get(table, 0):>8}")
    print(f"restored: {verified}; append-only trigger present: {bool(trigger)}")
    run("dropdb", "--force", f"--maintenance-db={server}/postgres", NAME)
    if differences or not trigger:
        sys.exit(f"RESTORE DRILL FAILED: {differences or 'the append-only trigger is missing'}")
    print(f"RESTORE DRILL PASSED: {len(before)} tables, {sum(before.values())} rows, all equal")


if __name__ == "__main__":
    main()
