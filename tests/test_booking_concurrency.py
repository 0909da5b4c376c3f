"""Never overbook: real threads, each with its own database connection, racing on PostgreSQL.

SQLite serialises every writer (IMMEDIATE transactions), so the race cannot happen there;
these tests are skipped on it with that reason.
"""

import threading
import time

import pytest
from django.db import OperationalError, connection, connections
from rest_framework.test import APIClient

from consult.models import ACTIVE_BOOKING_STATUSES, Booking, Slot
from tests.factories import BookingFactory, PatientFactory, SlotFactory
from tests.api_errors import error_code, error_detail

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises every writer, so it cannot express this race; run with DATABASE_URL=postgres://...",
    ),
]


def free_connection_slots() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


def race(requests: list, timeout: float = 120) -> list:
    """Run each zero-argument callable in its own thread, all released at once by a barrier;
    return each one's outcome (a response or the exception).

    Every thread is a separate request with its own connection. A shared PostgreSQL allows
    about 100 connections in all, so, as an application server's connection pool would, a
    semaphore keeps the number holding a connection at once below what the server has free
    (all of them when the server is idle).
    """
    barrier = threading.Barrier(len(requests))
    in_database = threading.BoundedSemaphore(max(2, min(len(requests), free_connection_slots() - 8)))
    outcomes: list = [None] * len(requests)

    def run(i):
        barrier.wait()
        with in_database:
            for _attempt in range(100):
                try:
                    outcomes[i] = requests[i]()
                    return
                except OperationalError as error:
                    # Another process took the last connection slot before this request
                    # did anything: wait for one and try again.
                    if "too many clients" not in str(error):
                        outcomes[i] = error
                        return
                    time.sleep(0.05)
                except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
                    outcomes[i] = error
                    return
                finally:
                    connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes


def booking_request(patient, slot, reason="复诊开药", **headers):
    def send():
        client = APIClient()
        client.force_authenticate(patient.account)
        return client.post("/api/bookings/", {"patient": patient.pk, "slot": slot.pk, "reason": reason}, format="json", **headers)

    return send


def test_a_hundred_concurrent_bookings_fill_a_five_place_slot_exactly():
    slot = SlotFactory(capacity=5)
    patients = [PatientFactory() for _ in range(100)]

    outcomes = race([booking_request(patient, slot) for patient in patients])

    failures = [o for o in outcomes if isinstance(o, Exception) or o.status_code >= 500]
    assert not failures, failures[:3]
    won = [o for o in outcomes if o.status_code == 201]
    lost = [o for o in outcomes if o.status_code != 201]
    assert len(won) == 5
    assert sorted(o.json()["queue_number"] for o in won) == [1, 2, 3, 4, 5]
    assert len(lost) == 95
    assert {(o.status_code, error_code(o)) for o in lost} == {(409, "slot_full")}
    assert all("full" in error_detail(o) for o in lost)
    slot.refresh_from_db()
    assert slot.booked == 5 == Booking.objects.filter(slot=slot).count()


def test_concurrent_retries_with_one_idempotency_key_book_once():
    slot = SlotFactory(capacity=5)
    patient = PatientFactory()

    outcomes = race([booking_request(patient, slot, HTTP_IDEMPOTENCY_KEY="tap-tap-tap") for _ in range(20)])

    assert {o.status_code for o in outcomes} == {201}
    assert len({o.json()["id"] for o in outcomes}) == 1
    assert Booking.objects.count() == 1
    slot.refresh_from_db()
    assert slot.booked == 1


def test_one_patient_racing_for_two_slots_of_a_clinic_the_same_day_gets_one():
    first = SlotFactory(capacity=5)
    second = SlotFactory(doctor=first.doctor, clinic=first.clinic)
    patient = PatientFactory()

    outcomes = race([booking_request(patient, slot) for slot in (first, second) * 5])

    assert sorted(o.status_code for o in outcomes) == [201] + [409] * 9
    assert {error_code(o) for o in outcomes if o.status_code == 409} == {"duplicate_booking"}
    assert Booking.objects.count() == 1


def test_cancellations_racing_new_bookings_keep_the_count_true():
    slot = SlotFactory(capacity=5)
    holders = [BookingFactory(slot=slot) for _ in range(5)]
    newcomers = [PatientFactory() for _ in range(15)]

    def cancel(booking):
        def send():
            client = APIClient()
            client.force_authenticate(booking.booked_by)
            return client.post(f"/api/bookings/{booking.pk}/cancel/", {}, format="json")

        return send

    outcomes = race([cancel(b) for b in holders] + [booking_request(p, slot) for p in newcomers])

    assert all(o.status_code == 200 for o in outcomes[:5])
    assert {o.status_code for o in outcomes[5:]} <= {201, 409}
    slot.refresh_from_db()
    active = Booking.objects.filter(slot=slot, status__in=ACTIVE_BOOKING_STATUSES)
    assert slot.booked == active.count() <= 5
    numbers = list(active.values_list("queue_number", flat=True))
    assert len(numbers) == len(set(numbers))
    assert not Slot.objects.filter(booked__gt=5).exists()
