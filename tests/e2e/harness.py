"""Running the real server out of process, for the browser test, the scale-out test and the
signalling benchmark: a fresh database, seeded consultation rooms, Daphne processes.

`python tests/e2e/harness.py seed N` (with DATABASE_URL set) migrates and creates N rooms,
each with a doctor, a proxy and a checked-in booking whose consultation is open, and prints
JSON with API tokens and socket tickets for both sides.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(workdir: Path, *, redis_url: str | None = None, **extra: str) -> dict:
    """The environment of a throwaway server: its own SQLite file, Redis only if asked."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{workdir / 'server.sqlite3'}", DEBUG="1", DJANGO_SETTINGS_MODULE="cloudhospital.settings")
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def seed_rooms(env: dict, rooms: int) -> dict:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), "seed", str(rooms)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_server(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "cloudhospital.asgi:application"],
        cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"server on port {port} did not start: {log_path.read_text()[-2000:]}")


def stop(*servers: subprocess.Popen) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _seed(count: int) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # Seeded people sign in with tokens and tickets; hashing thousands of Argon2 passwords
    # would only slow the seeding down.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    from cloudhospital import step_up
    from cloudhospital.tokens import token_issue
    from consult import signalling
    from tests.consult.rooms import make_room
    from tests.second_factor import verify_token

    rooms = []
    for _ in range(count):
        room = make_room()
        doctor_token = token_issue(user=room.doctor_user)
        family_token = token_issue(user=room.proxy)
        cid = room.consultation.pk
        # The doctor has proved the second factor on this token, and the socket ticket carries
        # that proof, so the doctor's socket may admit (cloudhospital.step_up).
        verify_token(room.doctor_user, doctor_token.record)
        doctor_ticket = signalling.ticket_issue(user_id=room.doctor_user.pk, consultation_id=cid)
        step_up.carry_over(user=room.doctor_user, source=step_up.credential_of_token(doctor_token.record),
                           target=step_up.credential_of_ticket(doctor_ticket))
        rooms.append(
            {
                "consultation": cid,
                "doctor": {"token": doctor_token.key, "ticket": doctor_ticket},
                "family": {"token": family_token.key, "ticket": signalling.ticket_issue(user_id=room.proxy.pk, consultation_id=cid)},
            }
        )
    print(json.dumps({"rooms": rooms}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        _seed(int(sys.argv[2]))
