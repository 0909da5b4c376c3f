"""Fault injection against the production shape: a throwaway Redis of the test's own (on a
free port, so the shared one is never touched), the real server (Daphne) and Celery worker
processes, and PostgreSQL when DATABASE_URL names one (a database of the test's own)."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.harness import free_port, start_server, stop

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, *, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class ThrowawayRedis:
    """A redis-server of the test's own: stop() and start() it at will."""

    def __init__(self, workdir: Path):
        self.port, self.workdir, self.process = free_port(), workdir, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=open(self.workdir / "redis.log", "a"), stderr=subprocess.STDOUT)
        wait_for(self.answers, what="the throwaway Redis", timeout=20)

    def answers(self) -> bool:
        import socket

        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)  # no persistence: what it held is gone
            self.process.wait(timeout=10)


class Deployment:
    """Server, worker and database of one fault test."""

    def __init__(self, workdir: Path, redis: ThrowawayRedis, database_url: str):
        self.workdir, self.redis = workdir, redis
        self.sent_file = workdir / "sent.txt"
        self.sent_file.touch()
        self.pause_file = workdir / "pause"
        self.env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
        self.env.update(
            DATABASE_URL=database_url, REDIS_URL=redis.url, DEBUG="1", DJANGO_SETTINGS_MODULE="cloudhospital.settings",
            CELERY_EAGER="0", NOTIFICATION_SENDER="tests.faults.senders.FileSender", FAULT_SENT_FILE=str(self.sent_file),
            FAULT_PAUSE_FILE=str(self.pause_file), OUTBOX_RELAY_SECONDS="1", LOG_LEVEL="WARNING",
            BOOKING_CHECK_IN_OPENS_MINUTES="4320", CONSULT_JOIN_BEFORE_MINUTES="4320",
        )
        self.port = free_port()
        self.server = None
        self.workers: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True, timeout=300).stdout

    def seed(self) -> dict:
        self.manage("migrate", "--noinput", "-v0")
        out = subprocess.run([sys.executable, "tests/faults/seed.py"], cwd=ROOT, env=self.env, check=True,
                             capture_output=True, text=True, timeout=300).stdout
        return json.loads(out.strip().splitlines()[-1])

    def serve(self):
        self.server = start_server(self.env, self.port, self.workdir / "server.log")

    def start_worker(self, name: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cloudhospital", "worker", "-B", "-P", "solo", "-n", f"{name}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning",
             "-s", str(self.workdir / f"beat-{name}")],
            cwd=ROOT, env=self.env, stdout=open(self.workdir / f"{name}.log", "w"), stderr=subprocess.STDOUT,
            start_new_session=True)  # its own process group: -B forks the beat, which must go with it
        self.workers.append(worker)
        return worker

    def query(self, code: str):
        """Run Python in the deployment's Django and return what it prints as JSON."""
        out = self.manage("shell", "-c", f"import json\n{code}")
        return json.loads(out.strip().splitlines()[-1])

    def outbox_pending(self) -> int:
        return self.query("from cloudhospital.models import OutboxMessage as M\n"
                          "print(json.dumps(M.objects.exclude(status='done').count()))")

    def sent(self) -> list[str]:
        return self.sent_file.read_text().split()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        for worker in self.workers:
            # The whole group, even when the worker itself was killed by the test: the beat
            # process it forked would otherwise outlive the suite.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        if self.server:
            stop(self.server)


@pytest.fixture
def deployment(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed: the fault tests start a Redis of their own")
    base = os.environ.get("DATABASE_URL", "")
    created = None
    if base.startswith("postgres"):
        import psycopg

        created = f"cloudhospital_faults_{uuid.uuid4().hex[:8]}"
        admin_url = base.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{created}"')
        database_url = base.rsplit("/", 1)[0] + f"/{created}"
    else:
        database_url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    redis = ThrowawayRedis(tmp_path)
    redis.start()
    deployment = Deployment(tmp_path, redis, database_url)
    try:
        yield deployment
    finally:
        deployment.close()
        redis.stop()
        if created:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')
