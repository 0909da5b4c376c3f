"""A real Celery worker against Redis and PostgreSQL is killed in the middle of a
reassignment (new reservation made, nothing committed); a new worker gets the message
again (acks_late, reject_on_worker_lost, Redis visibility timeout) and the order ends up
reassigned exactly once: one live reservation, one reassignment recorded."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from cloudhospital.celery import app as celery_app
from cloudhospital.models import Notification, OutboxMessage
from pharmacy import orders
from pharmacy.models import Order, OrderAssignment, Stock
from tests.factories import pos, ApprovedPrescriptionFactory, DrugFactory, PatientFactory, PharmacyFactory, StockFactory
from tests.pharmacy.conftest import HOME, north_of_home

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis for a real worker: set REDIS_URL=redis://..."),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="the worker process must share the test database: set DATABASE_URL=postgres://..."),
]
ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def start_worker(name: str, pause_file: Path, log: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_EAGER": "0",
        "ORDER_REASSIGN_PAUSE_FILE": str(pause_file),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.pharmacy.celery_worker_app", "worker", "-P", "solo",
         "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_worker_killed_mid_reassignment_leaves_the_order_reassigned_exactly_once(tmp_path):
    drug = DrugFactory()
    pharmacies = [PharmacyFactory(latitude=north_of_home(km)[0], longitude=HOME[1]) for km in (0, 1, 2)]
    for pharmacy in pharmacies:
        StockFactory(pharmacy=pharmacy, drug=drug, on_hand=50)
    rx = ApprovedPrescriptionFactory(patient=PatientFactory(), items=[(drug, 14)])
    order = orders.order_place(by=rx.patient.account, prescription=rx, kind="pickup", pharmacy=pharmacies[0],
                               lat=HOME[0], lng=HOME[1])
    pause_file, reached = tmp_path / "pause", tmp_path / "pause.reached"
    pause_file.touch()
    celery_app.control.purge()
    celery_app.conf.task_always_eager = False
    first = start_worker("first", pause_file, tmp_path / "first.log")
    second = None
    try:
        # The rejection writes the reassignment to the outbox and kicks the relay on commit;
        # the first worker takes the kick and stops inside the transaction, after reserving at
        # the next pharmacy.
        orders.order_reject(order=order, pharmacy=pharmacies[0], by=pos(pharmacies[0]), reason="冰箱故障 fridge broken")
        wait_for(reached.exists, what="the first worker to reach the pause point")
        assert Stock.objects.get(pharmacy=pharmacies[1]).reserved == 0  # not committed
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        pause_file.unlink()
        second = start_worker("second", pause_file, tmp_path / "second.log")
        wait_for(lambda: Order.objects.get(pk=order.pk).attempt == 2, what="the second worker to reassign")
        # The same message delivered once more (a duplicate) finds the work done.
        from pharmacy.tasks import order_reassign_task

        order_reassign_task.delay(order.pk, 1)
        log = tmp_path / "second.log"
        wait_for(lambda: log.read_text().count("'skipped'") >= 1, what="the duplicate to be skipped")
    finally:
        celery_app.conf.task_always_eager = True
        stop(first)
        if second is not None:
            stop(second)

    order.refresh_from_db()
    assert (order.status, order.pharmacy_id, order.attempt, order.reassignments) == ("placed", pharmacies[1].pk, 2, 1)
    assert list(OrderAssignment.objects.filter(order=order).values_list("pharmacy_id", "outcome")) == [
        (pharmacies[0].pk, "rejected"), (pharmacies[1].pk, "active")]
    assert [Stock.objects.get(pharmacy=p).reserved for p in pharmacies] == [0, 14, 0]
    assert Notification.objects.filter(kind="order_reassigned", data__order=order.pk).count() == 1
    # The message the killed worker held (the relay's kick) is the one the new worker
    # completed, and the outbox row it carried was done once.
    (task_id,) = re.findall(r"outbox_relay\[([0-9a-f-]+)\] received", (tmp_path / "first.log").read_text())
    log = (tmp_path / "second.log").read_text()
    assert re.search(rf"outbox_relay\[{task_id}\] succeeded .*'done': 1", log), log
    assert not OutboxMessage.objects.exclude(status="done").filter(task="pharmacy.tasks.order_reassign_task").exists()
