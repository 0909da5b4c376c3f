"""Redis stopped, a worker killed, a database connection killed: every write still answers
2xx or a clear 503, never 500, and every side effect happens exactly once afterwards."""

import collections
import os
import signal
import uuid

import httpx
import pytest

from cloudhospital.identity import make_resident_id
from tests.faults.conftest import wait_for

pytestmark = pytest.mark.slow


def client(deployment, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Token {token}"} if token else {}
    return httpx.Client(base_url=deployment.url(""), headers=headers, timeout=30)


def register_body() -> dict:
    from datetime import date

    sequence = uuid.uuid4().int % 100
    return {"full_name": "王芳", "id_number": make_resident_id(region="330203", birth_date=date(1980, 5, 17),
                                                           sequence=sequence, sex="female"),
            "phone": f"139{uuid.uuid4().int % 10**8:08d}", "password": "Yunyiyuan-2026-fault"}


def test_with_redis_stopped_writes_succeed_and_every_notification_is_delivered_once_after(deployment):
    data = deployment.seed()
    deployment.serve()
    deployment.redis.stop()
    family = client(deployment, data["family_token"])

    booked = family.post("/api/bookings/", json={"patient": data["patient"], "slot": data["soon_slot"],
                                                 "reason": "复诊开药 repeat prescription"})
    ordered = family.post("/api/orders/", json={"prescription": data["prescription"], "kind": "pickup",
                                                "pharmacy": data["pharmacy"]})
    registered = client(deployment).post("/api/auth/register/", json=register_body())
    chatted = family.post(f"/api/consultations/{data['consultation']}/messages/", json={"text": "爸爸今天 150/88"})
    answers = {"booking": booked, "order": ordered, "register": registered, "chat": chatted}
    assert {name: r.status_code for name, r in answers.items()} == {
        "booking": 201, "order": 201, "register": 201, "chat": 201}, {n: r.text[:300] for n, r in answers.items()}
    assert deployment.sent() == []  # nothing could leave yet
    assert deployment.outbox_pending() >= 2  # the reminder and the order notice at least

    deployment.redis.start()
    deployment.start_worker("after")
    wait_for(lambda: deployment.outbox_pending() == 0, what="the outbox to drain", timeout=90)
    sent = collections.Counter(deployment.sent())
    booking_id, order_id = booked.json()["id"], ordered.json()["id"]
    assert sent[f"booking:{booking_id}:reminder:{data['soon_slot']}"] == 1
    assert sent[f"order:{order_id}:placed"] == 1
    assert all(count == 1 for count in sent.values()), sent


def test_a_lost_kick_and_a_worker_killed_mid_delivery_still_deliver_exactly_once(deployment):
    data = deployment.seed()
    deployment.serve()
    family = client(deployment, data["family_token"])
    deployment.pause_file.touch()
    first = deployment.start_worker("first")
    ordered = family.post("/api/orders/", json={"prescription": data["prescription"], "kind": "pickup",
                                                "pharmacy": data["pharmacy"]})
    assert ordered.status_code == 201, ordered.text
    reached = deployment.pause_file.with_name("pause.reached")
    wait_for(reached.exists, what="the worker to start delivering")
    os.kill(first.pid, signal.SIGKILL)  # mid-effect: nothing sent, the outbox row not done
    first.wait(timeout=10)
    deployment.redis.stop()  # and Redis loses every queued message with it
    deployment.redis.start()
    assert deployment.sent() == [] and deployment.outbox_pending() >= 1
    deployment.pause_file.unlink()
    deployment.start_worker("second")
    wait_for(lambda: deployment.outbox_pending() == 0, what="the outbox to drain", timeout=90)
    assert collections.Counter(deployment.sent())[f"order:{ordered.json()['id']}:placed"] == 1


def test_a_killed_database_connection_does_not_fail_the_next_request(deployment):
    if not deployment.env["DATABASE_URL"].startswith("postgres"):
        pytest.skip("needs PostgreSQL (set DATABASE_URL): the test kills the server's database connections")
    import psycopg

    data = deployment.seed()
    deployment.env.update(DB_POOL="1", DB_POOL_MIN="2", DB_POOL_MAX="4", CONN_MAX_AGE="600")
    deployment.serve()
    family = client(deployment, data["family_token"])
    assert family.get("/api/auth/me/").status_code == 200
    name = deployment.env["DATABASE_URL"].rsplit("/", 1)[1]
    admin_url = deployment.env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        killed = connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name]).fetchone()[0]
    assert killed >= 1
    answers = [family.get("/api/auth/me/").status_code for _ in range(6)]
    assert answers == [200] * 6
