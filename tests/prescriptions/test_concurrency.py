"""Real threads, separate connections, PostgreSQL: racing verbs on one prescription, one wins.

Every verb locks the prescription row first (select_for_update), so the second request sees
the first one's result; the transition table leaves it no way forward, and it gets a 409.
"""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from prescriptions import lifecycle
from prescriptions.models import Prescription, PrescriptionStatus
from tests.api_errors import error_detail
from tests.second_factor import code_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises every writer, so it cannot express this race; run with DATABASE_URL=postgres://...",
    ),
]
S = PrescriptionStatus
ROUNDS = 5


def race(*workers) -> list:
    """Run each zero-argument callable in its own thread, released together; return the outcomes."""
    barrier = threading.Barrier(len(workers))
    outcomes: list = [None] * len(workers)

    def run(i):
        try:
            barrier.wait()
            outcomes[i] = workers[i]()
        except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_concurrent_sign_and_void_of_a_draft_exactly_one_wins(room, write):
    doctor = room.doctor_user
    for _ in range(ROUNDS):
        prescription = write()
        url = f"/api/prescriptions/{prescription.pk}/"
        code = code_for(doctor)  # signing is in person: the code from his authenticator
        sign, void = race(
            lambda: client(doctor).post(url + "sign/", {"otp": code}, format="json"),
            lambda: client(doctor).post(url + "void/", {"reason": "改方案"}, format="json"),
        )
        assert sorted([sign.status_code, void.status_code]) == [200, 409], (sign.content, void.content)
        loser = sign if sign.status_code == 409 else void
        final = Prescription.objects.get(pk=prescription.pk)
        assert final.status in error_detail(loser)
        assert final.status == (S.SIGNED if sign.status_code == 200 else S.VOIDED)
        # The loser left no trace: a voided draft was never signed, a signed one never voided.
        assert bool(final.signature) == (final.status == S.SIGNED)
        assert bool(final.voided_reason) == (final.status == S.VOIDED)


def test_concurrent_void_and_dispense_of_an_approved_prescription_exactly_one_wins(room, write, review_pharmacist):
    from tests.factories import PharmacyStaffFactory

    dispenser = PharmacyStaffFactory().user
    for _ in range(ROUNDS):
        prescription = lifecycle.prescription_approve(by=review_pharmacist, prescription=write(sign=True))
        void, dispense = race(
            lambda: lifecycle.prescription_void(by=room.doctor_user, prescription=prescription, reason="停药"),
            lambda: lifecycle.prescription_dispense(prescription=prescription, by=dispenser),
        )
        winners = [o for o in (void, dispense) if isinstance(o, Prescription)]
        losers = [o for o in (void, dispense) if not isinstance(o, Prescription)]
        assert len(winners) == 1 and len(losers) == 1
        assert getattr(losers[0], "kind", None) == "conflict" and losers[0].code == "invalid_transition"
        assert Prescription.objects.get(pk=prescription.pk).status == winners[0].status


def test_two_pharmacists_reviewing_at_once_one_decides(room, write, review_pharmacist):
    from tests.factories import UserFactory

    colleague = UserFactory(role="pharmacist")
    prescription = write(sign=True)
    url = f"/api/prescriptions/{prescription.pk}/"
    approve, reject = race(
        lambda: client(review_pharmacist).post(url + "approve/", {}, format="json"),
        lambda: client(colleague).post(url + "reject/", {"reason": "剂量过大"}, format="json"),
    )
    # The loser gets 409 when its lock wait ends after the winner's change, or 404 when it
    # looked the prescription up after the winner committed: a review pharmacist sees the
    # queue and what *they* reviewed, and this one is now neither.
    codes = sorted([approve.status_code, reject.status_code])
    assert codes in ([200, 404], [200, 409]), (approve.content, reject.content)
    final = Prescription.objects.get(pk=prescription.pk)
    assert final.reviewed_by_id == (review_pharmacist.pk if approve.status_code == 200 else colleague.pk)
