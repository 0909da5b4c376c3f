"""What every benchmark does first: a PostgreSQL database of its own on this machine, and Django on it."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]


def bench_database(base_url: str, name: str, *, recreate: bool) -> str:
    """The URL of database `name` on the server of `base_url`, created if missing (or anew).

    Refuses anything but a PostgreSQL server on this machine: a benchmark never touches
    another host.
    """
    parts = urlsplit(base_url)
    if not parts.scheme.startswith("postgres") or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("The benchmark database must be PostgreSQL on this machine (postgres://...@127.0.0.1/...).")
    import psycopg

    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        if recreate:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl()


def setup_django(url: str) -> None:
    """Point Django at `url` and migrate it."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudhospital.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
